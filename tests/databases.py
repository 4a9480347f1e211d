"""Which database a DB-facing test runs on: a SQLite file in the test's folder, or, when `AIGMS_TEST_DATABASE_URL`
names a PostgreSQL server (`make test` starts one with `.ci/with-postgres`), a fresh database of its own there.
A test's database starts as a copy of one migrated per test process: running the migrations costs ~0.1 s on SQLite
and ~0.2 s on PostgreSQL, and a run makes ~150 of them. `test_db` migrates empty databases itself."""

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from contextlib import closing
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from aigms.db.session import upgrade

SERVER_VARIABLE = "AIGMS_TEST_DATABASE_URL"


def server_url() -> str | None:
    return os.environ.get(SERVER_VARIABLE) or None


def fresh_database_url(folder: Path) -> str:
    """A database no other test touches, at the newest schema and with no rows, as `open_database` leaves a new
    one: tests stay independent on a shared server as they are on files."""
    return copy_database(_migrated(), folder)


@cache
def _migrated() -> str:
    """This process's migrated database, with no connection left open to it (PostgreSQL copies a template only
    then)."""
    folder = Path(tempfile.mkdtemp(prefix="aigms-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = empty_database_url(folder)
    engine = create_engine(url)
    try:
        upgrade(engine, url)
    finally:
        engine.dispose()
    return url


def empty_database_url(folder: Path) -> str:
    """A database with no tables at all, for the tests of migrating one."""
    server = server_url()
    if server is None:
        return f"sqlite:///{Path(folder).resolve() / 'aigms.db'}"
    url = make_url(server)
    name = f"aigms_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def copy_database(url: str, folder: Path) -> str:
    """A copy of the database at `url`, rows and all: SQLite through its backup API into `folder`, PostgreSQL as a
    new database made from it as a template (no one may be connected to it meanwhile)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(folder).resolve() / "aigms.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(parsed.database)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        return f"sqlite:///{target}"
    name = f"aigms_{uuid.uuid4().hex[:16]}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)
