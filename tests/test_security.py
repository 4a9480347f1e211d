"""The dashboard, the store and renders tried as an attacker and a careless studio would: every response under a
strict Content-Security-Policy, stored files served as what the store says they are, sessions that end, sign-ins
throttled and argon2 bounded, CSRF whatever the headers, ids that name nothing are 404; store files trusted only
while their bytes hash to their names, one render per episode, a killed render that leaves nothing behind, and
files made with the process umask."""

import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import yaml
from databases import fresh_database_url
from episode import PASSWORDS, ROLES, serve, sign_in
from PIL import Image
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from aigms.cli import app as aigms_cli
from aigms.dashboard.app import Settings, create_app, new_secret
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.bible import load_series
from aigms.production.review import people
from aigms.production.store import assets
from aigms.production.store.files import atomic_write_text
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, read_episode
from aigms.production.store.media import ffmpeg_exe, probe
from aigms.schemas.manifest import Manifest

# What reads or writes the database runs again on PostgreSQL (`make test`); headers, request limits, password
# hashing, file modes and processes do not depend on which database is behind them.
DATABASE = pytest.mark.database

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("/api/me")</script></svg>'
PNG_NAMED_JPEG = "misnamed.jpg"
HUGE_IDS = ("9223372036854775808", "99999999999999999999999", "-1", "0", "abc", "1e3")


# The dashboard over a series that is ingested (not rendered), with a clip, subtitles and reference files


@dataclass(frozen=True)
class Studio:
    series: Path
    store: Path
    database_url: str
    ids: dict[str, int]
    secret: str

    def settings(self) -> Settings:
        return Settings(self.database_url, self.store, self.secret)

    def client(self, **options: object) -> TestClient:
        """A browser on a dashboard of its own, over the same database and secret as every other."""
        return TestClient(create_app(self.settings()), raise_server_exceptions=False, **options)


def small_copy(destination: Path) -> Path:
    shutil.copytree(EXAMPLE, destination)
    bible = destination / "series.yaml"
    bible.write_text(bible.read_text().replace("width: 1920", "width: 320").replace("height: 1080", "height: 180"))
    return destination


def make_clip(path: Path) -> Path:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=64x36:r=24:d=1", "-pix_fmt",
                    "yuv420p", str(path)], check=True)
    return path


@pytest.fixture
def studio(tmp_path: Path, database_url: str) -> Studio:
    series_dir, store = small_copy(tmp_path / "series"), tmp_path / "store"
    series = load_series(series_dir)
    files = tmp_path / "files"
    files.mkdir()
    (files / "evil.svg").write_bytes(SVG)
    (files / "cut.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nThen it is counting.\n")
    (files / "manifest.json").write_text('{"series": "bronze-echoes"}')
    Image.new("RGB", (8, 8), (200, 40, 40)).save(files / PNG_NAMED_JPEG, format="PNG")
    with session_scope(open_database(database_url)) as session:
        report = IngestReport()
        ingest_series(session, series, report)
        episode = ingest_episode(session, series, read_episode(series, "s01e02"), report)
        for name, password in PASSWORDS.items():
            people.add_user(session, name, ROLES[name], password)
        clip = assets.put_file(session, store, make_clip(files / "take.mp4"), "clip", {"duration": 1.0})
        svg = assets.put_file(session, store, files / "evil.svg", "reference", move=False)
        svg.media = {}  # as the landed code stored it: no type recorded, an .svg suffix
        png = assets.put_file(session, store, files / PNG_NAMED_JPEG, "reference", {"content_type": "image/png"})
        srt = assets.put_file(session, store, files / "cut.srt", "subtitle")
        manifest = assets.put_file(session, store, files / "manifest.json", "manifest")
        shot = episode.shots[0]
        take = models.Take(shot_id=shot.id, recipe_sha256="7" * 64, recipe={"kind": "clip", "shot": {"id": shot.code}},
                           generator="animatic", seed=1, status=models.TAKE_OK, asset_id=clip.id)
        session.add(take)
        session.flush()
        cut = models.EpisodeCut(episode_id=episode.id, video_asset_id=clip.id, subtitles_asset_id=srt.id,
                                manifest_asset_id=manifest.id, duration=1.0)
        session.add(cut)
        session.flush()
        ids = {"episode": episode.id, "shot": shot.id, "take": take.id, "cut": cut.id, "clip": clip.id,
               "svg": svg.id, "png": png.id, "srt": srt.id, "manifest": manifest.id}
    return Studio(series_dir, store, database_url, ids, new_secret())


