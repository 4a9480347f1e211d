"""Recording a series and its episodes in the project database. Idempotent: a row is written only when what it
says changed, so recording twice changes nothing and editing one line touches only the rows under it. Every command
that shows, edits, approves or renders an episode records it first (`record_episode`), so what a person sees is
what would be filmed."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production.store.assets import canonical_sha256
from aigms.production.script.fountain import read_script
from aigms.production.storyboard.approval import require_approved
from aigms.production.storyboard.shot_ids import number_shots
from aigms.production.storyboard.plan import Plan, apply_edits, plan_shots, resolve_location
from aigms.schemas.errors import InputError
from aigms.schemas.script import Script
from aigms.schemas.series import EpisodeRef, Series
from aigms.schemas.shotlist import Shot, ShotList


@dataclass
class EpisodeSource:
    """An episode as read from disk: its script, parsed, and the naive shot list planned from it."""

    ref: EpisodeRef
    path: Path
    script: Script
    plan: Plan
    sha256: str


@dataclass
class IngestReport:
    episodes: list[str] = field(default_factory=list)
    rows_written: int = 0
    warnings: list[str] = field(default_factory=list)


def read_episode(series: Series, episode_id: str, *, strict: bool = False) -> EpisodeSource:
    ref = series.episode(episode_id)
    path = series.root / ref.script
    script = read_script(path)
    plan = plan_shots(script, series, episode_id, path, strict=strict)
    return EpisodeSource(ref, path, script, plan, hashlib.sha256(path.read_bytes()).hexdigest())


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _upsert(session: Session, report: IngestReport, model: type, keys: dict[str, Any], values: dict[str, Any]) -> Any:
    row = session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **values)
        session.add(row)
        report.rows_written += 1
    elif _assign(row, values):
        report.rows_written += 1
    session.flush()
    return row


def ingest_series(session: Session, series: Series, report: IngestReport) -> models.Series:
    bible = series.model_dump(mode="json")
    row = _upsert(
        session, report, models.Series, {"id": series.id},
        {"title": series.title, "language": series.language, "root": str(series.root), "bible": bible,
         "bible_sha256": canonical_sha256(bible)},
    )
    for model, entries in ((models.Character, series.characters), (models.Location, series.locations)):
        for key, entry in entries.items():
            _upsert(
                session, report, model, {"series_id": series.id, "key": key},
                {"name": entry.name, "description": entry.description, "data": entry.model_dump(mode="json")},
            )
    return row


def ingest_episode(session: Session, series: Series, source: EpisodeSource, report: IngestReport) -> models.Episode:
    """The episode, its scenes and its shots: ids kept from the previous plan, a person's edits re-applied (or
    reported as conflicts where the script under them changed); shots that left the script are removed (their takes
    stay). The shot list's hash is what an approval signs."""
    season = _upsert(session, report, models.Season, {"series_id": series.id, "number": source.ref.season}, {})
    episode = _upsert(
        session, report, models.Episode, {"series_id": series.id, "code": source.ref.id},
        {"season_id": season.id, "number": source.ref.number, "title": source.ref.title,
         "language": series.episode_language(source.ref), "script_path": str(source.ref.script),
         "script_sha256": source.sha256},
    )
    locations = {
        row.key: row.id for row in session.scalars(select(models.Location).filter_by(series_id=series.id))
    }
    scene_ids: dict[int, int] = {}
    for index, scene in enumerate(source.script.scenes, start=1):
        location_key = resolve_location(scene.location, series)
        row = _upsert(
            session, report, models.Scene, {"episode_id": episode.id, "index": index},
            {"heading": scene.heading, "line": scene.line, "location_id": locations.get(location_key or "")},
        )
        scene_ids[index] = row.id
    for stale in session.scalars(
        select(models.Scene).where(models.Scene.episode_id == episode.id, models.Scene.index > len(scene_ids))
    ):
        session.delete(stale)
        report.rows_written += 1
    shots = session.scalars(select(models.Shot).filter_by(episode_id=episode.id).order_by(models.Shot.position))
    previous = {row.code: row for row in shots}
    number_shots(source.plan.shotlist.shots, [Shot.model_validate(row.spec) for row in previous.values()])
    specs = []
    for position, planned in enumerate(source.plan.shotlist.shots):
        row = previous.get(planned.id)
        shot, conflict = apply_edits(planned, row.overrides, row.overrides_source_sha256, series) if row else (planned, None)
        if conflict:
            report.warnings.append(f"{source.path}: shot {shot.id}: {conflict}")
        spec = shot.model_dump(mode="json")
        specs.append(spec)
        _upsert(
            session, report, models.Shot, {"episode_id": episode.id, "code": shot.id},
            {"scene_id": scene_ids[shot.scene], "position": position, "kind": shot.kind, "spec": spec,
             "spec_sha256": canonical_sha256(spec), "duration": shot.duration, "conflict": conflict},
        )
    codes = {shot.id for shot in source.plan.shotlist.shots}
    for code, stale in previous.items():
        if code not in codes:
            session.delete(stale)
            report.rows_written += 1
    _assign(episode, {"shotlist_ending": source.plan.shotlist.ending,
                      "shotlist_sha256": canonical_sha256([source.plan.shotlist.ending, specs])})
    session.flush()
    report.episodes.append(source.ref.id)
    report.warnings.extend(source.plan.warnings)
    return episode


