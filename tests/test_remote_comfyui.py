"""Filming on a studio's ComfyUI, against a local server that follows ComfyUI's own routes and messages
(`comfyui_server.py`, built from comfyanonymous/ComfyUI's `server.py` and `execution.py`): the studio's workflow bound
by node title, a whole example episode with a three-segment chain (each segment from the last frame of the one
before), progress from the websocket, a render killed mid-prompt that finds its prompt again, cancelling, and a
workflow, a server or a download that is wrong refused with a clear line and nothing half-written."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import fresh_database_url
from sqlalchemy import func, select
from typer.testing import CliRunner

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.generate import remote
from aigms.production.generate.generators import comfyui
from aigms.production.generate.takes import render_shot
from aigms.production.store.media import probe
from aigms.schemas.errors import InputError
from aigms.schemas.manifest import Manifest
from aigms.schemas.series import GeneratorSettings
from aigms.schemas.shotlist import Segment, Shot
from builders import tiny_series
from comfyui_server import ComfyServer, wan_workflow
from remote_servers import example_on, levels, serve

# The durable job on PostgreSQL too (`make test` runs these again there): resuming, re-attaching, cancelling.
DATABASE = pytest.mark.database

TESTS = Path(__file__).resolve().parent
FAST = {"AIGMS_REMOTE_POLL": "0.02:0.1", "AIGMS_REMOTE_BACKOFF": "0.02:0.1", "AIGMS_WHISPER": "none"}
SIZE = {"width": "41.width", "height": "41.height"}  # the Wan template's size is on WanImageToVideo: mapped


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ComfyServer]:
    comfy = ComfyServer(tmp_path / "comfyui")
    with serve(comfy.app()) as url, pytest.MonkeyPatch.context() as patch:
        comfy.url = url
        for key, value in FAST.items():
            patch.setenv(key, value)
        yield comfy
    comfy.stop()


def series_on(root: Path, url: str, graph: dict | None = None, **options: object):
    series = tiny_series(root / "series", 160, 90)
    series.qc.enabled = False
    (series.root / "workflows").mkdir(exist_ok=True)
    (series.root / "workflows" / "wan.json").write_text(json.dumps(graph or wan_workflow(), indent=1))
    series.generator = GeneratorSettings(backend="comfyui:workflows/wan.json", seed=3, options={
        "server": url, "bindings": SIZE, "frame_step": 4, "retries": 0, **options})
    return series


def chain_shot(seconds: float = 14.0) -> Shot:
    cut = [(0.0, 5.0), (5.0, 5.0), (10.0, seconds - 10.0)] if seconds > 10 else [(0.0, seconds)]
    return Shot(id="010", scene=1, kind="action", size="WS", text="The bronze tree glows.", duration=seconds,
                location="lab", segments=[Segment(index=k, start=start, duration=length, mode="i2v" if k == 0 else
                                                  "extend", prompt=f"part {k + 1} of the tree")
                                          for k, (start, length) in enumerate(cut)])


def nothing_half_written(store: Path) -> bool:
    scratch = store / "tmp"
    return not scratch.exists() or not [path for path in scratch.rglob("*") if path.is_file()]


# A whole episode


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory, prefect: None) -> Iterator[dict]:
    """The example's second episode filmed on ComfyUI with the Wan template, a prompt taking 0.2 s."""
    from aigms.flows.episode import render_episode

    root = tmp_path_factory.mktemp("comfyui-episode")
    comfy = ComfyServer(root / "comfyui", seconds=0.2)
    database_url = fresh_database_url(root / "home")
    events: list[remote.Progress] = []
    with serve(comfy.app()) as url, pytest.MonkeyPatch.context() as patch, remote.reporting(events.append):
        comfy.url = url
        generator = (f"  backend: comfyui:workflows/wan.json\n  seed: 7\n  options:\n    server: {url}\n"
                     "    frame_step: 4\n    bindings: {width: \"41.width\", height: \"41.height\"}")
        series = example_on(root / "series", generator, "qc:\n  enabled: false\n")
        (series / "workflows").mkdir()
        (series / "workflows" / "wan.json").write_text(json.dumps(wan_workflow(), indent=1))
        for key, value in {**FAST, "AIGMS_DATABASE_URL": database_url}.items():
            patch.setenv(key, value)
        result = render_episode(str(series), "s01e02", str(root / "out"), str(root / "home"), force=True)
        yield {"result": result, "server": comfy, "database": database_url, "home": root / "home",
               "series": series, "events": events}
    comfy.stop()