def reviews(studio: Studio) -> list[models.Review]:
    with session_scope(open_database(studio.database_url)) as session:
        return list(session.scalars(select(models.Review)))


class Markup(HTMLParser):
    """What a page would run or style inline: exactly what the Content-Security-Policy forbids."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named.get("src") or "")
            if not named.get("src"):
                self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "link" and named.get("rel") == "stylesheet":
            self.stylesheets.append(named.get("href") or "")
        for name, value in attrs:
            if name == "style" or name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.inline.append(f"<{tag} {name}={value!r}>")


def markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    return parser


def test_every_response_carries_a_strict_content_security_policy(studio: Studio) -> None:
    client = studio.client()
    responses = [client.get("/login"), client.get("/api/series"), client.get("/static/dashboard.css"),
                 client.post("/login", data={"name": "mei", "password": "x"})]
    sign_in(client, "kai")
    responses += [client.get("/"), client.get(f"/assets/{studio.ids['clip']}"), client.get("/shots/999999"),
                  client.get("/api/episodes/999999")]
    assert [response.status_code for response in responses] == [200, 401, 200, 403, 200, 200, 404, 404]
    for response in responses:
        policy = {part.split()[0]: part.split()[1:] for part in response.headers["content-security-policy"].split("; ")}
        assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"], response.url
        assert (policy["object-src"], policy["frame-ancestors"], policy["base-uri"]) == (["'none'"],) * 3
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"


def test_no_page_holds_inline_script_or_style(studio: Studio) -> None:
    client = studio.client()
    pages = [client.get("/login")]
    sign_in(client, "mei")
    pages += [client.get(path) for path in ("/", f"/episodes/{studio.ids['episode']}", f"/shots/{studio.ids['shot']}",
                                            "/library/bronze-echoes", "/runs", "/shots/999999", "/api/docs")]
    assert [page.status_code for page in pages] == [200, 200, 200, 200, 200, 200, 404, 200]
    for page in pages:
        found = markup(page.text)
        assert found.inline == [], page.url
        for source in found.scripts + found.stylesheets:
            assert source.startswith("/static/"), (page.url, source)
            assert client.get(source).status_code == 200


@DATABASE
def test_an_svg_reference_is_a_download_that_can_run_nothing(studio: Studio) -> None:
    client = studio.client()
    sign_in(client, "kai")
    served = client.get(f"/assets/{studio.ids['svg']}")
    assert served.status_code == 200 and served.content == SVG
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in served.headers["content-security-policy"].split("; ")
    assert served.headers["x-content-type-options"] == "nosniff"


@DATABASE
def test_assets_are_served_as_the_store_recorded_them(studio: Studio) -> None:
    """The PNG named .jpg goes out as the PNG its row says it is; nothing is guessed from a name or the bytes."""
    client = studio.client()
    sign_in(client, "kai")
    expected = {"png": ("image/png", None), "clip": ("video/mp4", None), "srt": ("application/x-subrip", "attachment"),
                "manifest": ("application/json", "attachment")}
    for name, (kind, disposition) in expected.items():
        served = client.get(f"/assets/{studio.ids[name]}")
        assert served.headers["content-type"].split(";")[0] == kind, name
        assert served.headers.get("content-disposition", "").split(";")[0] == (disposition or ""), name
    with session_scope(open_database(studio.database_url)) as session:
        clip = session.get(models.Asset, studio.ids["clip"])
        assert clip.media["content_type"] == "video/mp4" and clip.media["duration"] == 1.0


def test_api_docs_are_for_people_signed_in_and_load_nothing_from_elsewhere(studio: Studio) -> None:
    client = studio.client()
    assert client.get("/api/docs", follow_redirects=False).headers["location"] == "/login?next=/api/docs"
    assert client.get("/api/openapi.json").status_code == 401
    sign_in(client, "kai")
    docs = client.get("/api/docs")
    assert "http" not in " ".join(markup(docs.text).scripts + markup(docs.text).stylesheets)
    bundle = client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
    assert "/api/takes/{take_id}/review" in client.get("/api/openapi.json").json()["paths"]


@DATABASE
def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(studio: Studio) -> None:
    browser = studio.client()
    sign_in(browser, "mei")
    stolen = studio.client(cookies={"aigms_session": browser.cookies["aigms_session"]})
    assert stolen.get("/api/me").json()["name"] == "mei"
    browser.post("/logout", data={"csrftoken": browser.cookies["csrftoken"]})
    assert stolen.get("/api/me").status_code == 401
    with session_scope(open_database(studio.database_url)) as session:
        assert session.scalars(select(models.UserSession)).all() == []


@DATABASE
def test_a_new_password_or_a_disabled_account_ends_every_session(studio: Studio) -> None:
    laptop, phone = studio.client(), studio.client()
    sign_in(laptop, "mei")
    sign_in(phone, "mei")
    with session_scope(open_database(studio.database_url)) as session:
        people.set_password(session, "mei", "a-brand-new-password")
    assert (laptop.get("/api/me").status_code, phone.get("/api/me").status_code) == (401, 401)
    sign_in(laptop, "kai")
    done = CliRunner().invoke(aigms_cli, ["users", "disable", "kai", "--home", str(studio.store.parent)],
                              env={"AIGMS_DATABASE_URL": studio.database_url})
    assert done.exit_code == 0, done.output
    assert laptop.get("/api/me").status_code == 401
    assert "do not match" in laptop.post("/login", data={"csrftoken": laptop.cookies["csrftoken"], "name": "kai",
                                                         "password": PASSWORDS["kai"]}).text


def wrong_login(client: TestClient, name: str) -> httpx.Response:
    client.get("/login")
    return client.post("/login", data={"csrftoken": client.cookies["csrftoken"], "name": name,
                                       "password": "not-the-password"})


@DATABASE
def test_wrong_passwords_for_a_name_are_throttled_with_when_to_retry(studio: Studio) -> None:
    client = studio.client()
    assert [wrong_login(client, "mei").status_code for _ in range(5)] == [401] * 5
    refused = client.post("/login", data={"csrftoken": client.cookies["csrftoken"], "name": "mei",
                                          "password": PASSWORDS["mei"]})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert re.search(r"Too many failed sign-ins for this name\. Try again in \d+ minutes?\.", refused.text)
    sign_in(client, "kai")


@DATABASE
def test_wrong_passwords_from_an_address_are_throttled_whatever_the_names(studio: Studio) -> None:
    app = create_app(studio.settings())
    guesser = TestClient(app, client=("203.0.113.7", 40000))
    assert {wrong_login(guesser, f"guess-{n}").status_code for n in range(20)} == {401}
    refused = wrong_login(guesser, "mei")
    assert refused.status_code == 429 and "for this address" in refused.text
    colleague = TestClient(app, client=("198.51.100.2", 40000))
    sign_in(colleague, "mei")


def peak_memory_growth(during: callable) -> int:
    """Bytes the process's resident peak rose by while `during` ran (the peak is reset first)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = resident("VmHWM")
    during()
    return resident("VmHWM") - before


