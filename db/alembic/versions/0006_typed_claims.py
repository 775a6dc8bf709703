"""Typed claims: a claim keeps what it measures, about whom, its figure, unit, direction, years, region and source.

Revision ID: 0006
Revises: 0005

The columns of `claims` that pipeline.claims reads from a claim's sentence (and the model's metric and subject).
Claims stored before have NULL there until their document is extracted again. Like 0004, only the columns a
database lacks are added. Frozen: literal columns only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("metric", sa.String),
    ("subject", sa.String),
    ("value", sa.Float),
    ("value_max", sa.Float),
    ("unit", sa.String),
    ("direction", sa.String),
    ("start_year", sa.Integer),
    ("end_year", sa.Integer),
    ("region", sa.String),
    ("attribution", sa.String),
)


def upgrade() -> None:
    """Add the columns a database lacks."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("claims")}
    for name, type_ in _COLUMNS:
        if name not in present:
            op.add_column("claims", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_claim_index")  # SQLite cannot drop a column a view reads
    op.execute("DROP VIEW IF EXISTS v_claims")
    with op.batch_alter_table("claims") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
