"""Engine and sessions. SQLite in the embedded default, PostgreSQL at scale."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def database_url(url: str) -> str:
    """Name the psycopg 3 driver in a bare PostgreSQL URL, as hosting providers hand them out.

    >>> database_url("postgres://u:p@db:5432/cortexscore")
    'postgresql+psycopg://u:p@db:5432/cortexscore'
    >>> database_url("sqlite:///var/cortexscore.db")
    'sqlite:///var/cortexscore.db'
    """
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url.removeprefix(bare)
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://user:password@host:port/database``."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            cursor = connection.cursor()
            # WAL lets pollers read while a claim writes; foreign keys are off by default in SQLite.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # 64 concurrent pollers share one process's pool; pre-ping and recycling survive server restarts and
    # idle-connection reapers (pgbouncer, cloud proxies). Each statement is capped so a lock can never hang a request.
    return create_engine(url, pool_pre_ping=True, pool_size=16, max_overflow=48, pool_recycle=1800, pool_timeout=10,
                         connect_args={"connect_timeout": 5, "options": "-c statement_timeout=30000"})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


MIGRATIONS = "submission_api:migrations"
# Any fixed number: PostgreSQL serialises API replicas that start at once on this advisory lock.
MIGRATION_LOCK = 0x636F7274


def alembic_config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (alembic ``upgrade head``), on SQLite or PostgreSQL.

    A database created before migrations existed (tables but no
    ``alembic_version``) is first stamped with the baseline revision, whose
    schema it has.
    """
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "submissions" in tables and "alembic_version" not in tables:
            baseline = ScriptDirectory.from_config(config).get_base()
            command.stamp(config, baseline)
        command.upgrade(config, "head")