def test_an_example_episode_is_filmed_on_comfyui(episode: dict) -> None:
    result = episode["result"]
    manifest = Manifest.model_validate_json(result.manifest.read_text())
    assert abs(probe(result.video).duration - manifest.duration) <= 0.1
    with session_scope(open_database(episode["database"])) as session:
        takes = session.scalars(select(models.Take).where(models.Take.kind == models.TAKE_CLIP)).all()
        assert {(take.status, take.generator) for take in takes} == {(models.TAKE_OK, "comfyui:workflows/wan.json")}
        calls = session.scalars(select(models.ModelCall)).all()
    assert len(calls) == len(episode["server"].submissions()) == len(episode["server"].history)
    assert {(call.state, call.provider, call.device) for call in calls} == {
        (models.CALL_SUCCEEDED, "comfyui", "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync")}
    assert all(call.device_seconds is not None and call.device_seconds >= 0 for call in calls)


def test_the_long_shot_is_three_prompts_each_from_the_last_frame_before_it(episode: dict) -> None:
    server = episode["server"]
    manifest = Manifest.model_validate_json(episode["result"].manifest.read_text())
    long_shot = next(shot for shot in manifest.shots if shot.duration == 14.0)
    graphs = [server.prompts[call.task_id].graph for call in long_shot.calls]
    assert len(graphs) == 3
    images = [graph["52"]["inputs"]["image"] for graph in graphs]
    assert len(set(images)) == 3 and all((server.folder / "input" / image).is_file() for image in images)
    assert [graph["60"]["inputs"]["value"] for graph in graphs] == [
        segment.prompt for segment in _segments(episode, long_shot.id)]
    assert all((graph["61"]["inputs"]["value"] - 1) % 4 == 0 for graph in graphs)  # Wan's 4k + 1 frames
    assert [graph["41"]["inputs"]["width"] for graph in graphs] == [160] * 3
    with session_scope(open_database(episode["database"])) as session:
        take = session.scalar(select(models.Take).where(models.Take.recipe_sha256 == long_shot.take))
        clip = episode["home"] / "store" / take.asset.path
        workflow = (episode["series"] / "workflows" / "wan.json").read_bytes()
        assert take.recipe["generator"]["files"] == {"model": hashlib.sha256(workflow).hexdigest()}
        assert "server" not in take.recipe["options"], "moving the server films nothing again"
    seconds = levels(clip, 30)
    assert len(set(seconds[:4])) == len(set(seconds[6:9])) == len(set(seconds[11:])) == 1
    assert seconds[0] != seconds[7] != seconds[12] != seconds[0]


def _segments(episode: dict, shot_id: str) -> list[Segment]:
    from aigms.production.storyboard.ingest import load_shotlist

    with session_scope(open_database(episode["database"])) as session:
        row = session.scalar(select(models.Episode).where(models.Episode.code == "s01e02"))
        return next(shot for shot in load_shotlist(session, row).shots if shot.id == shot_id).segments


def test_progress_comes_from_the_websocket_node_and_step(episode: dict) -> None:
    steps = [(event.node, event.step, event.steps) for event in episode["events"] if event.steps]
    assert ("3", 4, 4) in steps and ("3", 1, 4) in steps
    assert {event.provider for event in episode["events"]} == {"comfyui"}


# Shot by shot


