"""Filming on Kling's API, against a local server that speaks it (`kling_server.py`, built to Kling's own API
reference): a whole example episode with a three-segment continuation (one clip, extended twice), every call a
durable job that a render killed mid-task re-attaches to, the provider's limits kept and its refusals told apart,
and every call in the take's recipe, the `model_calls` ledger, the manifest and the shot page."""

import base64
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from databases import fresh_database_url
from sqlalchemy import func, select
from typer.testing import CliRunner

from aigms.db import models, queries
from aigms.db.session import open_database, session_scope
from aigms.production.generate import remote
from aigms.production.generate.generators import kling
from aigms.production.generate.takes import render_shot
from aigms.production.store.media import probe
from aigms.schemas.manifest import Manifest
from aigms.schemas.series import GeneratorSettings
from aigms.schemas.shotlist import Shot
from builders import tiny_series
from kling_server import ACCESS_KEY, SECRET_KEY, KlingServer
from remote_servers import example_on, levels, serve

# The durable job on PostgreSQL too (`make test` runs these again there): resuming, re-attaching, cancelling.
DATABASE = pytest.mark.database

FAST = {"AIGMS_REMOTE_POLL": "0.02:0.1", "AIGMS_REMOTE_BACKOFF": "0.02:0.1", "AIGMS_WHISPER": "none"}
KLING = "  backend: kling:kling-v1-6\n  seed: 7\n  options:\n    mode: pro\n    negative_prompt: blurry, text"
SHORT_EPISODE = """INT. BRONZE TREE HALL - NIGHT

The great bronze tree rises into shadow. Its branches begin to glow, one by one.
[[SHOT: WS, push in, 14s]]

KAI
Too late for that.
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[KlingServer]:
    """A Kling account on 127.0.0.1, and this process pointed at it."""
    kling_server = KlingServer(tmp_path / "kling")
    with serve(kling_server.app()) as url, pytest.MonkeyPatch.context() as patch:
        kling_server.url = url
        for key, value in {**FAST, "KLING_API_BASE": url, "KLING_ACCESS_KEY": ACCESS_KEY,
                           "KLING_SECRET_KEY": SECRET_KEY}.items():
            patch.setenv(key, value)
        yield kling_server


def film(tmp_path: Path, database_url: str, model: str = "kling-v1-6", seconds: float = 5.0, **options: object):
    """One shot filmed through `render_shot`, as the episode flow does it, without Prefect."""
    prompt = str(options.pop("prompt", "The bronze mask turns."))
    series = tiny_series(tmp_path / "series", 160, 90)
    series.qc.enabled = False
    series.generator = GeneratorSettings(backend=f"kling:{model}", seed=3, options={"retries": 0, **options})
    shot = Shot(id="010", scene=1, kind="action", size="WS", move="push-in", text="The bronze mask turns.",
                duration=seconds, location="lab", prompt=prompt)
    return render_shot(open_database(database_url), tmp_path / "store", series, shot, None)


def nothing_half_written(store: Path) -> bool:
    scratch = store / "tmp"
    return not scratch.exists() or not [path for path in scratch.rglob("*") if path.is_file()]


# A whole episode


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory, prefect: None) -> Iterator[dict]:
    """The example's second episode filmed on Kling: at most two tasks at once (series.yaml), an account that
    answers 1303 twice and 1302 once before it takes the first task, tasks that take 0.3 s."""
    from aigms.flows.episode import render_episode

    root = tmp_path_factory.mktemp("kling-episode")
    series = example_on(root / "series", KLING, "providers:\n  kling:\n    concurrency: 2\nqc:\n  enabled: false\n")
    account = KlingServer(root / "kling", seconds=0.3, busy=2, rate_limited=1)
    database_url = fresh_database_url(root / "home")
    with serve(account.app()) as url, pytest.MonkeyPatch.context() as patch:
        account.url = url
        for key, value in {**FAST, "KLING_API_BASE": url, "KLING_ACCESS_KEY": ACCESS_KEY,
                           "KLING_SECRET_KEY": SECRET_KEY, "AIGMS_DATABASE_URL": database_url}.items():
            patch.setenv(key, value)
        result = render_episode(str(series), "s01e02", str(root / "out"), str(root / "home"), force=True)
        yield {"result": result, "server": account, "database": database_url, "home": root / "home"}


def clip_takes(database_url: str) -> list[models.Take]:
    with session_scope(open_database(database_url)) as session:
        return list(session.scalars(select(models.Take).where(models.Take.kind == models.TAKE_CLIP)))


def test_an_example_episode_is_filmed_on_kling(episode: dict) -> None:
    result = episode["result"]
    manifest = Manifest.model_validate_json(result.manifest.read_text())
    info = probe(result.video)
    assert (info.width, info.height, info.fps) == (160, 90, 30)
    assert abs(info.duration - manifest.duration) <= 0.1
    takes = clip_takes(episode["database"])
    assert {take.status for take in takes} == {models.TAKE_OK}
    assert {take.generator for take in takes} == {"kling:kling-v1-6"}
    assert len(takes) == len(manifest.shots) == result.shots


def test_the_long_shot_is_one_kling_clip_extended_twice(episode: dict) -> None:
    server = episode["server"]
    manifest = Manifest.model_validate_json(episode["result"].manifest.read_text())
    long_shot = next(shot for shot in manifest.shots if shot.duration == 14.0)
    first, *extensions = (server.tasks[call.task_id] for call in long_shot.calls)
    assert first.kind == "multi-image2video" and [task.kind for task in extensions] == ["video-extend"] * 2
    assert [task.body["video_id"] for task in extensions] == [f"video-{first.id}", f"video-{extensions[0].id}"]
    prompts = [first.body["prompt"]] + [task.body["prompt"] for task in extensions]
    assert len(set(prompts)) == 3  # each step of the chain with its own prompt
    with session_scope(open_database(episode["database"])) as session:
        take = session.scalar(select(models.Take).where(models.Take.recipe_sha256 == long_shot.take))
        clip = episode["home"] / "store" / take.asset.path
    seconds = levels(clip, 30)
    assert len(seconds) == 14
    assert len(set(seconds[:5])) == len(set(seconds[5:10])) == len(set(seconds[10:])) == 1
    assert seconds[0] != seconds[5] != seconds[10] != seconds[0]


def test_no_more_tasks_than_the_providers_limit_are_in_flight(episode: dict) -> None:
    from prefect.client.orchestration import get_client

    assert 1 <= episode["server"].most_in_flight <= 2
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name("tag:remote-kling").limit == 2


def test_a_busy_account_delays_the_render_but_fails_no_take(episode: dict) -> None:
    refusals = [request for request in episode["server"].requests if request.get("status") == 429]
    assert len(refusals) == 3
    with session_scope(open_database(episode["database"])) as session:
        calls = session.scalars(select(models.ModelCall)).all()
        assert {call.state for call in calls} == {models.CALL_SUCCEEDED}
        assert sum(call.attempts for call in calls) == len(calls) + 3


def test_every_call_is_in_its_takes_recipe_the_ledger_the_manifest_and_the_shot_page(episode: dict) -> None:
    server = episode["server"]
    takes = clip_takes(episode["database"])
    recorded = [call for take in takes for call in take.recipe["calls"]]
    assert sorted(call["task_id"] for call in recorded) == sorted(server.tasks)
    for call in recorded:
        assert call["provider"] == "kling" and call["model"] == "kling-v1-6" and call["state"] == "succeeded"
        assert call["billed_units"] in (1.0, 2.0) and call["unit"] == "units"
        assert "image" not in str(call["request"]) or "sha256" in str(call["request"])
        assert len(str(call["request"])) < 2000, "images are recorded by hash, not as base64"
    with session_scope(open_database(episode["database"])) as session:
        assert session.scalar(select(func.count()).select_from(models.ModelCall)) == len(server.tasks)
        manifest = Manifest.model_validate_json(episode["result"].manifest.read_text())
        assert sorted(call.task_id for shot in manifest.shots for call in shot.calls) == sorted(server.tasks)
        long_shot = session.scalar(select(models.Shot).where(models.Shot.duration == 14.0))
        page = queries.shot_detail(session, long_shot.id)
    selected = next(take for take in page.takes if take.selected)
    assert [(call.kind, call.segment, call.provider) for call in selected.calls] == [
        ("segment", 0, "kling"), ("segment", 1, "kling"), ("segment", 2, "kling")]
    assert all(call.task_id in server.tasks and call.billed.endswith("units") for call in selected.calls)


# Kill and resume


def short_series(root: Path, extra: str = "") -> Path:
    """Three shots: the hall, the bronze tree held 14 s (three segments), Kai's line."""
    series = example_on(root / "series", KLING, "qc:\n  enabled: false\n" + extra)
    (series / "episodes" / "s01e02.fountain").write_text(SHORT_EPISODE)
    return series


