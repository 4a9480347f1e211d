"""What consistency checks cost: frames per second of the classical extractor and of the `dlib` face extractor on
1080p frames, and QC time as a share of the animatic render time of the same shots, both measured in this run;
with faces, the research metrics of identity on those shots beside the figures the papers report.

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
from aigms.production import qc  # noqa: E402
from aigms.production.generate.takes import render_take  # noqa: E402
from aigms.production.qc import identity, metrics  # noqa: E402
from aigms.production.qc.faces import face_extractor_for  # noqa: E402
from aigms.production.qc.features import extractor_for  # noqa: E402
from aigms.schemas.series import Series  # noqa: E402
from aigms.schemas.shotlist import Shot  # noqa: E402
from builders import tiny_series  # noqa: E402
from portraits import Standing, astronaut_head, frames, hopper_head, save  # noqa: E402

SHOTS = [
    Shot(id="010", scene=1, kind="establishing", size="WS", location="lab", text="The lab at night.", duration=3.0),
    Shot(id="020", scene=1, kind="action", size="MS", location="lab", characters=["lin"], text="Lin waits.",
         duration=4.0),
    Shot(id="030", scene=2, kind="dialogue", size="MCU", location="lab", characters=["lin", "kai"], speaker="kai",
         text="It has been like that since noon.", duration=5.0),
]


def frames_per_second(work, pictures: np.ndarray) -> float:
    work(pictures[0])  # a model's first call pays for its warm-up
    started = time.perf_counter()
    for picture in pictures:
        work(picture)
    return len(pictures) / (time.perf_counter() - started)


def render_and_check(root: Path, series: Series) -> tuple[float, float, list[metrics.CutShot]]:
    """Render SHOTS with the animatic, then check every take as the retake policy does."""
    engine = open_database(f"sqlite:///{root}/aigms.db")
    render_seconds = qc_seconds = 0.0
    cut = []
    for shot in SHOTS:
        started = time.perf_counter()
        take = render_take(engine, root / "store", series, shot, None, 1)
        render_seconds += time.perf_counter() - started
        started = time.perf_counter()
        seen = qc.checks.look_for_faces(take.clip, shot, series, engine)
        qc.shot_checks(take.clip, shot, series, 1, seen)
        qc_seconds += time.perf_counter() - started
        if seen is not None:
            cut.append(metrics.CutShot(("bench", shot.scene), seen.frames, seen.first_faces,
                                       {key: found.embedding for key, found in seen.characters.items()},
                                       seen.extractor))
    return render_seconds, qc_seconds, cut


def main() -> None:
    console = Console()
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (30, 1080, 1920, 3), dtype=np.uint8)
    classical_fps = frames_per_second(extractor_for("classical").features, noise)
    dlib = face_extractor_for("dlib")
    two_faces = frames([Standing(astronaut_head(), 0.2, scale=2.0), Standing(hopper_head(), 0.6, scale=2.0)], 6,
                       1920, 1080)
    faces_fps = frames_per_second(dlib.faces, two_faces)
    empty_fps = frames_per_second(dlib.faces, noise[:6])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        plain = tiny_series(root / "plain", 1920, 1080)
        render_plain, qc_plain, _ = render_and_check(root / "plain", plain)
        faces = tiny_series(root / "faces", 1920, 1080)
        save(astronaut_head(), faces.root / "bible" / "lin.png")
        save(hopper_head(), faces.root / "bible" / "kai.png")
        faces.qc.faces = "dlib"
        identity._known.clear()
        render_faces, qc_faces, cut = render_and_check(root / "faces", faces)
    seconds = sum(shot.duration for shot in SHOTS)
    table = Table("measure", "value", title="benchmarks/qc.py (1920×1080, 30 fps, 2 cores)")
    table.add_row("classical extractor, 1080p frames", f"{classical_fps:.0f} frames/s")
    table.add_row("dlib faces, 1080p frames with two faces (find, align, embed)", f"{faces_fps:.2f} frames/s")
    table.add_row("dlib faces, 1080p frames without a face (find only)", f"{empty_fps:.2f} frames/s")
    table.add_row(f"animatic render of {len(SHOTS)} shots ({seconds:.0f} s), drawn figures", f"{render_plain:.1f} s")
    table.add_row("per-shot QC, classical", f"{qc_plain:.1f} s ({qc_plain / render_plain:.2f}× render)")
    table.add_row("animatic render of the same shots, photographs of two people", f"{render_faces:.1f} s")
    table.add_row(f"per-shot QC with faces (every {faces.qc.face_every}th frame)",
                  f"{qc_faces:.1f} s ({qc_faces / render_faces:.2f}× render, {qc_faces / len(SHOTS):.1f} s a shot)")
    console.print(table)
    figures = Table("metric", "these shots", "the papers' systems", title="identity (dlib)")
    for metric in metrics.story_metrics([cut]):
        papers = " · ".join(f"{name} {value:.4f}" for name, value in metrics.PAPER_FIGURES[metric.name].items())
        figures.add_row(metrics.METRICS[metric.name], "–" if metric.value is None else f"{metric.value:.4f}",
                        papers or "no figure verified")
    console.print(figures)


if __name__ == "__main__":
    main()