def resident(field: str) -> int:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) * 1024


def test_parallel_wrong_passwords_hash_one_per_core_at_a_time(studio: Studio) -> None:
    """argon2id holds 64 MiB per hash: three times as many parallel sign-ins as cores must not hold more than a
    core's worth at once (each answered 401, so each did hash)."""
    cores = len(os.sched_getaffinity(0))
    burst_size = min(3 * cores, 19)  # under the per-address limit, so every one of them is hashed
    with serve(studio.settings()) as site:
        def one(name: str) -> int:
            with httpx.Client(base_url=site, timeout=120) as client:
                form = client.get("/login")
                token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
                return client.post("/login", data={"csrftoken": token, "name": name, "password": "wrong"}).status_code

        one("warm-up")
        statuses: list[int] = []

        def burst() -> None:
            with concurrent.futures.ThreadPoolExecutor(burst_size) as pool:
                statuses.extend(pool.map(one, [f"guess-{n}" for n in range(burst_size)]))

        grown = peak_memory_growth(burst)
    assert statuses == [401] * burst_size
    assert grown < (cores + 1) * 64 * 2**20, f"{grown / 2**20:.0f} MiB"


@DATABASE
def test_a_bearer_header_does_not_skip_the_csrf_check(studio: Studio) -> None:
    client = studio.client()
    sign_in(client, "mei")
    take = studio.ids["take"]
    for forged in (client.post(f"/api/takes/{take}/review", json={"decision": "approve"},
                               headers={"Authorization": "Bearer anything"}),
                   client.post(f"/takes/{take}/review", data={"decision": "approve"},
                               headers={"Authorization": "Bearer anything"})):
        assert forged.status_code == 403 and "CSRF" in forged.text
    assert reviews(studio) == []
    done = client.post(f"/api/takes/{take}/review", json={"decision": "approve"},
                       headers={"x-csrftoken": client.cookies["csrftoken"], "Authorization": "Bearer anything"})
    assert done.status_code == 200 and len(reviews(studio)) == 1


