"""Alembic environment: the submission API's tables, on SQLite or PostgreSQL.

Run at start-up by ``submission_api.core.db.migrate`` (which passes its open
connection), or from the command line:
``alembic -c services/submission_api/alembic.ini upgrade head`` with
``API_DATABASE_URL`` set.
"""
from __future__ import annotations

from alembic import context

import submission_api.core.models  # noqa: F401  (registers every table on Base.metadata)
from submission_api.core.config import ApiSettings
from submission_api.core.db import Base, make_engine


def run_migrations(connection) -> None:
    # SQLite alters tables by copying them ("batch" mode); PostgreSQL alters in place.
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or ApiSettings().database)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()
