"""Reviews: a person's accept, reject or correction of a record, kept apart from the extraction rows.

Revision ID: 0002
Revises: 0001

Frozen: a literal table definition, nothing imported from db.models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("reviewer", sa.String, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("quote", sa.Text, nullable=False),
        sa.Column("char_start", sa.Integer, nullable=False),
        sa.Column("char_end", sa.Integer, nullable=False),
        sa.Column("context_before", sa.Text, nullable=False),
        sa.Column("context_after", sa.Text, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("corrected", sa.JSON),
        sa.Column("attached_id", sa.Integer),
        sa.CheckConstraint("\"action\" IN ('accept', 'reject', 'correct', 'add')", name="ck_reviews_action"),
    )
    op.create_index("ix_reviews_source", "reviews", ["source"])


def downgrade() -> None:
    op.drop_index("ix_reviews_source", table_name="reviews")
    op.drop_table("reviews")