def routes_with_ids() -> list[tuple[str, str]]:
    """Every route of the dashboard that takes an id or a series id in its path, as (method, path template)."""
    from aigms.dashboard import api, dailies, director, jobs, pages

    routers = [api.router, pages.router] + [router for module in (director, jobs, dailies)
                                            for router in (module.api, module.router)]
    return [(method, route.path) for router in routers for route in router.routes if "{" in route.path
            for method in sorted(route.methods) if method != "HEAD"]


@DATABASE
def test_ids_that_name_nothing_are_404_on_every_route(studio: Studio) -> None:
    client = studio.client()
    sign_in(client, "mei")
    routes = routes_with_ids()
    assert len(routes) >= 15
    for method, template in routes:
        for value in HUGE_IDS + ("..%2F..%2Fetc%2Fpasswd",):
            path = re.sub(r"\{[a-z_]+\}", value, template)
            if method == "GET":
                answer = client.get(path)
            else:
                answer = client.request(method, path, data={"csrftoken": client.cookies["csrftoken"],
                                                            "decision": "approve"},
                                        headers={"x-csrftoken": client.cookies["csrftoken"]})
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text[:200])
    assert reviews(studio) == []


@DATABASE
def test_a_poster_or_subtitles_of_the_wrong_kind_of_asset_is_404(studio: Studio) -> None:
    client = studio.client()
    sign_in(client, "kai")
    assert client.get(f"/assets/{studio.ids['srt']}/poster.jpg").status_code == 404
    assert client.get(f"/assets/{studio.ids['clip']}/subtitles.vtt").status_code == 404
    assert client.get(f"/assets/{studio.ids['manifest']}/subtitles.vtt").status_code == 404
    assert client.get(f"/assets/{studio.ids['clip']}/poster.jpg").headers["content-type"] == "image/jpeg"
    assert client.get(f"/assets/{studio.ids['srt']}/subtitles.vtt").text.startswith("WEBVTT")


def test_a_body_over_a_megabyte_is_refused_before_it_is_read(studio: Studio) -> None:
    client = studio.client()
    client.get("/login")
    answer = client.post("/login", content=b"name=mei&password=" + b"x" * (2 << 20),
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413


def test_a_multipart_body_is_refused_not_a_server_error(studio: Studio) -> None:
    client = studio.client()
    token = sign_in(client, "mei")
    for kind in ("multipart/form-data;boundary=x", "multipart/form-data; boundary=x"):
        answer = client.post(f"/takes/{studio.ids['take']}/review", content=b"--x--",
                             headers={"content-type": kind, "x-csrftoken": token})
        assert answer.status_code == 415, kind
    assert reviews(studio) == []


@DATABASE
def test_form_text_with_a_nul_is_refused_not_stored(studio: Studio) -> None:
    client = studio.client()
    token = sign_in(client, "mei")
    answer = client.post(f"/takes/{studio.ids['take']}/review",
                         data={"csrftoken": token, "decision": "reject", "note": "closer\x00on Lin"})
    assert answer.status_code == 422
    assert reviews(studio) == []


@pytest.mark.parametrize("target", ["/\\evil.example/", "/\\/evil.example/"])
def test_a_login_link_cannot_send_a_person_elsewhere(studio: Studio, target: str) -> None:
    client = studio.client()
    client.get("/login")
    done = client.post("/login", data={"csrftoken": client.cookies["csrftoken"], "name": "kai",
                                       "password": PASSWORDS["kai"], "next": target}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/")


# The store


def test_files_are_created_with_the_process_umask(tmp_path: Path, database_url: str) -> None:
    source = tmp_path / "still.png"
    Image.new("RGB", (4, 4)).save(source)
    previous = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "shared.txt", "for the group")
        with session_scope(open_database(database_url)) as session:
            stored = assets.asset_file(tmp_path / "store", assets.put_file(session, tmp_path / "store", source,
                                                                           "still", move=False))
    finally:
        os.umask(previous)
    atomic_write_text(tmp_path / "everyone.txt", "for all")
    atomic_write_text(tmp_path / "secret.txt", "for me", mode=0o600)
    modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "shared.txt", stored,
                                                                 tmp_path / "everyone.txt", tmp_path / "secret.txt")}
    assert modes == {"shared.txt": 0o640, stored.name: 0o640, "everyone.txt": 0o644, "secret.txt": 0o600}


