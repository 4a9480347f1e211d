"""Where the money went: the ledger (`model_calls`) read back by episode, scene, shot and backend, with retakes
and rejected takes broken out, for `aigms cost report`, the dashboard and the manifest. One query per answer."""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from aigms.db import models


@dataclass
class Spend:
    """A sum of calls: all of them, the retakes' share, and what went on takes a person rejected."""

    total: float = 0.0
    retakes: float = 0.0
    rejected: float = 0.0
    calls: int = 0

    def add(self, cost: float, retake: bool, rejected: bool) -> None:
        self.total += cost
        self.retakes += cost if retake else 0.0
        self.rejected += cost if rejected else 0.0
        self.calls += 1


@dataclass
class SpendReport:
    series: str
    currency: str
    total: Spend = field(default_factory=Spend)
    episodes: dict[str, Spend] = field(default_factory=lambda: defaultdict(Spend))
    scenes: dict[tuple[str, int], Spend] = field(default_factory=lambda: defaultdict(Spend))
    shots: dict[tuple[str, str], Spend] = field(default_factory=lambda: defaultdict(Spend))
    backends: dict[str, Spend] = field(default_factory=lambda: defaultdict(Spend))


def spend_report(session: Session, series_id: str, currency: str, episode_code: str | None = None) -> SpendReport:
    """Every priced call of the series (or one episode), summed four ways."""
    calls = models.ModelCall
    rejected = exists().where(models.Retake.rejected_take_id == calls.take_id)
    query = (select(models.Episode.code, models.Scene.index, models.Shot.code, calls.backend, calls.cost,
                    calls.retake, rejected)
             .outerjoin(models.Shot, models.Shot.id == calls.shot_id)
             .outerjoin(models.Scene, models.Scene.id == models.Shot.scene_id)
             .outerjoin(models.Episode, models.Episode.id == calls.episode_id)
             .where(calls.series_id == series_id, calls.cost.is_not(None)))
    if episode_code is not None:
        query = query.where(models.Episode.code == episode_code)
    report = SpendReport(series_id, currency)
    for episode, scene, shot, backend, cost, retake, was_rejected in session.execute(query):
        for spend in (report.total, report.episodes[episode or "-"], report.backends[backend],
                      report.scenes[(episode or "-", scene or 0)], report.shots[(episode or "-", shot or "-")]):
            spend.add(cost, bool(retake), bool(was_rejected))
    return report


def take_costs(session: Session, take_ids: list[int]) -> dict[int, float]:
    """What each take's calls cost, the keyframe it started from included."""
    if not take_ids:
        return {}
    keyframes = dict(session.execute(
        select(models.Take.id, models.Take.recipe["keyframe"].as_string()).where(models.Take.id.in_(take_ids))).all())
    keyframe_takes = dict(session.execute(
        select(models.Asset.sha256, models.Take.id).join(models.Take, models.Take.asset_id == models.Asset.id)
        .where(models.Take.kind == models.TAKE_KEYFRAME,
               models.Asset.sha256.in_([sha for sha in keyframes.values() if sha]))).all())
    callers = {take_id: [take_id] + ([keyframe_takes[sha]] if sha in keyframe_takes else [])
               for take_id, sha in keyframes.items()}
    wanted = {caller for ids in callers.values() for caller in ids}
    totals = dict(session.execute(select(models.ModelCall.take_id, func.sum(models.ModelCall.cost))
                                  .where(models.ModelCall.take_id.in_(wanted)).group_by(models.ModelCall.take_id)).all())
    return {take_id: sum(float(totals.get(caller) or 0.0) for caller in ids) for take_id, ids in callers.items()}


def episode_costs(session: Session, series_id: str) -> dict[int, float]:
    """Spent per episode row id, for a whole series in one query."""
    rows = session.execute(select(models.ModelCall.episode_id, func.sum(models.ModelCall.cost))
                           .where(models.ModelCall.series_id == series_id, models.ModelCall.episode_id.is_not(None))
                           .group_by(models.ModelCall.episode_id))
    return {episode_id: float(total or 0.0) for episode_id, total in rows}
