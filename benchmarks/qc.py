"""What consistency checks cost: frames per second of the default (classical) extractor on 1080p frames, and QC
time as a share of the animatic render time of the same shots, both measured in this run.

    .venv/bin/python benchmarks/qc.py
"""

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from aigms.db.session import open_database  # noqa: E402
from aigms.production import qc# noqa: E402
from aigms.production.generate.takes import render_take  # noqa: E402
from aigms.production.qc.features import extractor_for  # noqa: E402
from aigms.schemas.shotlist import Shot  # noqa: E402
from builders import tiny_series  # noqa: E402

SHOTS = [
    Shot(id="010", scene=1, kind="establishing", size="WS", location="lab", text="The lab at night.", duration=3.0),
    Shot(id="020", scene=1, kind="action", size="MS", location="lab", characters=["lin"], text="Lin waits.",
         duration=4.0),
    Shot(id="030", scene=1, kind="dialogue", size="MCU", location="lab", characters=["lin", "kai"], speaker="kai",
         text="It has been like that since noon.", duration=5.0),
]


def extractor_fps(frames: np.ndarray) -> float:
    extractor = extractor_for("classical")
    started = time.perf_counter()
    for frame in frames:
        extractor.features(frame)
    return len(frames) / (time.perf_counter() - started)


def main() -> None:
    console = Console()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (60, 1080, 1920, 3), dtype=np.uint8)
    fps = extractor_fps(frames)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        series = tiny_series(root / "series", 1920, 1080)
        engine = open_database(f"sqlite:///{root}/aigms.db")
        render_seconds = qc_seconds = 0.0
        for shot in SHOTS:
            started = time.perf_counter()
            take = render_take(engine, root / "store", series, shot, None, 1)
            render_seconds += time.perf_counter() - started
            started = time.perf_counter()
            qc.check_take(engine, series, shot, take.take_id, take.clip, 1)
            qc_seconds += time.perf_counter() - started
    table = Table("measure", "value", title="benchmarks/qc.py (1920×1080, 30 fps)")
    table.add_row("classical extractor, 1080p frames", f"{fps:.0f} frames/s")
    table.add_row("animatic render of 3 shots (12 s)", f"{render_seconds:.1f} s")
    table.add_row("per-shot QC of the same takes", f"{qc_seconds:.1f} s")
    table.add_row("QC / render", f"{qc_seconds / render_seconds:.2f}×")
    console.print(table)


if __name__ == "__main__":
    main()
