"""Test setup shared by every module: Prefect and Hugging Face kept offline and in a temporary home, one Prefect
test server for the whole session (starting one costs ~10 s), and the database a DB-facing test runs on (SQLite, or
the PostgreSQL server named by `AIGMS_TEST_DATABASE_URL`)."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import fresh_database_url

_PREFECT_HOME = tempfile.mkdtemp(prefix="aigms-prefect-")
for key, value in {
    "PREFECT_HOME": _PREFECT_HOME,
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "HF_HUB_OFFLINE": "1",
}.items():
    os.environ.setdefault(key, value)


@pytest.fixture(scope="session")
def prefect() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return fresh_database_url(tmp_path)
