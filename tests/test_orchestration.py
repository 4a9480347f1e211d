"""Orchestration at studio scale, on the real flow and real processes: a render killed in the middle of a shot
resumes without redoing finished work or leaving half-written files and rows behind; takes wait for the GPU while
lines are recorded beside them, and the run is published to Prefect's UI; schedules in series.yaml become served
deployments; two Dask workers share an episode. (Which tasks a re-render runs is in test_pipeline.) Prefect calls
that pick sync or async by the thread's event loop get `_sync=True`: the browser tests leave Playwright's loop
running in the main thread."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import fresh_database_url
from sqlalchemy import select

from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.store import assets
from builders import TINY_SCRIPT, series_folder
from episode import one_scene_copy, planned_shots, small_copy
from processes import ctrl_c_reaches, interrupt
from test_pipeline import states, task_runs


@pytest.fixture
def project(tmp_path: Path, prefect: None) -> Iterator[dict]:
    """A small copy of the example series (s01e02's first scene), its own database, and the session's Prefect
    server for subprocesses."""
    from prefect.settings import PREFECT_API_URL

    database_url = fresh_database_url(tmp_path / "home")
    env = {**os.environ, "AIGMS_DATABASE_URL": database_url, "PREFECT_API_URL": PREFECT_API_URL.value(),
           "AIGMS_WHISPER": "none"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        patch.setenv("AIGMS_WHISPER", "none")
        yield {"series": one_scene_copy(tmp_path / "series"), "tiny": tmp_path / "tiny", "home": tmp_path / "home",
               "out": tmp_path / "out", "database": database_url, "env": env}


def render_command(project: dict) -> list[str]:
    return [sys.executable, "-m", "aigms", "render", str(project["series"] / "episodes" / "s01e02.fountain"),
            "--force", "--home", str(project["home"]), "--out", str(project["out"])]


def takes_by_status(database_url: str) -> dict[str, list[models.Take]]:
    with session_scope(open_database(database_url)) as session:
        takes: dict[str, list[models.Take]] = {}
        for take in session.scalars(select(models.Take).order_by(models.Take.id)):
            takes.setdefault(take.status, []).append(take)
        return takes


def shot_statuses(database_url: str, row_ids: set[int] | None = None) -> set[str]:
    with session_scope(open_database(database_url)) as session:
        shots = session.scalars(select(models.Shot)).all()
        return {shot.status for shot in shots if row_ids is None or shot.id in row_ids}


def kill_while_filming(project: dict) -> list[models.Take]:
    """Start `aigms render`, and SIGKILL it (with its ffmpeg children) once a shot is being filmed after another
    was finished; returns the takes finished by then."""
    process = subprocess.Popen(render_command(project), env=project["env"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        while process.poll() is None:
            takes = takes_by_status(project["database"]) if (project["home"] / "store").exists() else {}
            if takes.get(models.TAKE_OK) and takes.get(models.TAKE_RUNNING):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return takes_by_status(project["database"])[models.TAKE_OK]
            time.sleep(0.05)
        pytest.fail(f"the render ended (status {process.returncode}) before it could be killed mid-shot: "
                    f"{process.stderr.read().decode()[-2000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stderr.close()


def test_a_render_killed_mid_shot_resumes_without_redoing_finished_work(project: dict) -> None:
    finished = kill_while_filming(project)
    running = takes_by_status(project["database"])[models.TAKE_RUNNING]
    assert running
    assert shot_statuses(project["database"], {take.shot_id for take in running}) == {models.STATUS_WIP}

    resumed = subprocess.run(render_command(project), env=project["env"], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    takes = takes_by_status(project["database"])
    assert set(takes) == {models.TAKE_OK}
    shots = len(planned_shots(project["series"]))
    assert len(takes[models.TAKE_OK]) == shots
    kept = {take.id: (take.recipe_sha256, take.asset_id, take.created_at) for take in takes[models.TAKE_OK]}
    assert all(kept[take.id] == (take.recipe_sha256, take.asset_id, take.created_at) for take in finished)
    with session_scope(open_database(project["database"])) as session:
        runs = session.scalars(select(models.RenderRun).order_by(models.RenderRun.id)).all()
        assert [(run.status, run.message) for run in runs] == [
            (models.RUN_FAILED, "interrupted; a later render resumed its work"), (models.RUN_COMPLETED, None)]
        assert (runs[1].shots_reused, runs[1].shots_rendered) == (len(finished), shots - len(finished))
        rows = session.scalars(select(models.Asset)).all()
    assert shot_statuses(project["database"]) == {models.STATUS_WAITING}
    store = project["home"] / "store"
    assert all(assets.sha256_file(store / row.path) == row.sha256 for row in rows)
    on_disk = {path.relative_to(store).as_posix() for path in store.rglob("*") if path.is_file()
               and not path.is_relative_to(assets.derived_dir(store, ""))}
    assert on_disk == {row.path for row in rows}
    delivered = project["out"] / "bronze-echoes" / "s01e02"
    assert sorted(path.name for path in delivered.iterdir() if path.name.startswith(".")) == []


@pytest.fixture(scope="module")
def on_one_gpu(tmp_path_factory: pytest.TempPathFactory, prefect: None) -> dict:
    """The episode's first scene rendered with Prefect holding the `generate` tag to one run at a time, as on a
    one-GPU machine."""
    from prefect.client.orchestration import get_client

    from aigms.flows.episode import render_episode

    root = tmp_path_factory.mktemp("gpu")
    with get_client(sync_client=True) as client, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", fresh_database_url(root / "home"))
        patch.setenv("AIGMS_WHISPER", "none")
        client.create_concurrency_limit(tag="generate", concurrency_limit=1)
        try:
            series = one_scene_copy(root / "series")
            state = render_episode(str(series), "s01e02", str(root / "out"), str(root / "home"), force=True,
                                   return_state=True)
        finally:
            client.delete_concurrency_limit_by_tag("generate")
    shots = planned_shots(series)
    lines = sum(shot.kind == "dialogue" for shot in shots)
    return {"state": state, "shots": shots, "lines": lines,
            "runs": task_runs(state.state_details.flow_run_id, 1 + 3 * len(shots) + lines + 2 + 1 + 1)}


def test_no_two_takes_are_filmed_at_once_on_one_gpu_and_lines_do_not_queue_behind_them(on_one_gpu: dict) -> None:
    assert on_one_gpu["state"].is_completed()
    runs, shots, lines = on_one_gpu["runs"], len(on_one_gpu["shots"]), on_one_gpu["lines"]
    assert (shots, lines) == (6, 3)
    assert states(runs) == {"plan_episode": ["Completed"], "film_shot": ["Completed"] * shots,
                            "film_take": ["Completed"] * shots, "check_take": ["Completed"] * shots,
                            "record_line": ["Completed"] * lines, "mix_sound": ["Completed"],
                            "hear_dialogue": ["Completed"], "check_across_shots": ["Completed"],
                            "cut_episode": ["Completed"]}
    filmed = sorted((run.start_time, run.end_time) for run in runs if run.name.startswith("film_take"))
    recorded = [(run.start_time, run.end_time) for run in runs if run.name.startswith("record_line")]
    assert len(filmed) == shots and all(end <= start for (_, end), (start, _) in zip(filmed, filmed[1:]))
    assert len(recorded) == lines and max(end for _, end in recorded) < filmed[-1][0]


def test_an_episode_run_publishes_its_shots_and_its_file_to_the_prefect_ui(on_one_gpu: dict) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    state = on_one_gpu["state"]
    with get_client(sync_client=True) as client:
        artifacts = {artifact.key: artifact for artifact in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))}
    shots = json.loads(artifacts["bronze-echoes-s01e02-shots"].data)
    assert [row["shot"] for row in shots] == [shot.id for shot in on_one_gpu["shots"]]
    assert {(row["status"], row["generator"]) for row in shots} == {("filmed", "animatic")}
    assert state.result(_sync=True).video.resolve().as_uri() in artifacts["bronze-echoes-s01e02-episode"].data


def test_aigms_serve_runs_the_schedules_of_series_yaml_as_prefect_deployments(project: dict) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    series = series_folder(project["tiny"], {"e1": TINY_SCRIPT})
    bible = series / "series.yaml"
    schedule = '  - {name: nightly, cron: "0 2 * * *", timezone: Asia/Shanghai}\n'
    bible.write_text(bible.read_text().replace("schedules: []\n", "schedules:\n" + schedule))
    approve = CliRunner().invoke(app, ["shots", "approve", str(series / "episodes" / "e1.fountain"), "--home",
                                       str(project["home"])])
    assert approve.exit_code == 0, approve.output
    server = subprocess.Popen([sys.executable, "-m", "aigms", "serve", str(series), "--out",
                               str(project["out"]), "--home", str(project["home"])],
                              env={**project["env"], "PREFECT_RUNNER_POLL_FREQUENCY": "1"},
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True, preexec_fn=ctrl_c_reaches)
    try:
        with get_client(sync_client=True) as client:
            for _ in range(1200):
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                try:
                    deployment = client.read_deployment_by_name("render-series/tiny-nightly")
                    break
                except Exception:
                    time.sleep(0.1)
        assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [("0 2 * * *",
                                                                                           "Asia/Shanghai")]
        run = run_deployment("render-series/tiny-nightly", timeout=600, poll_interval=0.5, _sync=True)
        assert run.state.is_completed(), run.state
    finally:
        interrupt("aigms serve", server)
    delivered = project["out"] / "tiny"
    assert sorted(path.name for path in delivered.iterdir()) == ["e1"]
    assert (delivered / "e1" / "episode.mp4").is_file()


def test_two_workers_on_a_local_dask_cluster_render_an_episode_together(project: dict) -> None:
    from distributed import Client, LocalCluster, get_task_stream
    from prefect_dask import DaskTaskRunner

    from aigms.flows.episode import render_episode

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, get_task_stream(client) as stream:
        on_dask = render_episode.with_options(task_runner=DaskTaskRunner(address=cluster.scheduler_address))
        series = series_folder(project["tiny"], {"e1": TINY_SCRIPT})
        result = on_dask(str(series), "e1", str(project["out"]), str(project["home"]), force=True)
    assert (result.shots, result.rendered) == (3, 3)
    assert len({task["worker"] for task in stream.data}) == 2
    with session_scope(open_database(project["database"])) as session:
        takes = session.scalars(select(models.Take)).all()
        assert sorted(take.status for take in takes) == [models.TAKE_OK] * 3


@pytest.mark.parametrize("schedule, problem", [
    ('{name: nightly, cron: "61 2 * * *"}', "schedule 'nightly': Invalid cron string"),
    ('{name: nightly, cron: "0 2 * * *", timezone: Mars/Olympus}', "unknown time zone 'Mars/Olympus'"),
    ('{name: nightly, cron: "0 2 * * *", episodes: [s09e01]}', "names episodes not in the series: s09e01"),
])
def test_a_bad_schedule_is_refused_naming_series_yaml(tmp_path: Path, schedule: str, problem: str) -> None:
    from aigms.flows.schedules import deployments
    from aigms.schemas.errors import InputError

    series = small_copy(tmp_path / "series")
    (series / "series.yaml").write_text((series / "series.yaml").read_text() + f"schedules:\n  - {schedule}\n")
    with pytest.raises(InputError, match="series.yaml") as refused:
        deployments(series, tmp_path / "out", tmp_path / "home")
    assert problem in str(refused.value)