def alter(path: Path) -> None:
    """The same size, other bytes in the middle: what a bad disk, a bad copy or a person with write access does."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(255 - byte for byte in data[middle:middle + 64])
    path.write_bytes(bytes(data))


@DATABASE
def test_a_file_altered_in_the_store_is_set_aside_and_replaced_when_put_again(tmp_path: Path,
                                                                              database_url: str) -> None:
    clip = make_clip(tmp_path / "clip.mp4")
    engine = open_database(database_url)
    with session_scope(engine) as session:
        asset = assets.put_file(session, tmp_path / "store", clip, "clip", move=False)
        stored = assets.asset_file(tmp_path / "store", asset)
    alter(stored)
    with session_scope(engine) as session:
        row = session.get(models.Asset, asset.id)
        assert not assets.has_file(tmp_path / "store", row)
        assert not stored.exists()
        assets.put_file(session, tmp_path / "store", clip, "clip", move=False)
    assert assets.sha256_file(stored) == asset.sha256
    assert [path.read_bytes() != clip.read_bytes() for path in (tmp_path / "store" / "corrupt").iterdir()] == [True]


def bytes_read(during: callable) -> int:
    def rchar() -> int:
        return int(Path("/proc/self/io").read_text().split("rchar: ")[1].split()[0])

    before = rchar()
    during()
    return rchar() - before


@DATABASE
def test_an_unchanged_file_is_hashed_once_and_a_touched_one_again(tmp_path: Path, database_url: str) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 << 20))
    engine = open_database(database_url)
    with session_scope(engine) as session:
        asset_id = assets.put_file(session, tmp_path / "store", big, "clip", move=False).id

    def check() -> None:
        with session_scope(engine) as session:
            assert assets.has_file(tmp_path / "store", session.get(models.Asset, asset_id))

    assert bytes_read(check) < 1 << 20
    stored = next((tmp_path / "store").rglob("*.bin"))
    os.utime(stored, ns=(stored.stat().st_atime_ns, stored.stat().st_mtime_ns))  # same times, a new ctime
    assert bytes_read(check) >= 8 << 20
    assert bytes_read(check) < 1 << 20


@DATABASE
def test_store_verify_hashes_everything_and_sets_corrupt_files_aside(tmp_path: Path, database_url: str) -> None:
    store = tmp_path / "home" / "store"
    (tmp_path / "b.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    with session_scope(open_database(database_url)) as session:
        good = assets.put_file(session, store, make_clip(tmp_path / "a.mp4"), "clip")
        bad = assets.put_file(session, store, tmp_path / "b.srt", "subtitle")
    alter(assets.asset_file(store, bad))
    done = CliRunner().invoke(aigms_cli, ["store", "verify", "--home", str(tmp_path / "home")],
                              env={"AIGMS_DATABASE_URL": database_url})
    assert done.exit_code == 1
    assert bad.path in done.output and "corrupt" in done.output and good.path not in done.output
    assert not assets.asset_file(store, bad).exists() and len(list((store / "corrupt").iterdir())) == 1
    assert assets.sha256_file(assets.asset_file(store, good)) == good.sha256


# Renders


TINY_EPISODE = """Title: Tiny

INT. RESTORATION LAB - NIGHT

The mask hums on the bench.

