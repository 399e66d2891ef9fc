"""A migrated database per test module; each test runs in a transaction that is rolled back."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from submission_api.core.db import make_engine, migrate
from tests.conftest_pg import postgres_database, postgres_server  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def engine(request, tmp_path_factory):
    """SQLite by default; ``@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)`` adds Postgres."""
    if getattr(request, "param", "sqlite") == "postgresql":
        engine = make_engine(request.getfixturevalue("postgres_database"))
        migrate(engine)
        yield engine
        engine.dispose()
        return
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = make_engine(url)

    # pysqlite opens transactions lazily; begin explicitly so SAVEPOINTs nest inside the test's transaction.
    @event.listens_for(engine, "connect")
    def _no_implicit_begin(connection, _record):
        connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """Service code may commit freely: its commits release SAVEPOINTs, and the outer transaction rolls back."""
    with engine.connect() as connection:
        outer = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
            yield session
        outer.rollback()
