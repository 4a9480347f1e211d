"""The series-wide identity chart: per character, how like the bible its face is in every shot of every episode, in
story order, with the shots below the identity threshold linked; and the characters whose likeness drifts between
episodes, flagged for a bible update (they look different for good) or a retake (a few shots went wrong). Drawn
as SVG for the QC report and the dashboard; no script."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production import templating
from aigms.production.qc.metrics import episodes_in_order

WIDTH, HEIGHT, MARGIN = 760, 260, 34
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


@dataclass(frozen=True)
class ChartShot:
    episode_id: int
    episode: str
    shot_id: int
    code: str
    scores: dict[str, float]  # character → identity score of the cut-in take


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    shot: ChartShot
    score: float
    below: bool
    href: str


@dataclass
class CharacterLine:
    key: str
    name: str
    colour: str
    points: list[Point] = field(default_factory=list)
    by_episode: dict[str, float] = field(default_factory=dict)  # mean score per episode, in story order
    drift: float = 0.0  # highest episode mean − lowest
    flagged: bool = False
    advice: str = ""

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)

    @property
    def below(self) -> list[Point]:
        return [point for point in self.points if point.below]


@dataclass(frozen=True)
class IdentityChart:
    shots: list[ChartShot]
    lines: list[CharacterLine]
    threshold: float
    episodes: list[tuple[str, float, float]]  # code, first x, last x

    @property
    def flagged(self) -> list[CharacterLine]:
        return [line for line in self.lines if line.flagged]

    def svg(self) -> str:
        return templating.pages().get_template("qc/identity_chart.svg.j2").render(
            chart=self, width=WIDTH, height=HEIGHT, margin=MARGIN, y=_y)


def gather(session: Session, series_id: str) -> list[ChartShot]:
    """Every shot of every episode in story order with its cut-in take's identity scores (none: no face found)."""
    shots = []
    for episode in episodes_in_order(session, series_id):
        take_ids = [shot.selected_take_id for shot in episode.shots if shot.selected_take_id is not None]
        scores: dict[int, dict[str, float]] = defaultdict(dict)
        for row in session.scalars(select(models.IdentityScore).where(models.IdentityScore.take_id.in_(take_ids))):
            scores[row.take_id][row.character] = row.similarity
        shots += [ChartShot(episode.id, episode.code, shot.id, shot.code, scores.get(shot.selected_take_id, {}))
                  for shot in episode.shots]
    return shots


def _y(score: float) -> float:
    return MARGIN + (1.0 - score) * (HEIGHT - 2 * MARGIN)


def chart(shots: list[ChartShot], names: dict[str, str], threshold: float, drift_limit: float,
          link: Callable[[ChartShot], str]) -> IdentityChart:
    """Lay the shots out left to right and judge each character's drift between episodes. A flagged character
    whose worst episode has most of its shots below the threshold looks different for good (update the bible, or
    retake that episode); otherwise a few shots went wrong (retake them)."""
    step = (WIDTH - 2 * MARGIN) / max(len(shots) - 1, 1)
    keys = sorted({key for shot in shots for key in shot.scores}, key=lambda key: names.get(key, key))
    lines = []
    for number, key in enumerate(keys):
        line = CharacterLine(key, names.get(key, key), COLOURS[number % len(COLOURS)])
        per_episode: dict[str, list[float]] = defaultdict(list)
        for index, shot in enumerate(shots):
            if key in shot.scores:
                score = shot.scores[key]
                x = MARGIN + index * step
                line.points.append(Point(x, _y(score), shot, score, score < threshold, link(shot)))
                per_episode[shot.episode].append(score)
        line.by_episode = {code: float(np.mean(scores)) for code, scores in per_episode.items()}
        if len(line.by_episode) > 1:
            line.drift = max(line.by_episode.values()) - min(line.by_episode.values())
            line.flagged = line.drift > drift_limit
        if line.flagged:
            worst = min(line.by_episode, key=line.by_episode.get)
            below = [score < threshold for score in per_episode[worst]]
            line.advice = (f"update the bible or retake {worst}: most of its shots are below {threshold:.2f}"
                           if sum(below) * 2 > len(below) else
                           f"retake the shots below {threshold:.2f} in {worst}")
        lines.append(line)
    episodes = []
    for index, shot in enumerate(shots):
        x = MARGIN + index * step
        if not episodes or episodes[-1][0] != shot.episode:
            episodes.append((shot.episode, x, x))
        else:
            episodes[-1] = (shot.episode, episodes[-1][1], x)
    return IdentityChart(shots, lines, threshold, episodes)


def series_chart(session: Session, series_id: str, link: Callable[[ChartShot], str]) -> IdentityChart | None:
    """The chart of a series from its database rows, with the bible's names and thresholds; None for no series."""
    row = session.get(models.Series, series_id)
    if row is None:
        return None
    qc = row.bible.get("qc", {})
    names = {key: entry.get("name", key) for key, entry in row.bible.get("characters", {}).items()}
    return chart(gather(session, series_id), names, float(qc.get("thresholds", {}).get("identity", 0.5)),
                 float(qc.get("identity_drift", 0.1)), link)
