"""A throwaway PostgreSQL for tests: the server in ``TEST_POSTGRES_URL``, or one started for the session.

Import the fixtures into a conftest.py to use them. Without PostgreSQL
installed the tests that need it skip, except under CI (``CI=true``), where
they fail: CI installs it (see .ci/run).
"""
from __future__ import annotations

import os
import secrets

import pytest

from scripts.processes import ThrowawayPostgres, create_database, drop_database, postgres_bin_dir


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A SQLAlchemy URL of a PostgreSQL server where tests may create and drop databases."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    if postgres_bin_dir() is None:
        message = "PostgreSQL is not installed (apt-get install postgresql) and TEST_POSTGRES_URL is not set"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with ThrowawayPostgres() as server:
        yield server.url


@pytest.fixture(scope="module")
def postgres_database(postgres_server) -> str:
    """A fresh, empty database for one test module, dropped afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    url = create_database(postgres_server, name)
    yield url
    drop_database(postgres_server, name)
