"""Test setup shared by every module: Prefect and Hugging Face kept offline and in a temporary home, one Prefect
test server per test process (starting one costs ~10 s; under pytest-xdist each worker has its own), the database a
DB-facing test runs on (SQLite, or the PostgreSQL server named by `AIGMS_TEST_DATABASE_URL`), and the session's one
rendered episode (`tests/episode.py`)."""

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from databases import fresh_database_url

if TYPE_CHECKING:
    from episode import Studio


def _prefect_home() -> str:
    """A home for Prefect's settings and results, made by the first process of a run (pytest-xdist's workers
    inherit it) and removed when that process exits."""
    if "PREFECT_HOME" in os.environ:
        return os.environ["PREFECT_HOME"]
    home = tempfile.mkdtemp(prefix="aigms-prefect-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return home


for key, value in {
    "PREFECT_HOME": _prefect_home(),
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "HF_HUB_OFFLINE": "1",
}.items():
    os.environ.setdefault(key, value)
# pytest-xdist hands its workers the terminal's width as COLUMNS; the CLI's consoles, made when it is imported, would
# keep it for good. A test gives each command the width it wants.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)


@pytest.fixture(scope="session")
def prefect() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return fresh_database_url(tmp_path)


@pytest.fixture(scope="session")
def pristine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> "Studio":
    """The session's one rendered episode, never changed: tests read copies of it (`studio`, `studio_copy`)."""
    from episode import pristine_studio

    return pristine_studio(request, tmp_path_factory)


@pytest.fixture(scope="session")
def studio(pristine: "Studio", tmp_path_factory: pytest.TempPathFactory) -> "Studio":
    """This worker's copy of the rendered episode, shared by the tests that read it (pipeline, delivery, dashboard,
    QC); a test that changes more than its own reviews takes a copy of its own (`studio_copy`)."""
    return pristine.copy(tmp_path_factory.mktemp("studio"))


@pytest.fixture
def studio_copy(pristine: "Studio", tmp_path: Path) -> "Studio":
    return pristine.copy(tmp_path / "studio")


# The files that take longest start first: under pytest-xdist (a file to a worker at a time) neither worker is then
# left running one of them alone at the end. pytest-xdist would put the files with most tests first instead, so
# `--no-loadscope-reorder` (pyproject's addopts) keeps this order.
SLOW_FIRST = ("test_wheel.py", "test_orchestration.py", "test_remote_kling.py", "test_handoff.py", "test_security.py",
              "test_dashboard_browser.py", "test_qc.py", "test_generate.py", "test_work_pools.py",
              "test_remote_comfyui.py", "test_dashboard_app.py", "test_costs.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: SLOW_FIRST.index(item.path.name) if item.path.name in SLOW_FIRST else len(SLOW_FIRST))
