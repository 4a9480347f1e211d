"""A render farm through Prefect work pools, as a studio runs one: `aigms serve --pool` registers the schedules of
series.yaml on a process pool, two real `prefect worker` processes (one per GPU machine, one run at a time each)
take the runs and render two episodes side by side into the shared database and store."""

import os
import subprocess
import sys
import time
from pathlib import Path

from databases import fresh_database_url
from sqlalchemy import select
from click.testing import Result
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from builders import TINY_SCRIPT, series_folder
from processes import ctrl_c_reaches, interrupt

POOL = "gpu-farm"


def test_two_workers_of_a_work_pool_render_two_episodes_side_by_side(tmp_path: Path, prefect: None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import WorkerStatus
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    other = "Title: Tiny\n\nINT. LAB - DAY\n\nKai sweeps the floor.\n\nKAI\nNobody came back.\n"
    series = series_folder(tmp_path / "series", {"e1": TINY_SCRIPT, "e2": other})
    home, out = tmp_path / "home", tmp_path / "out"
    bible = series / "series.yaml"
    bible.write_text(bible.read_text().replace("schedules: []\n", "schedules:\n"
                     "  - {name: first, cron: \"0 2 * * *\", episodes: [e1]}\n"
                     "  - {name: second, cron: \"0 3 * * *\", episodes: [e2]}\n"))
    env = {**os.environ, "AIGMS_DATABASE_URL": fresh_database_url(home), "AIGMS_WHISPER": "none",
           "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_WORKER_QUERY_SECONDS": "1", "COLUMNS": "200"}

    def aigms(*arguments: str) -> Result:
        return CliRunner().invoke(app, list(arguments), env=env)

    for episode in ("e1", "e2"):
        approved = aigms("shots", "approve", str(series / "episodes" / f"{episode}.fountain"), "--home", str(home))
        assert approved.exit_code == 0, approved.output
    registered = aigms("serve", str(series), "--out", str(out), "--home", str(home), "--pool", POOL)
    assert registered.exit_code == 0, registered.output
    assert f"prefect worker start --pool {POOL}" in registered.stdout

    workers = [subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--limit", "1",
                                 "--name", f"gpu-{n}"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True, preexec_fn=ctrl_c_reaches)
               for n in (1, 2)]
    try:
        with get_client(sync_client=True) as client:
            for _ in range(600):  # both machines up before the work is handed out, or the first may take both runs
                online = {worker.name for worker in client.read_workers_for_work_pool(POOL)
                          if worker.status == WorkerStatus.ONLINE}
                if online == {"gpu-1", "gpu-2"}:
                    break
                assert all(worker.poll() is None for worker in workers), workers[0].stderr.read().decode()[-3000:]
                time.sleep(0.2)
            else:
                raise AssertionError(f"after 2 minutes the workers online are {sorted(online)}")
            started = [run_deployment(f"render-series/tiny-{name}", timeout=0, _sync=True)
                       for name in ("first", "second")]
            for _ in range(3000):
                runs = [client.read_flow_run(run.id) for run in started]
                if all(run.state.is_final() for run in runs):
                    break
                assert all(worker.poll() is None for worker in workers), workers[0].stderr.read().decode()[-3000:]
                time.sleep(0.2)
    finally:
        interrupt("prefect worker", *workers)

    assert [run.state.name for run in runs] == ["Completed", "Completed"], [run.state.message for run in runs]
    assert {run.work_pool_name for run in runs} == {POOL}
    (first, second) = sorted((run.start_time, run.end_time) for run in runs)
    assert second[0] < first[1], "each worker takes one run at a time, so two at once means two workers"
    for episode in ("e1", "e2"):
        assert (out / "tiny" / episode / "episode.mp4").is_file()
    with session_scope(open_database(env["AIGMS_DATABASE_URL"])) as session:
        done = session.scalars(select(models.RenderRun.status)).all()
    assert done == [models.RUN_COMPLETED, models.RUN_COMPLETED]
