"""The diffusers backend's time per shot with its pipeline kept warm across shots (one load per worker process)
against reading the weights again for every shot, on a tiny random-weight pipeline saved to a folder.

Run: `.venv/bin/python benchmarks/generate.py [--shots N] [--model wan|ltx]`. Both sides film the same shots (one
text-to-video segment each, 17 frames at 96×64, 2 steps, conformed to 320×180) into their own fresh projects, so
no take is reused. The two sides alternate shot by shot and medians are reported, so other work on the machine
weighs on both alike; CPU seconds (this process and its ffmpeg children) are shown beside wall seconds. With real
weights a load takes seconds to minutes and the gap grows accordingly."""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from rich.console import Console  # noqa: E402
from rich.progress import track  # noqa: E402
from rich.table import Table  # noqa: E402

import tiny_pipelines  # noqa: E402
from aigms.db.session import open_database  # noqa: E402
from aigms.production.generate.takes import render_shot  # noqa: E402
from aigms.production.generate.generators import diffusers as backend  # noqa: E402
from aigms.schemas.series import GeneratorSettings, Series  # noqa: E402
from aigms.schemas.shotlist import Shot  # noqa: E402
from builders import tiny_series  # noqa: E402

OPTIONS = {"fps": 8, "width": 64, "height": 64, "steps": 2, "max_frames": 17, "call": {"max_sequence_length": 16}}


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def project(folder: Path, model: Path) -> tuple[Series, object]:
    series = tiny_series(folder / "series")
    series.generator = GeneratorSettings(backend=f"diffusers:{model}", options=OPTIONS)
    return series, open_database(f"sqlite:///{folder}/aigms.db")


def film(folder: Path, series: Series, engine: object, number: int) -> tuple[float, float]:
    shot = Shot(id=f"{number:03d}", scene=1, kind="action", location="lab", text=f"Lin waits, take {number}.",
                prompt=f"lin waits {number}", duration=2.0)
    wall, cpu = time.perf_counter(), cpu_seconds()
    render_shot(engine, folder / "store", series, shot, None)
    return time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--model", choices=["wan", "ltx"], default="wan")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        warm_model = getattr(tiny_pipelines, arguments.model)(scratch / "model-warm")
        reload_model = Path(shutil.copytree(warm_model, scratch / "model-reload"))
        warm_series, warm_engine = project(scratch / "warm", warm_model)
        reload_series, reload_engine = project(scratch / "reload", reload_model)
        film(scratch / "warm", warm_series, warm_engine, 0)  # imports and the one load, paid before timing
        loaded = time.perf_counter()
        backend.load(str(reload_model), OPTIONS)
        load_seconds = time.perf_counter() - loaded
        warm, reloaded = [], []
        for number in track(range(1, arguments.shots + 1), description="filming", transient=True):
            warm.append(film(scratch / "warm", warm_series, warm_engine, number))
            backend.release(str(reload_model))
            reloaded.append(film(scratch / "reload", reload_series, reload_engine, number))
    table = Table("pipeline", "shots", "wall per shot (median)", "CPU per shot (median)",
                  title=f"tiny {arguments.model}: a warm pipeline against a reload per shot")
    medians = {}
    for name, runs in (("warm across shots", warm), ("reloaded every shot", reloaded)):
        medians[name] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        table.add_row(name, str(len(runs)), f"{medians[name][0]:.2f} s", f"{medians[name][1]:.2f} s")
    console = Console()
    console.print(table)
    (warm_wall, warm_cpu), (reload_wall, reload_cpu) = medians.values()
    console.print(f"from_pretrained alone: {load_seconds:.2f} s (the rest of the gap is a fresh pipeline's first "
                  f"calls); loads in this process: "
                  f"{backend.loads[str(warm_model)]} warm, {backend.loads[str(reload_model)]} reloaded")
    console.print(f"reloading per shot costs {reload_wall / warm_wall:.2f}x the warm pipeline's wall time per shot "
                  f"({reload_cpu / warm_cpu:.2f}x its CPU time)")


if __name__ == "__main__":
    main()
