"""A salary read from a table cell keeps the header span that gives the cell its meaning.

Revision ID: 0004
Revises: 0001

`salaries.header_quote`, `header_start` and `header_end`: the header (and caption) of the table a figure was
read from, verbatim with its offsets in the article text, so its amount can be derived again from its quote
(the row) and this span. NULL for figures written with their own currency. Frozen: literal columns only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (("header_quote", sa.Text), ("header_start", sa.Integer), ("header_end", sa.Integer))


def upgrade() -> None:
    """Add the columns a database lacks (like 0001, it brings a database to its schema by adding what is missing)."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("salaries")}
    for name, type_ in _COLUMNS:
        if name not in present:
            op.add_column("salaries", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("salaries", name)
