"""Test setup shared by every module: Prefect and Hugging Face kept offline and in a temporary home, and one
Prefect test server for the whole session (starting one costs ~10 s)."""

import os
import tempfile
from collections.abc import Iterator

import pytest

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