LIN YUE
Then it is counting.
"""


def tiny_series(root: Path) -> Path:
    """The example bible at 160×90 with a two-shot episode of its own, so a render takes seconds."""
    folder = small_copy(root)
    bible = yaml.safe_load((folder / "series.yaml").read_text())
    bible["delivery"].update(width=160, height=90)
    bible["episodes"] = [{"id": "s09e01", "title": "Tiny", "script": "episodes/s09e01.fountain", "language": "en"}]
    (folder / "series.yaml").write_text(yaml.safe_dump(bible, allow_unicode=True, sort_keys=False))
    (folder / "episodes" / "s09e01.fountain").write_text(TINY_EPISODE)
    return folder


def render(series: Path, home: Path, out: Path, database_url: str, whisper: str = "none", wait: bool = False):
    from aigms.flows.episode import render_episode

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        patch.setenv("AIGMS_WHISPER", whisper)
        return render_episode(str(series), "s09e01", str(out), str(home), force=True, wait=wait)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, prefect: None) -> dict:
    """One render of the tiny episode with speech recognition on, while the system's temp folder does not exist
    (anything written there would fail the render), after a killed render left scratch in the episode's folder."""
    from aigms.production.render_lock import scratch

    root = tmp_path_factory.mktemp("tiny")
    series, home = tiny_series(root / "series"), root / "home"
    database_url = fresh_database_url(home)
    left = scratch(home / "store", "bronze-echoes", "s09e01") / "tmpkilled" / "dialogue.wav"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"RIFF")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(root / "no-system-temp-folder"))
        result = render(series, home, root / "out", database_url, whisper="faster-whisper:base")
    return {"series": series, "home": home, "root": root, "database": database_url, "result": result, "left": left}


def test_render_scratch_stays_in_the_store_and_the_next_render_clears_what_a_killed_one_left(tiny: dict) -> None:
    assert not tiny["left"].exists()
    assert tiny["result"].rendered == tiny["result"].shots
    with session_scope(open_database(tiny["database"])) as session:
        heard = session.scalars(select(models.DialogueLine.heard)).all()
    assert len(heard) == 1 and "counting" in heard[0].lower()
    assert list((tiny["home"] / "store" / "tmp").iterdir()) == []


def test_a_take_altered_in_the_store_is_filmed_again_not_cut_into_the_master(tiny: dict) -> None:
    first = Manifest.model_validate_json(tiny["result"].manifest.read_text())
    store = tiny["home"] / "store"
    with session_scope(open_database(tiny["database"])) as session:
        takes = session.scalars(select(models.Take).where(models.Take.kind == models.TAKE_CLIP)).all()
        altered = assets.asset_file(store, takes[0].asset)
        kept = {take.id: take.asset.sha256 for take in takes}
    alter(altered)
    again = render(tiny["series"], tiny["home"], tiny["root"] / "out-again", tiny["database"])
    assert assets.sha256_file(altered) == kept[takes[0].id]
    assert len(list((store / "corrupt").iterdir())) == 1
    second = Manifest.model_validate_json(again.manifest.read_text())
    assert second.picture_sha256 == first.picture_sha256
    assert probe(again.video).duration == pytest.approx(probe(tiny["result"].video).duration, abs=0.05)


@pytest.fixture
def unrendered(tmp_path: Path, database_url: str, prefect: None) -> dict:
    """The tiny episode's series and project, nothing rendered yet: what the locks are taken on."""
    return {"series": tiny_series(tmp_path / "series"), "home": tmp_path / "home", "root": tmp_path,
            "database": database_url}


@DATABASE
def test_a_second_render_of_the_episode_is_refused_naming_who_holds_it(unrendered: dict) -> None:
    from aigms.production.render_lock import RenderLocked, episode_lock

    engine = open_database(unrendered["database"])
    with episode_lock(engine, unrendered["home"] / "store", "bronze-echoes", "s09e01"):
        with pytest.raises(RenderLocked, match=rf"{socket.gethostname()} pid {os.getpid()} .*--wait"):
            render(unrendered["series"], unrendered["home"], unrendered["root"] / "out-refused",
                   unrendered["database"])
        with session_scope(engine) as session:
            runs = session.scalars(select(models.RenderRun).where(models.RenderRun.status == models.RUN_RUNNING))
            assert runs.all() == []
    assert not (unrendered["root"] / "out-refused").exists()


