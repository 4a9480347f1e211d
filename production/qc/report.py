"""The QC report of an episode: per shot a contact sheet of every take (first, middle and last frame), the scores
against their thresholds and the extractor behind each, which take was cut in and whether the shot is flagged;
a plot of the cut-in takes' scores along the episode; and, where faces were looked for, the research metrics of
identity and the series-wide identity chart. One self-contained HTML file (pictures inlined)."""

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aigms.db import models
from aigms.production import qc, templating
from aigms.production.qc.chart import IdentityChart
from aigms.production.qc.metrics import METRICS, PAPER_FIGURES, Metric
from aigms.production.store import assets
from aigms.production.store.files import atomic_write_text

FRAME_HEIGHT = 90
PLOT_WIDTH, PLOT_HEIGHT, PLOT_MARGIN = 720, 220, 30


@dataclass(frozen=True)
class Score:
    check: str
    score: float
    threshold: float
    passed: bool
    reason: str
    extractor: str


@dataclass
class TakeReport:
    id: int
    seed: int
    selected: bool
    frames: list[str] = field(default_factory=list)  # data URIs: first, middle, last
    scores: list[Score] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(score.passed for score in self.scores)


@dataclass
class ShotReport:
    code: str
    scene: int | None
    takes: list[TakeReport]

    @property
    def selected(self) -> TakeReport | None:
        return next((take for take in self.takes if take.selected), None)

    @property
    def flagged(self) -> bool:
        """Cut in with a failed check: a person has to look."""
        return self.selected is not None and not self.selected.passed


@dataclass(frozen=True)
class Line:
    check: str
    colour: str
    points: str  # SVG polyline points


COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def _data_uri(picture) -> str:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def gather(session: Session, store: Path, episode: models.Episode) -> list[ShotReport]:
    """Every shot of the episode in story order with its filmed takes and their QC rows."""
    shots = []
    for row in episode.shots:
        takes = session.scalars(
            select(models.Take).options(selectinload(models.Take.asset), selectinload(models.Take.qc_results))
            .where(models.Take.shot_id == row.id, models.Take.kind == models.TAKE_CLIP,
                   models.Take.status == models.TAKE_OK).order_by(models.Take.id)
        ).all()
        reports = []
        for take in takes:
            report = TakeReport(take.id, take.seed, take.id == row.selected_take_id)
            if take.asset is not None and assets.has_file(store, take.asset):
                frames, _ = qc.decode(assets.asset_file(store, take.asset), FRAME_HEIGHT)
                report.frames = [_data_uri(frame) for frame in qc.sample(frames)]
            report.scores = [Score(r.check, r.score, r.threshold, r.passed, r.reason, r.extractor)
                             for r in sorted(take.qc_results, key=lambda r: r.check)]
            reports.append(report)
        shots.append(ShotReport(row.code, row.spec.get("scene"), reports))
    return shots


def plot(shots: list[ShotReport]) -> list[Line]:
    """One polyline per check over the shots, from the cut-in takes' scores (y: 1 at the top, 0 at the bottom)."""
    checks = sorted({score.check for shot in shots if shot.selected for score in shot.selected.scores})
    step = (PLOT_WIDTH - 2 * PLOT_MARGIN) / max(len(shots) - 1, 1)
    lines = []
    for number, check in enumerate(checks):
        points = []
        for index, shot in enumerate(shots):
            score = next((s.score for s in (shot.selected.scores if shot.selected else []) if s.check == check), None)
            if score is not None:
                x = PLOT_MARGIN + index * step
                y = PLOT_MARGIN + (1 - score) * (PLOT_HEIGHT - 2 * PLOT_MARGIN)
                points.append(f"{x:.1f},{y:.1f}")
        lines.append(Line(check, COLOURS[number % len(COLOURS)], " ".join(points)))
    return lines


def write_report(series_title: str, episode_code: str, shots: list[ShotReport], out: Path,
                 identity: IdentityChart | None = None,
                 metrics: tuple[list[Metric], list[Metric]] | None = None) -> Path:
    html = templating.pages().get_template("qc/report.html.j2").render(
        series_title=series_title, episode=episode_code, shots=shots, lines=plot(shots), width=PLOT_WIDTH,
        height=PLOT_HEIGHT, margin=PLOT_MARGIN, step=(PLOT_WIDTH - 2 * PLOT_MARGIN) / max(len(shots) - 1, 1),
        identity=identity, metric_rows=list(zip(*metrics)) if metrics else [], metric_names=METRICS,
        paper_figures=PAPER_FIGURES,
    )
    atomic_write_text(out, html)
    return out
