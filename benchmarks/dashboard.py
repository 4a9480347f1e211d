"""How fast the dashboard answers with a season's worth of data: 24 episodes × 50 shots × 5 takes (1,200 shots,
6,000 takes, 18,000 QC results, a film job per episode with its progress), served by `aigms dashboard` (uvicorn)
in its own process and asked by concurrent clients.

Prints p50/p95 latency per page and API answer, and each p50 as a ratio of the p50 of /health (no database, no
template) measured in the same run, so the numbers mean the same on a faster or slower machine.

    .venv/bin/python benchmarks/dashboard.py [--requests 200] [--concurrency 8]
"""

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import insert

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.review import people
from aigms.schemas.shotlist import Shot

EPISODES, SHOTS, TAKES, QC_CHECKS = 24, 50, 5, 3
STATUSES = [models.STATUS_TODO, models.STATUS_WAITING, models.STATUS_RETAKE, models.STATUS_DONE]
console = Console()


def seed(database_url: str) -> None:
    """Rows as the pipeline writes them, inserted in bulk; the files they name are not needed for these pages."""
    engine = open_database(database_url)
    rng = random.Random(7)
    with session_scope(engine) as session:
        session.add(models.Series(id="season", title="A Season", language="en", root="/nowhere",
                                  bible={"storyboard": {"target_seconds": 240}}, bible_sha256="0" * 64))
        session.flush()
        session.add(models.Season(id=1, series_id="season", number=1))
        session.flush()
        people.add_user(session, "bench", "director", "bench-password")
    shot_id = take_id = asset_id = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding the season", total=EPISODES)
        for episode in range(1, EPISODES + 1):
            episode_rows, scene_rows, shot_rows, take_rows, asset_rows, qc_rows, selections = [], [], [], [], [], [], []
            episode_rows.append({"id": episode, "series_id": "season", "season_id": 1, "code": f"s01e{episode:02d}",
                                 "number": episode, "title": f"Episode {episode}", "language": "en",
                                 "script_path": f"episodes/s01e{episode:02d}.fountain", "script_sha256": "0" * 64,
                                 "status": models.STATUS_WAITING, "shotlist_sha256": f"{episode:064x}"})
            for scene in range(1, 6):
                scene_rows.append({"id": episode * 10 + scene, "episode_id": episode, "index": scene,
                                   "heading": f"INT. SET {scene} - NIGHT", "line": scene * 20})
            for position in range(SHOTS):
                shot_id += 1
                spec = Shot(id=f"{10 * (position + 1):03d}", scene=position // 10 + 1, kind="dialogue",
                            text=f"Shot {position} of episode {episode}: " * 3, speaker="lin",
                            characters=["lin", "kai"][: position % 3], lines=[position * 4 + 1], duration=4.8,
                            prompt="A bronze mask under work lights. " * 4).model_dump(mode="json")
                shot_rows.append({"id": shot_id, "episode_id": episode, "scene_id": episode * 10 + position // 10 + 1,
                                  "code": spec["id"], "position": position, "kind": "dialogue", "spec": spec,
                                  "spec_sha256": f"{shot_id:064x}", "duration": 4.8, "status": rng.choice(STATUSES),
                                  "overrides": {}})
                for _ in range(TAKES):
                    take_id += 1
                    asset_id += 1
                    asset_rows.append({"id": asset_id, "sha256": f"{asset_id:064x}", "kind": "clip",
                                       "path": f"aa/{asset_id:064x}.mp4", "size": 1_000_000,
                                       "media": {"duration": 4.8, "width": 1920, "height": 1080}})
                    take_rows.append({"id": take_id, "shot_id": shot_id, "recipe_sha256": f"{take_id:064x}",
                                      "recipe": {"shot": spec, "seed": take_id}, "generator": "animatic",
                                      "seed": take_id, "status": models.TAKE_OK, "asset_id": asset_id,
                                      "render_seconds": 3.2})
                    for check in range(QC_CHECKS):
                        score = rng.random()
                        qc_rows.append({"take_id": take_id, "check": f"check-{check}", "score": score,
                                        "threshold": 0.2, "passed": score >= 0.2, "reason": "", "extractor": "bench"})
                selections.append((shot_id, take_id))
            run = {"id": episode, "episode_id": episode, "status": models.RUN_RUNNING, "shots_total": 2,
                   "scope": {"label": "scene 2", "shots": ["110", "120"]}, "takes": 3, "started_by": "bench",
                   "progress": {"summary": "shot 110: take 2 of 3, segment 1 of 2", "step": "segment", "filmed": 0,
                                "total": 2, "shots": {"110": {"take": 2, "takes": 3, "segment": 1, "segments": 2}}}}
            with session_scope(engine) as session:
                for model, batch in ((models.Episode, episode_rows), (models.Scene, scene_rows),
                                     (models.Shot, shot_rows), (models.Asset, asset_rows), (models.Take, take_rows),
                                     (models.QCResult, qc_rows), (models.RenderRun, [run])):
                    session.execute(insert(model), batch)
                for shot, take in selections:
                    session.get(models.Shot, shot).selected_take_id = take
            progress.advance(task)


