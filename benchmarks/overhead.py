"""The pipeline's own overhead per shot: everything a render spends outside the generator (parsing, planning,
database, hashing, voice, edit, subtitles, delivery), beside the generator's own time measured in the same run.

Run: `.venv/bin/python benchmarks/overhead.py` (renders the example series at its delivery size, twice: cold,
then warm where every take is reused)."""

import os
import shutil
import tempfile
import time
from pathlib import Path

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import func, select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.flows.episode import render_episode
from aigms.production.bible import load_series

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"


@flow
def warm_up() -> None:
    """Starting Prefect's temporary server is paid once per process; it is reported, not counted per shot."""


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        os.environ.setdefault("PREFECT_HOME", str(Path(scratch) / "prefect"))
        started = time.perf_counter()
        warm_up()
        prefect_start = time.perf_counter() - started
        series_dir = Path(shutil.copytree(EXAMPLE, Path(scratch) / "series"))
        home, out = Path(scratch) / "home", Path(scratch) / "out"
        episodes = [episode.id for episode in load_series(series_dir).episodes]
        serial = render_episode.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
        timings = {}
        for label in ("cold", "warm"):
            started = time.perf_counter()
            shots = sum(serial(str(series_dir), episode, str(out), str(home)).shots for episode in episodes)
            timings[label] = time.perf_counter() - started
        with session_scope(open_database(f"sqlite:///{home}/aigms.db")) as session:
            generator = session.scalar(select(func.sum(models.Take.render_seconds)))
    overhead = timings["cold"] - generator
    print(f"example series: {len(episodes)} episodes, {shots} shots, delivery 1920x1080 at 30 fps")
    print(f"prefect temporary server start (once per process): {prefect_start:.1f} s")
    print(f"cold render: {timings['cold']:.1f} s total, generator {generator:.1f} s, pipeline {overhead:.1f} s")
    print(f"pipeline overhead per shot: {1000 * overhead / shots:.0f} ms ({overhead / timings['cold']:.1%} of the render)")
    print(f"warm render (every take reused): {timings['warm']:.1f} s, {1000 * timings['warm'] / shots:.0f} ms per shot"
          f" ({timings['warm'] / timings['cold']:.2f}x the cold render)")


if __name__ == "__main__":
    main()