def extension_sent(database_url: str) -> bool:
    """The render has recorded the task id of an extension: a paid task is in flight."""
    with session_scope(open_database(database_url)) as session:
        return session.scalar(select(models.ModelCall.id).where(
            models.ModelCall.endpoint == "video-extend", models.ModelCall.provider_task_id.is_not(None))) is not None


def forget_limit(tag: str) -> None:
    """No provider limit for this render: a killed process's slots would otherwise be held for a minute."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.delete_global_concurrency_limit_by_name(f"tag:{tag}")
        except ObjectNotFound:
            pass


@DATABASE
def test_a_render_killed_with_a_task_in_flight_resumes_it_without_paying_twice(server: KlingServer, tmp_path: Path,
                                                                               prefect: None) -> None:
    from prefect.settings import PREFECT_API_URL

    series = short_series(tmp_path, "lipsync: kling\n")
    database_url = fresh_database_url(tmp_path / "home")
    env = {**os.environ, "AIGMS_DATABASE_URL": database_url, "PREFECT_API_URL": PREFECT_API_URL.value()}
    forget_limit("remote-kling")
    command = [sys.executable, "-m", "aigms", "render", str(series / "episodes" / "s01e02.fountain"), "--force",
               "--home", str(tmp_path / "home"), "--out", str(tmp_path / "out")]
    server.seconds = 3.0
    killed = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    try:
        while not extension_sent(database_url) or not server.in_flight():
            assert killed.poll() is None, killed.stderr.read().decode()[-3000:]
            time.sleep(0.05)
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        killed.wait()
        killed.stderr.close()
        forget_limit("remote-kling")  # and the slots the killed render held
    in_flight = {task.id for task in server.tasks.values() if task.done > time.monotonic()}
    with session_scope(open_database(database_url)) as session:
        open_jobs = session.scalars(select(models.ModelCall).where(models.ModelCall.state.in_(models.CALL_OPEN)))
        assert in_flight <= {call.provider_task_id for call in open_jobs}

    server.seconds = 0.0
    resumed = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    segments = Counter(body.get("external_task_id", "").rsplit("-", 1)[0] or body["video_id"]
                       for body in server.creations() if "input" not in body)
    assert set(segments.values()) == {1}
    assert len(segments) == 5  # establishing 1 + the chain 3 + the line 1
    assert len(server.creations("lip-sync")) == 1  # Kai's line, once its take was filmed
    with session_scope(open_database(database_url)) as session:
        dialogue = session.scalar(select(models.Shot).where(models.Shot.kind == "dialogue"))
        assert dialogue.selected_take.recipe["parent"] and dialogue.selected_take.generator == "kling:lipsync"
    polled = {request["path"].rsplit("/", 1)[1] for request in server.requests if request["method"] == "GET"}
    assert in_flight <= polled
    assert {take.status for take in clip_takes(database_url)} == {models.TAKE_OK}
    assert nothing_half_written(tmp_path / "home" / "store")


def test_out_of_credit_stops_the_render_with_one_line_and_keeps_finished_takes(server: KlingServer, tmp_path: Path,
                                                                               prefect: None) -> None:
    from aigms.cli import app

    series = short_series(tmp_path)
    database_url = fresh_database_url(tmp_path / "home")
    server.credit, server.payment_required = 3, True
    arguments = ["render", str(series / "episodes" / "s01e02.fountain"), "--force", "--home",
                 str(tmp_path / "home"), "--out", str(tmp_path / "out")]
    env = {"AIGMS_DATABASE_URL": database_url, "AIGMS_LIMIT_KLING": "1"}
    stopped = CliRunner().invoke(app, arguments, env=env)
    assert stopped.exit_code == 1, stopped.output
    error_lines = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert "HTTP 402" in error_lines[0] and "out of credit" in error_lines[0] and "kept" in error_lines[0]
    finished = [take for take in clip_takes(database_url) if take.status == models.TAKE_OK]
    assert finished
    paid = len(server.creations())
    assert paid == 3

    server.credit = None  # the pack is topped up
    resumed = CliRunner().invoke(app, arguments, env=env)
    assert resumed.exit_code == 0, resumed.output
    assert len(server.creations()) == 5
    kept = {take.id: take.asset_id for take in finished}
    assert {take.id: take.asset_id for take in clip_takes(database_url) if take.id in kept} == kept


# Bad input and refusals, shot by shot


def test_a_wrong_key_stops_with_a_clear_error_and_writes_nothing(server: KlingServer, tmp_path: Path,
                                                                 database_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLING_SECRET_KEY", "not-the-studios-secret-key-at-all")
    with pytest.raises(remote.NotAuthorised, match="HTTP 401, code 1002.*KLING_ACCESS_KEY and KLING_SECRET_KEY"):
        film(tmp_path, database_url)
    assert server.tasks == {}
    with session_scope(open_database(database_url)) as session:
        assert session.scalar(select(func.count()).select_from(models.Asset)) == 0
    assert nothing_half_written(tmp_path / "store")


def test_an_unreachable_api_stops_with_a_clear_error(tmp_path: Path, database_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**FAST, "KLING_API_BASE": "http://127.0.0.1:9", "KLING_ACCESS_KEY": ACCESS_KEY,
                       "KLING_SECRET_KEY": SECRET_KEY}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(remote.Unreachable, match="cannot reach Kling at http://127.0.0.1:9"):
        film(tmp_path, database_url)
    with session_scope(open_database(database_url)) as session:
        call = session.scalars(select(models.ModelCall)).one()
        assert (call.state, call.provider_task_id) == (models.CALL_PENDING, None)
    assert nothing_half_written(tmp_path / "store")


@DATABASE
def test_a_download_cut_short_writes_nothing_and_the_next_render_fetches_it_without_paying(
        server: KlingServer, tmp_path: Path, database_url: str) -> None:
    server.cut_downloads = 1
    result = film(tmp_path, database_url)
    assert any("cut short" in failure for failure in result.failures)
    assert result.selected.generator == "animatic"  # the stand-in, with a warning
    assert nothing_half_written(tmp_path / "store")
    with session_scope(open_database(database_url)) as session:
        assert session.scalar(select(func.count()).select_from(models.Asset).where(models.Asset.kind == "remote")) == 0

    again = film(tmp_path, database_url)
    assert again.selected.generator == "kling:kling-v1-6" and again.failures == []
    assert len(server.creations()) == 1


@DATABASE
def test_a_refused_prompt_fails_its_take_with_the_reason_and_is_not_asked_again(server: KlingServer, tmp_path: Path,
                                                                                database_url: str) -> None:
    result = film(tmp_path, database_url, prompt="a forbidden ritual", retries=2)
    assert any("1301" in failure and "content security" in failure for failure in result.failures)
    creations = [request for request in server.requests if request["method"] == "POST"]
    assert len(creations) == 1, "another seed does not change the moderator's mind"
    film(tmp_path, database_url, prompt="a forbidden ritual", retries=2)
    assert len([request for request in server.requests if request["method"] == "POST"]) == 1
    film(tmp_path, database_url, prompt="a quiet ritual", retries=2)
    assert len(server.creations()) == 1


def test_kling_v1_text_takes_the_camera_move_and_an_image_model_starts_from_the_layout(
        server: KlingServer, tmp_path: Path, database_url: str) -> None:
    film(tmp_path / "v1", database_url, model="kling-v1", mode="std")
    film(tmp_path / "v2", database_url, model="kling-v2-1", mode="pro", end_frame="bible/lab.png", cfg_scale=0.7)
    text, image = server.creations()
    assert text["camera_control"] == {"type": "simple", "config": {
        "horizontal": 0.0, "vertical": 0.0, "pan": 0.0, "tilt": 0.0, "roll": 0.0, "zoom": -5.0}}
    assert (text["model_name"], text["aspect_ratio"], text["duration"]) == ("kling-v1", "16:9", "5")
    assert {"image", "image_tail"} <= set(image) and "camera_control" not in image
    assert "cfg_scale" not in image, "the v2 models take no cfg_scale"
    assert [task.kind for task in server.tasks.values()] == ["text2video", "image2video"]


def test_kling_on_the_global_endpoint_signs_a_token_and_renews_it_before_it_expires() -> None:
    client = kling.Client(kling.DEFAULT_BASE, ACCESS_KEY, SECRET_KEY)
    first = client._authorization().removeprefix("Bearer ")
    claims = jwt.decode(first, SECRET_KEY, algorithms=["HS256"])
    assert claims["iss"] == ACCESS_KEY and claims["exp"] - claims["nbf"] == kling.TOKEN_SECONDS + 5
    assert client._authorization() == f"Bearer {first}"
    client._expires = time.time() + kling.RENEW_SECONDS - 1  # made 25 minutes ago: under five minutes left
    renewed = jwt.decode(client._authorization().removeprefix("Bearer "), SECRET_KEY, algorithms=["HS256"])
    assert renewed["exp"] >= time.time() + kling.TOKEN_SECONDS - 2
    assert client._expires > time.time() + kling.RENEW_SECONDS


def test_the_job_loop_refuses_a_call_without_a_ledger() -> None:
    job = remote.Job("kling", "kling", "kling-v1-6", "segment", 0, "text2video", {}, "key")
    with pytest.raises(ValueError, match="CallContext"):
        remote.run(kling.Client("http://127.0.0.1:9", ACCESS_KEY, SECRET_KEY), job, None, remote.Timing())


def test_lip_sync_makes_a_new_take_whose_parent_is_the_filmed_one(server: KlingServer, tmp_path: Path,
                                                                  database_url: str) -> None:
    from aigms.production.generate import lipsync
    from aigms.production.store import media

    filmed = film(tmp_path, database_url).selected
    line = tmp_path / "line.wav"
    subprocess.run([media.ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=1.2",
                    str(line)], check=True)
    engine = open_database(database_url)
    series = tiny_series(tmp_path / "series", 160, 90)
    shot = Shot(id="010", scene=1, kind="dialogue", size="MCU", text="Too late for that.", duration=5.0,
                location="lab", speaker="kai")
    synced = lipsync.sync_lips(engine, tmp_path / "store", series, shot, None, filmed, line, "a" * 64, 0.25)
    (body,) = server.creations("lip-sync")
    assert body["input"]["video_id"] == f"video-{next(iter(server.tasks))}"
    assert (body["input"]["mode"], body["input"]["audio_type"]) == ("audio2video", "file")
    with session_scope(engine) as session:
        take = session.get(models.Take, synced.take_id)
        assert take.recipe["parent"] == filmed.recipe_sha256 and take.status == models.TAKE_OK
        assert [call["kind"] for call in take.recipe["calls"]] == ["lipsync"]
    sent = tmp_path / "sent.wav"
    sent.write_bytes(base64.b64decode(body["input"]["audio_file"]))
    assert abs(probe(sent).duration - 2.0) < 0.05  # 0.25 s of lead-in and the line, padded to Kling's 2 s
    assert probe(synced.clip).duration == 5.0
    again = lipsync.sync_lips(engine, tmp_path / "store", series, shot, None, filmed, line, "a" * 64, 0.25)
    assert again.reused and len(server.creations("lip-sync")) == 1


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (401, 1004, remote.NotAuthorised),  # the token expired
    (429, 1102, remote.OutOfCredit),  # Kling's own word for a depleted resource pack
    (402, None, remote.OutOfCredit),
    (403, 1103, remote.StopRender),  # no access to the model
    (429, 1303, remote.ProviderBusy),  # tasks in flight over the pack's limit
    (429, 1302, remote.ProviderBusy),  # requests too fast
    (503, 5001, remote.ProviderBusy),  # maintenance
    (400, 1301, remote.Refused),  # content security
    (400, 1201, remote.Refused),  # a parameter Kling will not take
])
def test_klings_error_codes_become_what_the_render_does_about_them(status: int, code: int | None,
                                                                   outcome: type) -> None:
    import httpx

    error = kling._error(httpx.Response(status, headers={"retry-after": "3"}), code, "as Kling says it")
    assert type(error) is outcome
    assert "as Kling says it" in str(error) and f"HTTP {status}" in str(error)
    if outcome is remote.ProviderBusy:
        assert error.retry_after == 3.0
