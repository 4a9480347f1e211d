"""Real data for dashboard tests: the example series at 320×180 on the database `fresh_database_url` gives, one
episode rendered through the real Prefect flow, the other only ingested, four people with four roles, and the app
served by uvicorn on a free port."""

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from databases import fresh_database_url
from starlette.testclient import TestClient

from aigms.dashboard.app import Settings, create_app, new_secret
from aigms.db.session import open_database, session_scope
from aigms.flows.episode import EpisodeResult, render_episode
from aigms.production.review import people
from aigms.production.bible import load_series
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, read_episode

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"
PASSWORDS = {"mei": "director-pass", "kai": "viewer-pass", "ada": "admin-pass", "lee": "artist-pass"}
ROLES = {"mei": "director", "kai": "viewer", "ada": "admin", "lee": "artist"}


@dataclass(frozen=True)
class Studio:
    series: Path
    home: Path
    store: Path
    database_url: str
    result: EpisodeResult

    def settings(self, prefect_ui_url: str | None = None) -> Settings:
        """Film jobs started from this dashboard deliver where the studio's render did."""
        return Settings(self.database_url, self.store, new_secret(), prefect_ui_url, out=self.home.parent / "out")

    def render(self) -> EpisodeResult:
        """s01e02 through the flow again; the flow finds the studio's database where `aigms render` does."""
        return render_s01e02(self.series, self.home, self.database_url)


def small_series(destination: Path) -> Path:
    shutil.copytree(EXAMPLE, destination)
    bible = destination / "series.yaml"
    bible.write_text(bible.read_text().replace("width: 1920", "width: 320").replace("height: 1080", "height: 180"))
    return destination


def render_s01e02(series: Path, home: Path, database_url: str) -> EpisodeResult:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        return render_episode(str(series), "s01e02", str(home.parent / "out"), str(home), force=True)


def render_studio(root: Path) -> Studio:
    """s01e02 rendered by the flow; s01e01 ingested but not filmed; a director, a viewer, an admin and an artist."""
    series_dir, home = small_series(root / "series"), root / "home"
    database_url = fresh_database_url(home)
    result = render_s01e02(series_dir, home, database_url)
    series = load_series(series_dir)
    engine = open_database(database_url)
    with session_scope(engine) as session:
        report = IngestReport()
        ingest_series(session, series, report)
        ingest_episode(session, series, read_episode(series, "s01e01"), report)
        for name, password in PASSWORDS.items():
            people.add_user(session, name, ROLES[name], password)
    return Studio(series_dir, home, home / "store", database_url, result)


def sign_in(client: TestClient, name: str) -> str:
    """Signs in through the login form as a browser would; returns the page's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    done = client.post("/login", data={"csrftoken": token, "name": name, "password": PASSWORDS[name], "next": "/"},
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    return token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The dashboard under uvicorn in a thread, as `aigms dashboard` serves it; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