def test_a_workflow_without_its_bindings_is_refused_before_any_call(server: ComfyServer, tmp_path: Path,
                                                                    prefect: None) -> None:
    from aigms.cli import app

    generator = f"  backend: comfyui:workflows/wan.json\n  options:\n    server: {server.url}"
    series = example_on(tmp_path / "series", generator)
    (series / "workflows").mkdir()
    (series / "workflows" / "wan.json").write_text(json.dumps(wan_workflow(titled=False)))
    done = CliRunner().invoke(app, ["render", str(series / "episodes" / "s01e02.fountain"), "--force", "--home",
                                    str(tmp_path / "home"), "--out", str(tmp_path / "out")],
                              env={"AIGMS_DATABASE_URL": fresh_database_url(tmp_path / "home")})
    assert done.exit_code == 1
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: {series / 'workflows' / 'wan.json'}: no node titled aigms.prompt and aigms.output")
    assert '60 PrimitiveStringMultiline "Prompt"' in line and '9 SaveVideo "Save Video"' in line
    assert "generator.options.bindings" in line
    assert server.requests == []


def test_a_ui_format_workflow_and_a_map_to_no_node_are_refused_with_the_fix(tmp_path: Path) -> None:
    ui = tmp_path / "ui.json"
    ui.write_text(json.dumps({"nodes": [{"id": 3, "type": "KSampler"}], "links": []}))
    with pytest.raises(InputError, match="not a workflow in ComfyUI's API format.*Export \\(API\\)"):
        comfyui.check(str(ui), {})
    api = tmp_path / "api.json"
    api.write_text(json.dumps(wan_workflow()))
    with pytest.raises(InputError, match="options.bindings.frames: '40.length' names no node input"):
        comfyui.check(str(api), {"bindings": {"frames": "40.length"}})


def test_what_a_workflow_can_film_is_read_from_its_bindings(tmp_path: Path) -> None:
    image, text = tmp_path / "i2v.json", tmp_path / "t2v.json"
    image.write_text(json.dumps(wan_workflow()))
    text.write_text(json.dumps(wan_workflow(image=False)))
    i2v = comfyui.capabilities(str(image), {"bindings": SIZE, "frame_step": 4, "size": [832, 480]})
    t2v = comfyui.capabilities(str(text), {"fps": 16})
    assert (i2v.modes, i2v.first_frame, i2v.fps, i2v.frame_step, i2v.size) == (
        frozenset({"i2v"}), True, None, 4, (832, 480))
    assert (t2v.modes, t2v.first_frame, t2v.size) == (frozenset({"t2v"}), False, None)