@DATABASE
def test_a_waiting_render_starts_when_the_holder_lets_go(unrendered: dict) -> None:
    from aigms.production.render_lock import episode_lock

    engine, store = open_database(unrendered["database"]), unrendered["home"] / "store"
    holding, released, order = threading.Event(), threading.Event(), []

    def other_render() -> None:
        with episode_lock(engine, store, "bronze-echoes", "s09e01"):
            holding.set()
            released.wait(30)
            order.append("first done")

    holder = threading.Thread(target=other_render)
    holder.start()
    holding.wait(30)
    waiters: list[str] = []
    threading.Timer(0.5, released.set).start()
    with episode_lock(engine, store, "bronze-echoes", "s09e01", wait=True, heartbeat=0.2,
                      on_wait=lambda holder: waiters.append(str(holder))):
        order.append("second runs")
    holder.join()
    assert order == ["first done", "second runs"]
    assert waiters and f"pid {os.getpid()}" in waiters[0]


def lock_row(database_url: str, host: str, pid: int, beat_age: float) -> None:
    """The row a render on `host` left, its last heartbeat `beat_age` seconds ago (it beat every 10 s)."""
    with session_scope(open_database(database_url)) as session:
        then = models.utcnow() - timedelta(seconds=beat_age)
        session.merge(models.RenderLock(series_id="bronze-echoes", episode_code="s01e01", token="0" * 32, host=host,
                                        pid=pid, acquired_at=then, heartbeat_at=then, heartbeat_seconds=10.0))


@DATABASE
def test_a_lost_machines_lock_expires_after_missed_heartbeats(tmp_path: Path, database_url: str) -> None:
    from aigms.production.render_lock import RenderLocked, episode_lock

    engine = open_database(database_url)
    lock_row(database_url, "render-02", 4242, beat_age=30)
    with pytest.raises(RenderLocked, match="render-02 pid 4242"):
        with episode_lock(engine, tmp_path, "bronze-echoes", "s01e01", missed=6):
            pass
    lock_row(database_url, "render-02", 4242, beat_age=61)
    with episode_lock(engine, tmp_path, "bronze-echoes", "s01e01", heartbeat=0.1, missed=6):
        with session_scope(engine) as session:
            row = session.scalars(select(models.RenderLock)).one()
            assert (row.host, row.pid) == (socket.gethostname(), os.getpid())
        for _ in range(100):
            with session_scope(engine) as session:
                if session.scalars(select(models.RenderLock)).one().heartbeat_at > row.heartbeat_at:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the holder's heartbeat did not advance")
    with session_scope(engine) as session:
        assert session.scalars(select(models.RenderLock)).all() == []


@DATABASE
def test_a_killed_renders_lock_on_this_host_is_taken_at_once(tmp_path: Path, database_url: str) -> None:
    from aigms.production.render_lock import episode_lock

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock_row(database_url, socket.gethostname(), gone.pid, beat_age=0)
    with episode_lock(open_database(database_url), tmp_path, "bronze-echoes", "s01e01"):
        with session_scope(open_database(database_url)) as session:
            assert session.scalars(select(models.RenderLock.pid)).one() == os.getpid()


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def prefect_server(pid: int) -> set[int]:
    """The Prefect server among a process's descendants, once it runs as itself (after exec)."""
    return {child for child in descendants(pid) if b"prefect.server.api.server:create_app" in cmdline(child)}


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def test_a_killed_render_leaves_no_process_behind(tmp_path: Path) -> None:
    """`aigms render` with no Prefect server starts a temporary one; SIGKILL the render (itself only, as the OOM
    killer would) once that server runs, and every process the render started must go."""
    series, home = tiny_series(tmp_path / "series"), tmp_path / "home"
    database_url = fresh_database_url(home)
    open_database(database_url)
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env.update(AIGMS_DATABASE_URL=database_url, AIGMS_WHISPER="none")
    render_process = subprocess.Popen(
        [sys.executable, "-m", "aigms", "render", str(series / "episodes" / "s09e01.fountain"), "--force",
         "--home", str(home), "--out", str(tmp_path / "out")],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while not prefect_server(render_process.pid) and time.monotonic() < deadline:
            assert render_process.poll() is None, render_process.stderr.read().decode()[-2000:]
            time.sleep(0.1)
        started = descendants(render_process.pid)
        assert prefect_server(render_process.pid)
        render_process.kill()
        render_process.wait()
        for _ in range(100):
            if not any(alive(pid) for pid in started):
                break
            time.sleep(0.1)
        assert [cmdline(pid)[:200] for pid in started if alive(pid)] == []
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if render_process.poll() is None:
            render_process.kill()
            render_process.wait()
        render_process.stderr.close()