def start_server(home: Path, database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "AIGMS_DATABASE_URL": database_url, "AIGMS_SECRET_KEY": "benchmark-secret"}
    server = subprocess.Popen([sys.executable, "-m", "aigms", "dashboard", "--home", str(home), "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"the dashboard did not start: {server.stderr.read().decode()[-2000:]}")


def signed_in_cookies(base_url: str) -> httpx.Cookies:
    with httpx.Client(base_url=base_url) as client:
        token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
        answer = client.post("/login", data={"csrftoken": token, "name": "bench", "password": "bench-password"})
        if answer.status_code != 303:
            raise RuntimeError(f"could not sign in: {answer.status_code} {answer.text[:200]}")
        return client.cookies


def measure(base_url: str, cookies: httpx.Cookies, paths: list[str], concurrency: int) -> tuple[list[float], float]:
    """Latency in milliseconds of each request, `concurrency` clients at a time, and requests answered per second."""
    def one(client: httpx.Client, path: str) -> float:
        started = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code}")
        return elapsed

    limits = httpx.Limits(max_connections=concurrency)
    with httpx.Client(base_url=base_url, cookies=cookies, limits=limits, timeout=60) as client:
        for path in paths[:concurrency]:
            one(client, path)
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = list(pool.map(lambda path: one(client, path), paths))
        return latencies, len(paths) / (time.perf_counter() - started)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def compare(shot: int) -> str:
    first = (shot - 1) * TAKES + 1
    return f"/shots/{shot}?compare={first}&compare={first + TAKES - 1}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=8791)
    options = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="aigms-bench-") as folder:
        home = Path(folder)
        database_url = f"sqlite:///{home / 'aigms.db'}"
        started = time.perf_counter()
        seed(database_url)
        console.print(f"seeded {EPISODES} episodes × {SHOTS} shots × {TAKES} takes × {QC_CHECKS} QC checks "
                      f"in {time.perf_counter() - started:.1f} s")
        server = start_server(home, database_url, options.port)
        try:
            base_url = f"http://127.0.0.1:{options.port}"
            cookies = signed_in_cookies(base_url)
            total_shots = EPISODES * SHOTS
            endpoints = {
                "/health (baseline)": lambda: "/health",
                "episode page": lambda: f"/episodes/{rng.randint(1, EPISODES)}",
                "episode page, shot list open to edit": lambda: f"/episodes/{rng.randint(1, EPISODES)}?shotlist=open",
                "API episode": lambda: f"/api/episodes/{rng.randint(1, EPISODES)}",
                "series overview page": lambda: "/",
                "API series": lambda: "/api/series",
                "shot page (4 takes compared)": lambda: f"/shots/{rng.randint(1, total_shots)}",
                "shot comparison, 2 takes": lambda: compare(rng.randint(1, total_shots)),
                "API shot": lambda: f"/api/shots/{rng.randint(1, total_shots)}",
                "film job progress (API)": lambda: f"/api/runs/{rng.randint(1, EPISODES)}",
            }
            results: dict[str, tuple[list[float], float]] = {}
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("requesting", total=len(endpoints))
                for name, path in endpoints.items():
                    results[name] = measure(base_url, cookies, [path() for _ in range(options.requests)],
                                            options.concurrency)
                    progress.advance(task)
        finally:
            server.terminate()
            server.wait(timeout=30)
    baseline = percentile(results["/health (baseline)"][0], 0.5)
    table = Table("endpoint", "p50 ms", "p95 ms", "requests/s", "p50 / health p50",
                  title=f"aigms dashboard, {options.requests} requests each, {options.concurrency} at a time")
    for name, (latencies, rate) in results.items():
        p50 = percentile(latencies, 0.5)
        table.add_row(name, f"{p50:.1f}", f"{percentile(latencies, 0.95):.1f}", f"{rate:.0f}", f"{p50 / baseline:.1f}×")
    console.print(table)


if __name__ == "__main__":
    main()
