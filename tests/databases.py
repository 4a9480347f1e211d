"""Which database a DB-facing test runs on: a SQLite file in the test's folder, or, when `AIGMS_TEST_DATABASE_URL`
names a PostgreSQL server (`make test` starts one with `.ci/with-postgres`), a fresh database of its own there."""

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

SERVER_VARIABLE = "AIGMS_TEST_DATABASE_URL"


def server_url() -> str | None:
    return os.environ.get(SERVER_VARIABLE) or None


def fresh_database_url(folder: Path) -> str:
    """An empty database no other test touches: tests stay independent on a shared server as they are on files."""
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
