"""Opening the project database: SQLite in WAL mode by default, any SQLAlchemy URL (PostgreSQL at studio scale)
through `AIGMS_DATABASE_URL`; the schema is brought to the newest Alembic revision on open."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def default_database_url(home: Path) -> str:
    return f"sqlite:///{Path(home).resolve() / 'aigms.db'}"


def database_url(home: Path) -> str:
    return os.environ.get("AIGMS_DATABASE_URL") or default_database_url(home)


def alembic_config(url: str) -> Config:
    """Built in code so an installed package migrates without an alembic.ini on disk."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("aigms.db.migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets the dashboard read while a render writes; the busy timeout lets two writers take turns."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@cache
def open_database(url: str) -> Engine:
    """One engine per URL per process, upgraded to the newest schema the first time it is opened."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine, url)
    return engine


def upgrade(engine: Engine, url: str) -> None:
    config = alembic_config(url)
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One logical change, one transaction: everything in the block lands together or not at all."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
