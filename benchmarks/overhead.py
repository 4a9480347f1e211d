"""The pipeline's own overhead per shot — everything a render spends outside the generator (parsing, planning,
database, hashing, voice, edit, subtitles, delivery) — beside the generator's time measured in the same run, and
what Prefect's orchestration adds on top.

Run: `.venv/bin/python benchmarks/overhead.py`. It renders the example series at its delivery size three times:
the stages called directly as plain functions (`aigms.production`, in the flow's order, no Prefect), then the
Prefect flow, each into a fresh project; and the flow once more warm, where every take is reused."""

import os
import shutil
import tempfile
import time
from pathlib import Path

from aigms.prefect_defaults import apply_prefect_defaults  # noqa: E402

apply_prefect_defaults()
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from prefect import flow  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from aigms.db import models  # noqa: E402
from aigms.db.session import default_database_url, open_database, session_scope  # noqa: E402
from aigms.flows import episode  # noqa: E402
from aigms.production import deliver, generate, qc, storyboard  # noqa: E402
from aigms.production.bible import load_series  # noqa: E402
from aigms.production.post import voice  # noqa: E402
from aigms.production.store import assets  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"


@flow
def warm_up() -> None:
    """Starting Prefect's temporary server is paid once per process; it is reported, not counted per shot."""


def direct(series_dir: Path, episode_id: str, out: Path, home: Path) -> int:
    """The flow's stages in the flow's order, as plain function calls: the pipeline without orchestration."""
    series = load_series(series_dir)
    engine, store = open_database(default_database_url(home)), home / "store"
    planned = storyboard.plan_episode(engine, series, episode_id, force=True)
    shotlist = planned.shotlist
    takes = {shot.id: generate.render_shot(engine, store, series, shot, planned.rows[shot.id]).selected
             for shot in shotlist.shots}
    audio = {shot.id: voice.record_line(engine, store, series, shotlist.language, shot)
             for shot in shotlist.shots if shot.kind == "dialogue"}
    clips = {shot_id: (take.take_id, take.clip, take.clip_sha256) for shot_id, take in takes.items()}
    qc.check_episode(engine, series, shotlist, clips, assets.derived_dir(store, "qc"))
    deliver.cut(engine, store, series, shotlist, takes, audio, out / series.id / episode_id)
    return len(shotlist.shots)


def prefect(series_dir: Path, episode_id: str, out: Path, home: Path) -> int:
    serial = episode.render_episode.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    return serial(str(series_dir), episode_id, str(out), str(home), force=True).shots


def generator_seconds(home: Path) -> float:
    with session_scope(open_database(default_database_url(home))) as session:
        return session.scalar(select(func.sum(models.Take.render_seconds))) or 0.0


def timed(render, series_dir: Path, episodes: list[str], out: Path, home: Path) -> tuple[float, int]:
    started = time.perf_counter()
    shots = sum(render(series_dir, episode_id, out, home) for episode_id in episodes)
    return time.perf_counter() - started, shots


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        os.environ.setdefault("PREFECT_HOME", str(scratch / "prefect"))
        started = time.perf_counter()
        warm_up()
        prefect_start = time.perf_counter() - started
        series_dir = Path(shutil.copytree(EXAMPLE, scratch / "series"))
        episodes = [ref.id for ref in load_series(series_dir).episodes]
        direct_total, shots = timed(direct, series_dir, episodes, scratch / "out-direct", scratch / "direct")
        direct_generator = generator_seconds(scratch / "direct")
        flow_total, _ = timed(prefect, series_dir, episodes, scratch / "out-flow", scratch / "flow")
        flow_generator = generator_seconds(scratch / "flow")
        warm_total, _ = timed(prefect, series_dir, episodes, scratch / "out-flow", scratch / "flow")
    own = direct_total - direct_generator
    orchestration = (flow_total - flow_generator) - own
    print(f"example series: {len(episodes)} episodes, {shots} shots, 1920x1080 at 30 fps, animatic generator")
    print(f"prefect temporary server start, once per process: {prefect_start:.1f} s")
    print(f"stages called directly: {direct_total:.1f} s, of which generator {direct_generator:.1f} s")
    print(f"  pipeline overhead: {1000 * own / shots:.0f} ms per shot, {own / direct_total:.1%} of the render")
    print(f"prefect flow: {flow_total:.1f} s, of which generator {flow_generator:.1f} s")
    print(f"  pipeline + orchestration overhead: {1000 * (flow_total - flow_generator) / shots:.0f} ms per shot, "
          f"{(flow_total - flow_generator) / flow_total:.1%} of the render "
          f"(orchestration alone {1000 * orchestration / shots:.0f} ms per shot)")
    print(f"warm re-render, every take reused: {warm_total:.1f} s, {1000 * warm_total / shots:.0f} ms per shot, "
          f"{warm_total / flow_total:.2f}x the cold flow")


if __name__ == "__main__":
    main()
