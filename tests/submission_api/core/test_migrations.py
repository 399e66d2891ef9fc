"""Alembic migrations build exactly the schema models.py declares, on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from submission_api.core.db import Base, make_engine, migrate
from tests.conftest_pg import postgres_database, postgres_server  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    url = (request.getfixturevalue("postgres_database") if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'migrations.db'}")
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    yield engine
    engine.dispose()


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_match_the_models(empty_engine):
    """Fails when models.py changed without a migration: run `alembic revision --autogenerate` (alembic.ini)."""
    migrate(empty_engine)
    assert schema_differences(empty_engine) == []


def test_migrating_twice_changes_nothing(empty_engine):
    migrate(empty_engine)
    migrate(empty_engine)
    assert schema_differences(empty_engine) == []


def test_a_database_created_before_migrations_is_adopted(empty_engine):
    Base.metadata.create_all(empty_engine)
    migrate(empty_engine)
    assert "alembic_version" in inspect(empty_engine).get_table_names()
    assert schema_differences(empty_engine) == []
