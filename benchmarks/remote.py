"""The orchestrator's own cost per remote segment — claim the job in the ledger, submit, poll, download into the
asset store, fit and conform the clip, record the take — against a Kling API and a ComfyUI server (the tests' own,
on 127.0.0.1) that answer at once, so every millisecond measured is ours. Beside it, the same shots filmed by the
`animatic` previs in the same run (the baseline), and the HTTP requests each segment cost.

Kling is polled at once (its task is already done); ComfyUI runs on the production schedule, its websocket waking
the job loop when the prompt ends (the prompt itself, a grey clip copied, takes the test server milliseconds).

A second part runs one Kling task that takes `--task-seconds` with the production polling schedule (first poll
after 2 s, each wait half as long again, at most 15 s) and counts its requests per second, then prints what the
same schedule costs for tasks of a minute and of five (Kling's usual), where the goal is well under one request a
second.

    .venv/bin/python benchmarks/remote.py [--shots 8] [--task-seconds 8]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from builders import tiny_series  # noqa: E402
from comfyui_server import ComfyServer, wan_workflow  # noqa: E402
from kling_server import ACCESS_KEY, SECRET_KEY, KlingServer  # noqa: E402
from remote_servers import serve  # noqa: E402

from aigms.db.session import open_database  # noqa: E402
from aigms.production.generate import remote  # noqa: E402
from aigms.production.generate.takes import render_shot  # noqa: E402
from aigms.schemas.series import GeneratorSettings  # noqa: E402
from aigms.schemas.shotlist import Shot  # noqa: E402

console = Console()


def film(root: Path, backend: str, options: dict, shots: int) -> list[float]:
    """Seconds per shot (one 5 s segment each) through `render_shot`, on a fresh database and store; the ledger
    keeps each remote job's own wall time (sent → downloaded into the store)."""
    import json

    series = tiny_series(root / "series", 160, 90)
    series.qc.enabled = False
    (series.root / "workflows").mkdir(exist_ok=True)
    (series.root / "workflows" / "wan.json").write_text(json.dumps(wan_workflow()))
    series.generator = GeneratorSettings(backend=backend, seed=1, options={"retries": 0, **options})
    engine = open_database(f"sqlite:///{root / 'aigms.db'}")
    timings = []
    for number in range(shots):
        shot = Shot(id=f"{10 * (number + 1):03d}", scene=1, kind="action", size="WS", duration=5.0,
                    text=f"The bronze mask turns, take {number}.", location="lab")
        started = time.perf_counter()
        result = render_shot(engine, root / "store", series, shot, None)
        timings.append(time.perf_counter() - started)
        if result.failures:
            raise RuntimeError(result.failures)
    return timings


def job_seconds(root: Path) -> float:
    """The median wall time of the remote jobs filmed under `root`: from the request sent to the video in the store
    and the job closed, as the ledger recorded it."""
    from sqlalchemy import select

    from aigms.db import models
    from aigms.db.session import session_scope

    with session_scope(open_database(f"sqlite:///{root / 'aigms.db'}")) as session:
        return statistics.median(session.scalars(select(models.ModelCall.wall_seconds)))


def polling(task_seconds: float) -> tuple[int, float]:
    """Requests one Kling task of `task_seconds` costs with the production schedule, and its poll rate."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        account = KlingServer(root / "kling", seconds=task_seconds)
        with serve(account.app()) as url:
            account.url = url
            os.environ.update(KLING_API_BASE=url)
            for variable in (remote.POLL_ENV, remote.BACKOFF_ENV):
                os.environ.pop(variable, None)
            film(root, "kling:kling-v1-6", {}, 1)
        asked = [request for request in account.requests if "/v1/videos/" in request["path"]]
        polls = [request for request in asked if request["method"] == "GET"]
        return len(asked), len(polls) / task_seconds


def schedule_rate(seconds: float, timing: remote.Timing) -> float:
    """Polls per second the schedule makes over a task of `seconds` (computed, not waited for)."""
    polls, elapsed, interval = 0, 0.0, timing.poll
    while elapsed < seconds:
        elapsed += interval
        polls += 1
        interval = min(interval * 1.5, timing.poll_max)
    return polls / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--task-seconds", type=float, default=8.0)
    arguments = parser.parse_args()
    os.environ.update({"KLING_ACCESS_KEY": ACCESS_KEY, "KLING_SECRET_KEY": SECRET_KEY,
                       remote.POLL_ENV: "0.001:0.001", remote.BACKOFF_ENV: "0.01:0.01"})  # Kling: poll at once
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        baseline = film(root / "animatic", "animatic", {}, arguments.shots)
        account = KlingServer(root / "kling-server")
        with serve(account.app()) as url:
            account.url = url
            os.environ["KLING_API_BASE"] = url
            kling = film(root / "kling", "kling:kling-v1-6", {}, arguments.shots)
        comfy = ComfyServer(root / "comfy-server")
        with serve(comfy.app()) as url:
            comfy.url = url
            os.environ.pop(remote.POLL_ENV)  # the production schedule: the websocket wakes the loop at the end
            comfyui = film(root / "comfyui", "comfyui:workflows/wan.json",
                           {"server": url, "bindings": {"width": "41.width", "height": "41.height"}}, arguments.shots)
        comfy.stop()
        base = statistics.median(baseline)
        rows.append(("animatic (baseline, no remote call)", base, None, None))
        rows.append(("Kling API, answering at once", statistics.median(kling), job_seconds(root / "kling"),
                     len([r for r in account.requests if "/v1/videos/" in r["path"] or "/files/" in r["path"]])
                     / arguments.shots))
        rows.append(("ComfyUI, answering at once (+ websocket)", statistics.median(comfyui),
                     job_seconds(root / "comfyui"), len(comfy.requests) / arguments.shots))
    table = Table("one 5 s segment filmed by", "ms per segment (median)", "× animatic", "of which the job (ms)",
                  "HTTP requests per segment",
                  title=f"benchmarks/remote.py: {arguments.shots} shots each, 160×90, tiny grey clips")
    for name, seconds, job, requests in rows:
        table.add_row(name, f"{seconds * 1000:.0f}", f"{seconds / base:.2f}",
                      "" if job is None else f"{job * 1000:.0f}", "" if requests is None else f"{requests:.1f}")
    console.print(table)

    asked, rate = polling(arguments.task_seconds)
    timing = remote.Timing()
    polls = Table("Kling task lasting", "polls per second", "source", title="polling with the production schedule")
    polls.add_row(f"{arguments.task_seconds:g} s", f"{rate:.2f} ({asked} API requests in all)", "measured")
    for seconds in (60, 300):
        polls.add_row(f"{seconds} s", f"{schedule_rate(seconds, timing):.3f}", "the schedule, computed")
    console.print(polls)


if __name__ == "__main__":
    main()