def test_an_unreachable_server_stops_with_a_clear_error(tmp_path: Path, database_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    series = series_on(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(remote.Unreachable, match="cannot reach ComfyUI at http://127.0.0.1:9.*options.server"):
        render_shot(open_database(database_url), tmp_path / "store", series, chain_shot(5.0), None)
    assert nothing_half_written(tmp_path / "store")


def test_a_download_cut_short_writes_nothing_and_the_next_render_fetches_it_without_queueing_again(
        server: ComfyServer, tmp_path: Path, database_url: str) -> None:
    server.cut_downloads = 1
    series = series_on(tmp_path, server.url)
    result = render_shot(open_database(database_url), tmp_path / "store", series, chain_shot(5.0), None)
    assert any("cut short" in failure for failure in result.failures)
    assert nothing_half_written(tmp_path / "store")
    again = render_shot(open_database(database_url), tmp_path / "store", series, chain_shot(5.0), None)
    assert again.selected.generator == "comfyui:workflows/wan.json"
    assert len(server.submissions()) == 1


def test_a_failing_node_fails_the_take_with_its_reason_and_another_seed_is_tried(server: ComfyServer,
                                                                                 tmp_path: Path,
                                                                                 database_url: str) -> None:
    server.steps_fail = "CUDA out of memory"
    series = series_on(tmp_path, server.url, retries=1)
    result = render_shot(open_database(database_url), tmp_path / "store", series, chain_shot(5.0), None)
    assert sum("node 3 (KSampler): CUDA out of memory" in failure for failure in result.failures) == 2
    seeds = {request["json"]["prompt"]["3"]["inputs"]["seed"] for request in server.submissions()}
    assert len(seeds) == 2


def test_a_video_helper_suite_output_is_read_from_its_gifs(server: ComfyServer, tmp_path: Path,
                                                           database_url: str) -> None:
    series = series_on(tmp_path, server.url, wan_workflow(output="VHS_VideoCombine"))
    result = render_shot(open_database(database_url), tmp_path / "store", series, chain_shot(5.0), None)
    assert result.failures == [] and result.selected.generator == "comfyui:workflows/wan.json"
    assert "gifs" in next(iter(server.history.values()))["outputs"]["9"]


@DATABASE
def test_a_running_prompt_is_cancelled_with_aigms_jobs_cancel(server: ComfyServer, tmp_path: Path,
                                                              database_url: str) -> None:
    from aigms.cli import app

    server.seconds = 30.0
    series = series_on(tmp_path, server.url)
    engine = open_database(database_url)  # migrated here: two threads' first opens would race in Alembic
    outcome: dict = {}
    filming = threading.Thread(target=lambda: outcome.update(result=render_shot(
        engine, tmp_path / "store", series, chain_shot(5.0), None)))
    filming.start()
    job = None
    while job is None:
        with session_scope(open_database(database_url)) as session:
            job = session.scalar(select(models.ModelCall.id).where(models.ModelCall.state == models.CALL_RUNNING))
        time.sleep(0.02)
    listed = CliRunner().invoke(app, ["jobs"], env={"AIGMS_DATABASE_URL": database_url})
    row = next(line for line in listed.stdout.splitlines() if line.strip("│ ").startswith(str(job)))
    assert "comfyui" in row and "running" in row
    cancelled = CliRunner().invoke(app, ["jobs", "cancel", str(job)], env={"AIGMS_DATABASE_URL": database_url})
    assert cancelled.exit_code == 0, cancelled.output
    filming.join(timeout=60)
    assert any(request["path"] == "/interrupt" for request in server.requests)
    assert any("cancelled" in failure for failure in outcome["result"].failures)
    with session_scope(open_database(database_url)) as session:
        job_row = session.scalars(select(models.ModelCall).where(models.ModelCall.provider.is_not(None))).one()
        assert job_row.state == models.CALL_CANCELLED  # the animatic standing in has a ledger row of its own


# Kill and resume

FILM = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_remote_comfyui import chain_shot, series_on
from aigms.db.session import open_database
from aigms.production.generate.takes import render_shot

root = Path({root!r})
result = render_shot(open_database({database!r}), root / "store", series_on(root, {url!r}), chain_shot(), None)
print(result.selected.clip)
"""


def test_a_render_killed_mid_prompt_finds_its_prompt_again(server: ComfyServer, tmp_path: Path) -> None:
    database_url = fresh_database_url(tmp_path)
    script = FILM.format(tests=str(TESTS), root=str(tmp_path), database=database_url, url=server.url)
    server.seconds = 2.0
    killed = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        while len(server.submissions()) < 2 or server._running is None:
            assert killed.poll() is None, killed.stderr.read()
            time.sleep(0.02)
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        killed.wait()
        killed.stdout.close()
        killed.stderr.close()
    running = server._running.id
    server.seconds = 0.0
    resumed = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    submitted = [request["json"]["prompt_id"] for request in server.submissions()]
    assert len(submitted) == len(set(submitted)) == 3
    assert any(request["path"] == f"/history/{running}" and request["at"] > server.submissions()[1]["at"]
               for request in server.requests)
    assert len(levels(Path(resumed.stdout.strip()), 24)) == 14
    with session_scope(open_database(database_url)) as session:
        assert session.scalar(select(func.count()).select_from(models.ModelCall)) == 3
    assert nothing_half_written(tmp_path / "store")
