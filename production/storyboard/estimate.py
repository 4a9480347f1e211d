"""What an episode will cost, before any call: the approved shot list priced call by call (its segments, a keyframe
per take where the generator makes one), times the takes asked for, plus the retakes this series' own history
says to expect. Prices come from `series.yaml: costs`; a device paid by the hour is priced by the device-seconds one
second of video has taken this backend here before (the ledger), since nothing else knows.

Expected takes of a shot, with N asked for, a cap of C takes (`qc.retakes`) and a retake rate r (the share of this
backend's takes that failed their checks or were rejected): N + r^N + r^(N+1) + … + r^(C-1), each retake being made
only while every take before it failed. The range runs from N takes a shot (no retake) to C (every retake used)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production.generate.costs import call_cost, device_seconds_per_video_second, price_of
from aigms.production.generate.generators import generator_for
from aigms.production.storyboard.ingest import load_shotlist
from aigms.schemas.series import Series
from aigms.schemas.shotlist import ShotList


@dataclass
class SceneEstimate:
    scene: int
    shots: int = 0
    calls: int = 0
    video_seconds: float = 0.0
    low: float = 0.0
    expected: float = 0.0
    high: float = 0.0


@dataclass
class EpisodeEstimate:
    episode: str
    currency: str
    scenes: list[SceneEstimate] = field(default_factory=list)
    retake_rates: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def low(self) -> float:
        return sum(scene.low for scene in self.scenes)

    @property
    def expected(self) -> float:
        return sum(scene.expected for scene in self.scenes)

    @property
    def high(self) -> float:
        return sum(scene.high for scene in self.scenes)


def retake_rates(session: Session, series_id: str) -> dict[str, float]:
    """Per backend, the share of this series' clip takes that failed their checks or were rejected."""
    takes = models.Take
    failed_qc = exists().where(models.QCResult.take_id == takes.id, models.QCResult.passed.is_(False))
    rejected = exists().where(models.Retake.rejected_take_id == takes.id)
    bad = or_(failed_qc, rejected)
    query = (select(takes.generator, func.count(), func.sum(case((bad, 1), else_=0)))
             .join(models.Shot, takes.shot_id == models.Shot.id)
             .join(models.Episode, models.Shot.episode_id == models.Episode.id)
             .where(models.Episode.series_id == series_id, takes.kind == models.TAKE_CLIP,
                    takes.status == models.TAKE_OK)
             .group_by(takes.generator))
    counts: dict[str, list[int]] = {}
    for spec, total, failed in session.execute(query):
        backend = spec.split(":", 1)[0]
        seen = counts.setdefault(backend, [0, 0])
        seen[0] += total
        seen[1] += int(failed or 0)
    return {backend: failed / total for backend, (total, failed) in counts.items() if total}


def keyframe_seconds(session: Session, backend: str, model: str) -> float | None:
    calls = models.ModelCall
    mean = session.scalar(select(func.avg(calls.device_seconds)).where(
        calls.backend == backend, calls.model == model, calls.kind == models.CALL_KEYFRAME,
        calls.state == models.CALL_SUCCEEDED))
    return float(mean) if mean is not None else None


def expected_takes(asked: int, cap: int, rate: float) -> float:
    return asked + sum(rate ** k for k in range(asked, cap))


def estimate_episode(session: Session, series: Series, shotlist: ShotList, takes: int = 1) -> EpisodeEstimate:
    """The shot list priced scene by scene: a low, an expected and a high figure."""
    estimate = EpisodeEstimate(shotlist.episode, series.costs.currency, retake_rates=retake_rates(session, series.id))
    scenes: dict[int, SceneEstimate] = {}
    history: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    cap = max(takes, series.qc.retakes) if series.qc.enabled else takes
    for shot in shotlist.shots:
        try:
            generator = generator_for(shot, series)
        except ValueError as unknown:
            _note(estimate, f"shot {shot.id}: {unknown}; not priced")
            continue
        price = price_of(series, generator.spec)
        if price is None:
            _note(estimate, f"{generator.spec}: no price in series.yaml (costs.prices); its calls count as 0")
        device = generator.module.device(generator.model, generator.options) if hasattr(generator.module, "device") \
            else "cpu"
        key = (generator.name, generator.model)
        if key not in history:
            history[key] = (device_seconds_per_video_second(session, *key), keyframe_seconds(session, *key))
        per_second, per_keyframe = history[key]
        if price is not None and price.per_device_hour and per_second is None:
            _note(estimate, f"{generator.spec}: no device time recorded yet, so its price per hour counts as 0 "
                            f"until a render has run")
        lengths = [segment.duration for segment in shot.segments] or [shot.duration]
        take_cost = sum(call_cost(price, seconds, device, (per_second or 0.0) * seconds) for seconds in lengths)
        calls = len(lengths)
        if generator.options.get("keyframe"):
            take_cost += call_cost(price, 0.0, device, per_keyframe or 0.0)
            calls += 1
        rate = estimate.retake_rates.get(generator.name, 0.0)
        scene = scenes.setdefault(shot.scene, SceneEstimate(shot.scene))
        scene.shots += 1
        scene.calls += calls * takes
        scene.video_seconds += shot.duration * takes
        scene.low += take_cost * takes
        scene.expected += take_cost * expected_takes(takes, cap, rate)
        scene.high += take_cost * cap
    estimate.scenes = [scenes[number] for number in sorted(scenes)]
    return estimate


def _note(estimate: EpisodeEstimate, note: str) -> None:
    if note not in estimate.notes:
        estimate.notes.append(note)


def totals(estimates: Iterable[EpisodeEstimate]) -> tuple[float, float, float]:
    estimates = list(estimates)
    return (sum(e.low for e in estimates), sum(e.expected for e in estimates), sum(e.high for e in estimates))


@dataclass
class EpisodeCosts:
    id: int
    code: str
    title: str
    estimate: EpisodeEstimate
    spent: float


@dataclass
class SeriesCosts:
    """A series' money at a glance: each episode's estimate against what it has spent, and the budgets."""

    id: str
    title: str
    currency: str
    episodes: list[EpisodeCosts]
    budget_episode: float | None
    budget_series: float | None

    @property
    def spent(self) -> float:
        return sum(episode.spent for episode in self.episodes)


def series_costs(session: Session, series_id: str) -> SeriesCosts | None:
    """Every episode of the series as recorded, estimated as its shot list now stands and summed from the ledger."""
    row = session.get(models.Series, series_id)
    if row is None:
        return None
    series = Series.model_validate(row.bible).at(Path(row.root))
    spent = dict(session.execute(
        select(models.ModelCall.episode_id, func.sum(models.ModelCall.cost))
        .where(models.ModelCall.series_id == series_id).group_by(models.ModelCall.episode_id)).all())
    episodes = []
    for episode in session.scalars(select(models.Episode).where(models.Episode.series_id == series_id)
                                   .order_by(models.Episode.code)):
        estimated = estimate_episode(session, series, load_shotlist(session, episode))
        episodes.append(EpisodeCosts(episode.id, episode.code, episode.title, estimated,
                                     float(spent.get(episode.id) or 0.0)))
    return SeriesCosts(series.id, series.title, series.costs.currency, episodes, series.budget.episode,
                       series.budget.series)
