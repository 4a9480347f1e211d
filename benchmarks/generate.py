"""The diffusers backend's time per shot with its pipeline kept warm across shots (one load per worker process)
against reading the weights again for every shot, on a tiny random-weight pipeline saved to a folder.

Run: `.venv/bin/python benchmarks/generate.py [--shots N] [--model wan|ltx]`. Both runs film the same shots
(one text-to-video segment each, 17 frames at 96×64, 2 steps, conformed to 320×180) into fresh projects, so no
take is reused. With real weights the load is seconds to minutes and the gap grows accordingly."""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

import tiny_pipelines  # noqa: E402
from aigms.db.session import open_database  # noqa: E402
from aigms.production.generate import render_shot  # noqa: E402
from aigms.production.generators import diffusers as backend  # noqa: E402
from aigms.schemas.series import GeneratorSettings  # noqa: E402
from aigms.schemas.shotlist import Shot  # noqa: E402
from builders import tiny_series  # noqa: E402

OPTIONS = {"fps": 8, "width": 64, "height": 64, "steps": 2, "max_frames": 17, "call": {"max_sequence_length": 16}}


def film(scratch: Path, name: str, model: Path, shots: int, reload: bool, progress: Progress) -> list[float]:
    """Seconds per shot; with `reload` the warm pipeline is dropped before every shot, as a per-shot worker would."""
    series = tiny_series(scratch / name / "series")
    series.generator = GeneratorSettings(backend=f"diffusers:{model}", options=OPTIONS)
    engine = open_database(f"sqlite:///{scratch / name}/aigms.db")
    backend.release()
    seconds = []
    task = progress.add_task(name, total=shots)
    for number in range(1, shots + 1):
        shot = Shot(id=f"{number:03d}", scene=1, kind="action", location="lab", text=f"Lin waits, take {number}.",
                    prompt=f"lin waits {number}", duration=2.0)
        if reload:
            backend.release()
        started = time.perf_counter()
        render_shot(engine, scratch / name / "store", series, shot, None)
        seconds.append(time.perf_counter() - started)
        progress.advance(task)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--model", choices=["wan", "ltx"], default="wan")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        model = getattr(tiny_pipelines, arguments.model)(scratch / "model")
        with Progress(transient=True) as progress:
            film(scratch, "import", model, 1, False, progress)  # pays Python's imports once, for neither side
            warm = film(scratch, "warm", model, arguments.shots, False, progress)
            cold = film(scratch, "reload", model, arguments.shots, True, progress)
    table = Table("pipeline", "shots", "first shot", "per shot (mean)", "per shot after the first",
                  title=f"tiny {arguments.model}: warm pipeline against a reload per shot")
    for name, seconds in (("warm across shots", warm), ("reloaded every shot", cold)):
        rest = seconds[1:] or seconds
        table.add_row(name, str(len(seconds)), f"{seconds[0]:.2f} s", f"{sum(seconds) / len(seconds):.2f} s",
                      f"{sum(rest) / len(rest):.2f} s")
    console = Console()
    console.print(table)
    ratio = (sum(cold) / len(cold)) / (sum(warm) / len(warm))
    steady = (sum(cold[1:]) / max(1, len(cold) - 1)) / (sum(warm[1:]) / max(1, len(warm) - 1))
    console.print(f"reloading per shot costs {ratio:.2f}x the warm pipeline per shot "
                  f"({steady:.2f}x once the warm one is loaded); loads in this process: {backend.loads[str(model)]}")


if __name__ == "__main__":
    main()
