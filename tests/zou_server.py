"""A real Kitsu API server (Zou, from PyPI) for the sync tests: zou in a venv of its own (`make zou-venv`: it pins
its own Flask and SQLAlchemy), a PostgreSQL database of its own (on the server `AIGMS_TEST_DATABASE_URL` names,
else a throwaway cluster started here as `.ci/with-postgres` does) and a throwaway Redis, all on loopback ports,
all gone when the session ends. Previews are normalised inside the upload request (no job queue), with ffmpeg's
fastest preset."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from databases import server_url

ROOT = Path(__file__).resolve().parent.parent
VENV_VARIABLE = "AIGMS_ZOU_VENV"  # `make test` sets it: then a missing zou fails the run instead of skipping
ADMIN, PASSWORD = "admin@example.com", "aigms-test-password"
BOOTSTRAP = """
import sys
from zou.cli import cli
for arguments in (["init-db"], ["init-data"], ["create-admin", sys.argv[1], "--password", sys.argv[2]]):
    cli.main(arguments, standalone_mode=False)
"""


@dataclass(frozen=True)
class Zou:
    host: str
    user: str
    password: str


def zou_venv() -> Path:
    """zou's venv, or a skip saying how to make it; under `make test` its absence is an error."""
    required = os.environ.get(VENV_VARIABLE)
    venv = Path(required) if required else ROOT / ".venv-zou"
    if not (venv / "bin" / "gunicorn").is_file():
        message = f"zou is not installed in {venv}: `make zou-venv` installs it"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    if shutil.which("redis-server") is None:
        message = "redis-server is missing: `apt-get install redis-server` (`make system` does)"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return venv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, ready, process: subprocess.Popen | None, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout} s: {log.read_text()[-3000:]}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@contextmanager
def running(command: list[str], log: Path, stop: signal.Signals = signal.SIGTERM,
            **options) -> Iterator[subprocess.Popen]:
    """A child process in a process group of its own, stopped (and its workers with it) on the way out."""
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, **options)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, stop)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def postgres_database() -> Iterator[dict[str, str]]:
    """zou's database: a fresh one on the test server when there is one, else a cluster of its own in a folder
    the `postgres` user can reach (initdb refuses root)."""
    server = server_url()
    if server is not None:
        url = make_url(server)
        name = f"zou_{uuid.uuid4().hex[:12]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        yield {"DB_HOST": url.host, "DB_PORT": str(url.port), "DB_USERNAME": url.username or "postgres",
               "DB_PASSWORD": url.password or "", "DB_DATABASE": name}
        return
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))[-1]
    folder = Path(tempfile.mkdtemp(prefix="aigms-zou-postgres."))
    data, port = folder / "data", free_port()
    as_owner: list[str] = []
    if os.getuid() == 0:
        shutil.chown(folder, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]

    def run(*command: object) -> None:
        done = subprocess.run([*as_owner, *map(str, command)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(map(str, command))}: {done.stderr or done.stdout}")

    try:
        run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
        run(bindir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "-o",
            f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", "start")
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "zoudb")
        yield {"DB_HOST": "127.0.0.1", "DB_PORT": str(port), "DB_USERNAME": "postgres", "DB_PASSWORD": "",
               "DB_DATABASE": "zoudb"}
    finally:
        subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def zou_server(folder: Path) -> Iterator[Zou]:
    venv = zou_venv()
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        database = stack.enter_context(postgres_database())
        redis_port = free_port()
        redis = stack.enter_context(running(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder)], folder / "redis.log"))
        environment = {
            **os.environ, **database, "KV_HOST": "127.0.0.1", "KV_PORT": str(redis_port),
            "SECRET_KEY": uuid.uuid4().hex, "PREVIEW_FOLDER": str(folder / "previews"),
            "TMP_DIR": str(folder / "tmp"), "MAIL_ENABLED": "false", "ENABLE_JOB_QUEUE": "false",
            "MOVIE_ENCODING_PRESET": "ultrafast", "PLUGIN_FOLDER": str(folder / "plugins"),
            "EVENT_HANDLERS_FOLDER": str(folder / "event_handlers"), "MAIL_CHECK_DELIVERABILITY": "false",
        }
        (folder / "tmp").mkdir(exist_ok=True)
        wait_for("redis-server", lambda: _redis_answers(redis_port), redis, folder / "redis.log", 30)
        done = subprocess.run([venv / "bin" / "python", "-c", BOOTSTRAP, ADMIN, PASSWORD], env=environment,
                              cwd=folder, capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"zou init-db, init-data, create-admin: {done.stderr[-3000:]}")
        port = free_port()
        api = stack.enter_context(running(
            [venv / "bin" / "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
             "--timeout", "300", "--no-control-socket", "zou.app:app"],
            folder / "zou.log", signal.SIGINT, env=environment, cwd=folder))  # SIGINT: gunicorn's quick shutdown
        host = f"http://127.0.0.1:{port}"
        wait_for("zou", lambda: answers(host), api, folder / "zou.log")
        yield Zou(host, ADMIN, PASSWORD)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False
