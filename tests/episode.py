"""One rendered episode for the whole test session: the example series at 320×180, s01e02 rendered through the real
Prefect flow (with a studio recording of line 090-1 that says another sentence, for the delivery's checks), s01e01
only recorded, and four people with four roles. It is rendered once per test run, on the database the run tests
(SQLite, or PostgreSQL under `make test`): under pytest-xdist the first worker to need it renders it while the
other waits (a file lock), and each worker, or each test that changes it, works on a copy (`Studio.copy`: the
series, the database, the asset store and the delivery folder), so the pristine render is never touched."""

import dataclasses
import json
import os
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
from databases import copy_database, fresh_database_url
from filelock import FileLock
from starlette.testclient import TestClient

from aigms.dashboard.app import Settings, create_app, new_secret
from aigms.db.session import open_database, session_scope
from aigms.flows.episode import EpisodeResult, render_episode
from aigms.production.bible import load_series
from aigms.production.post.voice import synthesize
from aigms.production.review import people
from aigms.production.storyboard.ingest import read_episode, record_episode
from aigms.schemas.series import Voice

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"
PASSWORDS = {"mei": "director-pass", "kai": "viewer-pass", "ada": "admin-pass", "lee": "artist-pass"}
ROLES = {"mei": "director", "kai": "viewer", "ada": "admin", "lee": "artist"}
WRONG_LINE, WRONG_SHOT = "090-1", "090"  # recorded in the studio saying another sentence


def small_copy(destination: Path) -> Path:
    """The example series at a small delivery size, so pipeline behaviour is tested in seconds."""
    shutil.copytree(EXAMPLE, destination)
    bible = destination / "series.yaml"
    bible.write_text(bible.read_text().replace("width: 1920", "width: 320").replace("height: 1080", "height: 180"))
    return destination


def one_scene_copy(destination: Path) -> Path:
    """`small_copy` with s01e02 cut to its first scene (six shots, three of them lines): for tests of processes and
    orchestration, where a few shots prove what eleven do."""
    small_copy(destination)
    script = destination / "episodes" / "s01e02.fountain"
    text = script.read_text()
    script.write_text(text[:text.index("CUT TO:")])
    return destination


def planned_shots(series: Path, episode: str = "s01e02") -> list:
    """The shots the planner makes of an episode of the series in this folder."""
    return read_episode(load_series(series), episode).plan.shotlist.shots


@dataclass(frozen=True)
class Studio:
    series: Path
    home: Path
    out: Path
    database_url: str
    result: EpisodeResult

    @property
    def store(self) -> Path:
        return self.home / "store"

    def settings(self, prefect_ui_url: str | None = None) -> Settings:
        """Film jobs started from this dashboard deliver where the studio's render did."""
        return Settings(self.database_url, self.store, new_secret(), prefect_ui_url, out=self.out)

    def render(self, *, force: bool = True, whisper: str = "none") -> EpisodeResult:
        """s01e02 through the flow again, finding the studio's database where `aigms render` does. Speech
        recognition is off unless asked for: the subtitles' words come from the script either way."""
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AIGMS_DATABASE_URL", self.database_url)
            patch.setenv("AIGMS_WHISPER", whisper)
            return render_episode(str(self.series), "s01e02", str(self.out), str(self.home), force=force)

    def copy(self, destination: Path) -> "Studio":
        """Everything of the studio under `destination`, on a database of its own."""
        destination.mkdir(parents=True, exist_ok=True)
        series, home, out = destination / "series", destination / "home", destination / "out"
        shutil.copytree(self.series, series)
        shutil.copytree(self.home, home, ignore=shutil.ignore_patterns("aigms.db*", "tmp"))
        shutil.copytree(self.out, out)
        moved = {field.name: out / Path(getattr(self.result, field.name)).relative_to(self.out)
                 for field in dataclasses.fields(self.result) if field.name in ("folder", "video", "subtitles",
                                                                                 "manifest")}
        return Studio(series, home, out, copy_database(self.database_url, home), dataclasses.replace(self.result,
                                                                                                       **moved))


def render_studio(root: Path) -> Studio:
    """s01e02 rendered by the flow (with Whisper hearing its lines); s01e01 recorded but not filmed; a director, a
    viewer, an admin and an artist."""
    series_dir, home, out = small_copy(root / "series"), root / "home", root / "out"
    (series_dir / "voices").mkdir()
    synthesize("The weather was lovely at the seaside yesterday.", "en", Voice(),
               series_dir / "voices" / f"{WRONG_LINE}.wav", 22050)
    database_url = fresh_database_url(home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        result = render_episode(str(series_dir), "s01e02", str(out), str(home), force=True)
    series = load_series(series_dir)
    engine = open_database(database_url)
    with session_scope(engine) as session:
        record_episode(session, series, read_episode(series, "s01e01"))
        for name, password in PASSWORDS.items():
            people.add_user(session, name, ROLES[name], password)
    engine.dispose()  # a PostgreSQL database is copied as a template, which nobody may be connected to
    return Studio(series_dir, home, out, database_url, result)


def _saved(studio: Studio) -> dict:
    return {"series": str(studio.series), "home": str(studio.home), "out": str(studio.out),
            "database_url": studio.database_url,
            "result": {**dataclasses.asdict(studio.result),
                       **{name: str(getattr(studio.result, name)) for name in ("folder", "video", "subtitles",
                                                                               "manifest")}}}


def _loaded(saved: dict) -> Studio:
    result = saved["result"]
    return Studio(Path(saved["series"]), Path(saved["home"]), Path(saved["out"]), saved["database_url"],
                  EpisodeResult(**{**result, **{name: Path(result[name]) for name in ("folder", "video", "subtitles",
                                                                                      "manifest")}}))


def pristine_studio(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Studio:
    """The session's render, made by whichever pytest-xdist worker asks first (the others wait for it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        request.getfixturevalue("prefect")
        return render_studio(tmp_path_factory.mktemp("episode"))
    shared = tmp_path_factory.getbasetemp().parent
    made = shared / "episode.json"
    with FileLock(str(shared / "episode.lock")):
        if not made.is_file():
            request.getfixturevalue("prefect")
            made.write_text(json.dumps(_saved(render_studio(shared / "episode"))))
    return _loaded(json.loads(made.read_text()))


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
