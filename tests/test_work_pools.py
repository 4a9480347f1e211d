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

from aigms.db import models
from aigms.db.session import open_database, session_scope
from processes import interrupt
from test_pipeline import small_copy

POOL = "gpu-farm"


def test_two_workers_of_a_work_pool_render_two_episodes_side_by_side(tmp_path: Path, prefect: None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    series, home, out = small_copy(tmp_path / "series"), tmp_path / "home", tmp_path / "out"
    bible = series / "series.yaml"
    bible.write_text(bible.read_text() + "schedules:\n"
                     "  - {name: first, cron: \"0 2 * * *\", episodes: [s01e01]}\n"
                     "  - {name: second, cron: \"0 3 * * *\", episodes: [s01e02]}\n")
    env = {**os.environ, "AIGMS_DATABASE_URL": fresh_database_url(home), "AIGMS_WHISPER": "none",
           "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_WORKER_QUERY_SECONDS": "1"}

    def aigms(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "aigms", *arguments], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300)

    for episode in ("s01e01", "s01e02"):
        approved = aigms("shots", "approve", str(series / "episodes" / f"{episode}.fountain"), "--home", str(home))
        assert approved.returncode == 0, approved.stderr
    registered = aigms("serve", str(series), "--out", str(out), "--home", str(home), "--pool", POOL)
    assert registered.returncode == 0, registered.stderr
    assert f"prefect worker start --pool {POOL}" in registered.stdout

    workers = [subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--limit", "1",
                                 "--name", f"gpu-{n}"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True) for n in (1, 2)]
    try:
        started = [run_deployment(f"render-series/bronze-echoes-{name}", timeout=0, _sync=True)
                   for name in ("first", "second")]
        with get_client(sync_client=True) as client:
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
    for episode in ("s01e01", "s01e02"):
        assert (out / "bronze-echoes" / episode / "episode.mp4").is_file()
    with session_scope(open_database(env["AIGMS_DATABASE_URL"])) as session:
        done = session.scalars(select(models.RenderRun.status)).all()
    assert done == [models.RUN_COMPLETED, models.RUN_COMPLETED]
