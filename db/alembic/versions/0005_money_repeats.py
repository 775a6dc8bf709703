"""Repeats: a money amount may be accounted as a `repeat` of a salary stated elsewhere in the same document.

Revision ID: 0005
Revises: 0001

Only the check constraint on `money_amounts.use` changes. SQLite cannot alter a constraint, so the table is
rebuilt from the literal definition below (frozen: nothing imported from db.models); PostgreSQL alters it in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CONSTRAINT = "ck_money_amounts_use"
INDEX = "ix_money_amounts_extraction_id"
OLD_USES = ("salary", "certification_cost", "not_pay", "unaccounted")
NEW_USES = (*OLD_USES, "repeat")


def _check(uses: tuple[str, ...]) -> str:
    return '"use" IN (' + ", ".join(f"'{use}'" for use in uses) + ")"


def _money_table(uses: tuple[str, ...]) -> sa.Table:
    """money_amounts as revision 0001 made it, with the given allowed uses."""
    return sa.Table(
        "money_amounts",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("extraction_id", sa.Integer, sa.ForeignKey("extractions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("char_start", sa.Integer, nullable=False),
        sa.Column("char_end", sa.Integer, nullable=False),
        sa.Column("quote", sa.String, nullable=False),
        sa.Column("currency", sa.String),
        sa.Column("amount_min", sa.Float),
        sa.Column("amount_max", sa.Float),
        sa.Column("period", sa.String),
        sa.Column("kind", sa.String),
        sa.Column("use", sa.String, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("salary_id", sa.Integer, sa.ForeignKey("salaries.id")),
        sa.Column("certification_id", sa.Integer, sa.ForeignKey("certification_mentions.id")),
        sa.CheckConstraint(_check(uses), name=CONSTRAINT),
    )


def _allow(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Replace the allowed uses; give the table back its index when SQLite rebuilt it without one."""
    op.execute("DROP VIEW IF EXISTS v_money")  # SQLite cannot rename a table a view reads; init_db recreates views
    with op.batch_alter_table("money_amounts", copy_from=_money_table(old)) as batch:
        batch.drop_constraint(CONSTRAINT, type_="check")
        batch.create_check_constraint(CONSTRAINT, _check(new))
    if INDEX not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("money_amounts")}:
        op.create_index(INDEX, "money_amounts", ["extraction_id"])


def upgrade() -> None:
    _allow(OLD_USES, NEW_USES)


def downgrade() -> None:
    op.execute("UPDATE money_amounts SET \"use\" = 'unaccounted' WHERE \"use\" = 'repeat'")
    _allow(NEW_USES, OLD_USES)
