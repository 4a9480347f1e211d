"""A person's edits to a shot list, round-tripped through a spreadsheet (CSV) or a text editor (YAML). An import
stores only what differs from the plan, with the hash of the script under the shot, so the edit survives every
re-plan until the script under it changes; then it is reported as a conflict and kept, never silently dropped."""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production.storyboard import timing
from aigms.production.bible import load_series, yaml_line
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, read_episode
from aigms.schemas.errors import InputError
from aigms.schemas.series import Series
from aigms.schemas.shotlist import EDITABLE, Shot, ShotEdit, ShotList

READ_ONLY = ("scene", "kind", "speaker", "text", "lines")
COLUMNS = ("id", "scene", "kind", *EDITABLE, "speaker", "text", "lines", "series", "episode")
FORMATS = ("csv", "yaml")


@dataclass
class ImportReport:
    series: str
    episode: str
    shots_edited: list[str] = field(default_factory=list)
    shots_cleared: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def export_shotlist(shotlist: ShotList, form: str) -> str:
    """The shot list as a person edits it: editable columns between the ones that say what the shot is."""
    if form == "yaml":
        shots = [shot.model_dump(mode="json", include={"id", *READ_ONLY, *EDITABLE}) for shot in shotlist.shots]
        shots = [{key: data[key] for key in COLUMNS if key not in ("series", "episode")} for data in shots]
        document = {"series": shotlist.series, "episode": shotlist.episode, "shots": shots}
        return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for shot in shotlist.shots:
        writer.writerow({**csv_cells(shot), "series": shotlist.series, "episode": shotlist.episode})
    return buffer.getvalue()


def csv_cells(shot: Shot) -> dict[str, Any]:
    """A shot as a row of the exported CSV (the dashboard's shot list table shows the same cells)."""
    row = shot.model_dump(mode="json", include={"id", *READ_ONLY, *EDITABLE})
    row["characters"] = " ".join(row["characters"])
    row["lines"] = " ".join(str(line) for line in row["lines"])
    row["emotion"] = row["emotion"] or ""
    row["duration"] = round(row["duration"], 3)
    row["generator"] = row["generator"]["backend"] if row["generator"] else ""
    return {key: row[key] for key in COLUMNS if key in row}


def row_from_cells(record: dict[str, Any]) -> dict[str, Any]:
    """A CSV row's cells as the values a `ShotEdit` is validated from; read-only columns are left out."""
    data: dict[str, Any] = {key: value for key, value in record.items() if key in EDITABLE or key == "id"}
    data["characters"] = (data.get("characters") or "").split()
    data["emotion"] = data.get("emotion") or None
    return data


def _read_csv(path: Path, text: str) -> tuple[str, str, list[tuple[int, dict[str, Any]]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"id", "series", "episode"} - set(reader.fieldnames or [])
    if missing:
        raise InputError(path, 1, f"missing columns: {', '.join(sorted(missing))}",
                         "start from `aigms shots export EPISODE --format csv`")
    rows, names = [], set()
    for record in reader:
        names.add((record.get("series") or "", record.get("episode") or ""))
        rows.append((reader.line_num, row_from_cells(record)))
    return *_one_episode(path, names), rows


def _read_yaml(path: Path, text: str) -> tuple[str, str, list[tuple[int, dict[str, Any]]]]:
    try:
        document, root = yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(path, mark.line + 1 if mark else None, "not valid YAML", "fix the indentation or quoting") from None
    if not isinstance(document, dict) or not isinstance(document.get("shots"), list):
        raise InputError(path, 1, "expected series, episode and a list of shots",
                         "start from `aigms shots export EPISODE --format yaml`")
    rows = [(yaml_line(root, ("shots", index)) or 1, data) for index, data in enumerate(document["shots"])]
    return *_one_episode(path, {(str(document.get("series", "")), str(document.get("episode", "")))}), rows


def _one_episode(path: Path, names: set[tuple[str, str]]) -> tuple[str, str]:
    if len(names) != 1 or not all(next(iter(names))):
        raise InputError(path, None, "a shot list file holds one episode of one series",
                         "export each episode to its own file and keep the series and episode columns")
    return next(iter(names))


def read_edits(path: Path) -> tuple[str, str, list[tuple[int, ShotEdit]]]:
    """Parse and validate the file before anything is written; an error names the row (CSV) or line (YAML)."""
    text = path.read_text(encoding="utf-8-sig")
    reader = _read_yaml if path.suffix.lower() in (".yaml", ".yml") else _read_csv
    series_id, episode_id, rows = reader(path, text)
    return series_id, episode_id, [(line, validate_edit(path, line, data)) for line, data in rows]


def validate_edit(path: Path, line: int | None, data: dict[str, Any]) -> ShotEdit:
    """One row of edits, checked the one way every door in (a file, a dashboard form, the API) checks it."""
    try:
        return ShotEdit.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(path, line, f"shot {data.get('id', '?')}: {where}: {first['msg']}",
                         "see `aigms schema shot-edit` for the allowed values") from None


def import_edits(session: Session, path: Path) -> ImportReport:
    """Store each row's differences from the current plan as that shot's edits, then re-plan with them, all in
    the caller's transaction: a bad row leaves the database as it was."""
    series_id, episode_id, edits = read_edits(path)
    return record_edits(session, path, series_id, episode_id, edits)


def record_edits(session: Session, path: Path, series_id: str, episode_id: str,
                 edits: list[tuple[int | None, ShotEdit]]) -> ImportReport:
    """The validated rows of `path` (a file, or a form named like one) stored and re-planned; shots without a row
    keep their edits."""
    row = session.get(models.Series, series_id)
    if row is None:
        raise InputError(path, None, f"no series {series_id!r} in the database", "run `aigms ingest SERIES_DIR` first")
    series = load_series(Path(row.root))
    source = read_episode(series, episode_id)
    ingested = IngestReport()
    ingest_series(session, series, ingested)
    episode = ingest_episode(session, series, source, ingested)
    planned = {shot.id: shot for shot in source.plan.shotlist.shots}
    rows = {shot.code: shot for shot in session.scalars(select(models.Shot).filter_by(episode_id=episode.id))}
    report = ImportReport(series_id, episode_id)
    for line, edit in edits:
        shot = planned.get(edit.id)
        if shot is None:
            raise InputError(path, line, f"no shot {edit.id} in {episode_id}",
                             "export the shot list again: shots come and go as the script changes")
        unknown = [key for key in edit.characters if key not in series.characters]
        if unknown:
            raise InputError(path, line, f"shot {edit.id}: no character {', '.join(unknown)} in the bible",
                             f"use character ids from series.yaml: {', '.join(series.characters)}")
        overrides = _differences(edit, shot, series.delivery.fps)
        target = rows[edit.id]
        if overrides != (target.overrides or {}):
            (report.shots_edited if overrides else report.shots_cleared).append(edit.id)
        target.overrides = overrides
        target.overrides_source_sha256 = shot.source_sha256 if overrides else None
    session.flush()
    ingest_episode(session, series, source, IngestReport())
    report.warnings = ingested.warnings
    return report


def _differences(edit: ShotEdit, planned: Shot, fps: int) -> dict[str, Any]:
    values = edit.model_dump(mode="json", exclude={"id"})
    values["duration"] = timing.snap(values["duration"], fps)
    plan = planned.model_dump(mode="json")
    return {name: value for name, value in values.items() if value != plan[name]}
