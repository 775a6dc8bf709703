"""A salary read from a table column keeps the statistic its header names (median, p90, range...).

Revision ID: 0008
Revises: 0007

`salaries.statistic`: which figure of a distribution the column states, from its header words (or the table's
caption); NULL for figures outside tables and for columns that name none. Frozen: a literal column only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column unless the database has it (like 0004, bring a database to its schema by adding what lacks)."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("salaries")}
    if "statistic" not in present:
        op.add_column("salaries", sa.Column("statistic", sa.String, nullable=True))


def downgrade() -> None:
    op.drop_column("salaries", "statistic")
