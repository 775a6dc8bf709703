"""Salaries and claims carry the time their figure refers to.

Revision ID: 0007
Revises: 0006

`as_of_year`, `as_of_month` and `as_of_source` (text, published or fetched) on `salaries` and `claims`, set by
the as_of reader (pipeline.asof). NULL on rows extracted before; the next run extracts them again, since the
record schemas changed. Frozen: literal columns only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TABLES = ("salaries", "claims")
_COLUMNS = (("as_of_year", sa.Integer), ("as_of_month", sa.Integer), ("as_of_source", sa.String))


def upgrade() -> None:
    """Add the columns a table lacks (like 0001, it brings a database to its schema by adding what is missing)."""
    for table in _TABLES:
        present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}
        for name, type_ in _COLUMNS:
            if name not in present:
                op.add_column(table, sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        for name, _ in reversed(_COLUMNS):
            op.drop_column(table, name)