def load_shotlist(session: Session, episode: models.Episode) -> ShotList:
    """The shot list as it will be filmed: the plan with every person's edits, in story order."""
    rows = session.scalars(select(models.Shot).filter_by(episode_id=episode.id).order_by(models.Shot.position))
    series = session.get(models.Series, episode.series_id)
    return ShotList(
        series=episode.series_id, episode=episode.code, language=episode.language,
        fps=series.bible["delivery"]["fps"], shots=[Shot.model_validate(row.spec) for row in rows],
        ending=episode.shotlist_ending,
    )


def record_episode(session: Session, series: Series, source: EpisodeSource,
                   report: IngestReport | None = None) -> models.Episode:
    """The series and one episode, planned from its script, recorded in the caller's transaction."""
    report = report if report is not None else IngestReport()
    ingest_series(session, series, report)
    return ingest_episode(session, series, source, report)


@dataclass(frozen=True)
class PlannedEpisode:
    """An episode as it will be filmed: the shot list with every person's edits, each shot's row, what planning
    had to say (uncast extras, edits in conflict with the script), and the shots a render of some of them films."""

    episode_row_id: int
    shotlist: ShotList
    rows: dict[str, int]  # shot id → row id
    warnings: list[str]
    only: frozenset[str] | None = None  # the shots to film; None: every one, empty: none (a new cut)


def plan_episode(engine: Engine, series: Series, episode_id: str, *, strict: bool = False, force: bool = False,
                 shots: list[str] | None = None) -> PlannedEpisode:
    """Parse, plan and record the episode; an unapproved shot list stops here, before any GPU time, unless
    `force` (previs of a draft), and so does a shot asked for (`shots`) that the episode does not have."""
    source = read_episode(series, episode_id, strict=strict)
    report = IngestReport()
    with session_scope(engine) as session:
        episode = record_episode(session, series, source, report)
    with session_scope(engine) as session:
        episode = session.get(models.Episode, episode.id)
        if not force:
            require_approved(episode)
        rows = {row.code: row.id for row in episode.shots}
        unknown = sorted(set(shots or []) - set(rows))
        if unknown:
            raise InputError(series.root / "series.yaml", None, f"no shot {', '.join(unknown)} in {episode_id}",
                             f"name shots of its shot list (`aigms shots show {episode_id}`)")
        return PlannedEpisode(episode.id, load_shotlist(session, episode), rows, report.warnings,
                              None if shots is None else frozenset(shots))
