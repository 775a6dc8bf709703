"""record_changes: what each run's re-extraction of a changed page added, removed or changed, record by record.

Revision ID: 0003
Revises: 0001

Frozen once shipped: literal DDL only, nothing imported from db.models or the vocabulary.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("record_changes"):
        return  # a database whose ledger was lost or predates Alembic replays every revision: keep what it has
    op.create_table(
        "record_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("change", sa.String, nullable=False),
        sa.Column("fields", sa.String),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
        sa.Column("quote", sa.Text, nullable=False),
        sa.Column("char_start", sa.Integer, nullable=False),
        sa.Column("char_end", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("\"change\" IN ('added', 'removed', 'changed')", name="ck_record_changes_change"),
    )
    op.create_index("ix_record_changes_run_id", "record_changes", ["run_id"])
    op.create_index("ix_record_changes_source_recorded_at", "record_changes", ["source", "recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_record_changes_source_recorded_at", "record_changes")
    op.drop_index("ix_record_changes_run_id", "record_changes")
    op.drop_table("record_changes")
