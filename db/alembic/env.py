"""Alembic's environment for career-kb: run the revisions on the connection `db.migrations` hands over.

There is no alembic.ini: `db.migrations.alembic_config` builds the configuration in code and puts the connection,
already inside a transaction that holds the writer lock, in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata, which autogenerate compares against)
from db.migrations import include_name

if context.is_offline_mode():
    raise RuntimeError("career-kb migrations run online only: use db.migrations.migrate(engine)")

context.configure(
    connection=context.config.attributes["connection"], target_metadata=SQLModel.metadata, include_name=include_name
)
with context.begin_transaction():  # joins the caller's transaction: it commits the schema and alembic_version together
    context.run_migrations()
