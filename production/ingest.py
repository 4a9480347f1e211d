"""Loading a series and its episodes into the project database. Idempotent: a row is written only when what it
says changed, so ingesting twice changes nothing and editing one line touches only the rows under it."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production.script import read_script
from aigms.production.storyboard import Plan, plan_shots, resolve_location
from aigms.schemas.script import Script
from aigms.schemas.series import EpisodeRef, Series


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


def canonical_sha256(data: Any) -> str:
    """A hash of JSON-able data that does not depend on key order or whitespace."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


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
    """The episode, its scenes and its shots; shots that left the script are removed (their takes stay)."""
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
    codes = set()
    for position, shot in enumerate(source.plan.shotlist.shots):
        spec = shot.model_dump(mode="json")
        codes.add(shot.id)
        _upsert(
            session, report, models.Shot, {"episode_id": episode.id, "code": shot.id},
            {"scene_id": scene_ids[shot.scene], "position": position, "kind": shot.kind, "spec": spec,
             "spec_sha256": canonical_sha256(spec), "duration": shot.duration},
        )
    for stale in session.scalars(select(models.Shot).filter_by(episode_id=episode.id)):
        if stale.code not in codes:
            session.delete(stale)
            report.rows_written += 1
    session.flush()
    report.episodes.append(source.ref.id)
    report.warnings.extend(source.plan.warnings)
    return episode
