"""A person's edits to a shot list, round-tripped through a spreadsheet (CSV) or a text editor (YAML). An import
stores only what differs from the plan, with the hash of the script under the shot, so the edit survives every
re-plan until the script under it changes; then it is reported as a conflict and kept, never silently dropped."""

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production.storyboard import timing
from aigms.production.bible import load_series
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, read_episode, record_episode
from aigms.production.user_files import SHOTLIST_BYTES, SHOTLIST_VALUES, load_yaml, read_text, yaml_line
from aigms.schemas.errors import InputError
from aigms.schemas.shotlist import EDITABLE, Shot, ShotEdit, ShotList

READ_ONLY = ("scene", "kind", "speaker", "text", "lines")
COLUMNS = ("id", "scene", "kind", *EDITABLE, "speaker", "text", "lines", "series", "episode")
FORMATS = ("csv", "yaml")
# A cell a spreadsheet would run as a formula (OWASP, "CSV Injection"): exported behind a single quote, which the
# import takes off again. A cell that already starts with quotes before such a character gets one more, so the
# round trip gives back exactly what was exported.
FORMULA = re.compile(r"'*[=+\-@\t\r]")


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
        cells = {**csv_cells(shot), "series": shotlist.series, "episode": shotlist.episode}
        writer.writerow({key: _quoted(cells[key]) for key in COLUMNS})
    return buffer.getvalue()


def csv_cells(shot: Shot) -> dict[str, Any]:
    """A shot as a row of the exported CSV, before formula quoting (the dashboard's shot list table shows the same
    cells)."""
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


def _quoted(cell: Any) -> Any:
    return f"'{cell}" if isinstance(cell, str) and FORMULA.match(cell) else cell


def _unquoted(cell: str | None) -> str | None:
    return cell[1:] if cell and cell.startswith("'") and FORMULA.match(cell[1:]) else cell


def _read_csv(path: Path, text: str) -> tuple[str, str, list[tuple[int, dict[str, Any]]]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _csv_rows(path, reader)
    except csv.Error as error:
        raise InputError(path, reader.line_num or 1, f"not valid CSV ({error})",
                         "save it again from the spreadsheet as CSV (UTF-8)") from None


def _csv_rows(path: Path, reader: csv.DictReader) -> tuple[str, str, list[tuple[int, dict[str, Any]]]]:
    columns = reader.fieldnames or []
    missing = {"id", "series", "episode"} - set(columns)
    if missing:
        raise InputError(path, 1, f"missing columns: {', '.join(sorted(missing))}",
                         "start from `aigms shots export EPISODE --format csv`")
    twice = sorted({name for name in columns if columns.count(name) > 1})
    if twice:
        raise InputError(path, 1, f"column {', '.join(twice)} appears twice", "keep one of each column")
    rows, names = [], []
    for record in reader:
        line = reader.line_num
        if None in record:
            raise InputError(path, line, f"{len(record[None])} more cells than there are columns",
                             "quote cells that hold commas, or start from a fresh export")
        record = {key: _unquoted(value) for key, value in record.items()}
        names.append((line, record.get("series") or "", record.get("episode") or ""))
        rows.append((line, row_from_cells(record)))
    return *_one_episode(path, names), rows


def _read_yaml(path: Path, text: str) -> tuple[str, str, list[tuple[int, dict[str, Any]]]]:
    document, root = load_yaml(path, text, SHOTLIST_VALUES)
    if not isinstance(document, dict) or not isinstance(document.get("shots"), list):
        raise InputError(path, 1, "expected series, episode and a list of shots",
                         "start from `aigms shots export EPISODE --format yaml`")
    rows = [(yaml_line(root, ("shots", index)) or 1, data) for index, data in enumerate(document["shots"])]
    named = (yaml_line(root, ("series",)) or 1, str(document.get("series", "")), str(document.get("episode", "")))
    return *_one_episode(path, [named]), rows


def _one_episode(path: Path, names: list[tuple[int, str, str]]) -> tuple[str, str]:
    """The series and episode every row names; the first row that names none, or another, is refused."""
    if not names:
        raise InputError(path, 1, "the file lists no shots", "start from `aigms shots export EPISODE`")
    _, series, episode = names[0]
    for line, *named in names:
        if not all(named) or named != [series, episode]:
            raise InputError(path, line, "a shot list file holds one episode of one series",
                             "export each episode to its own file and keep the series and episode columns")
    return series, episode


def read_edits(path: Path) -> tuple[str, str, list[tuple[int, ShotEdit]]]:
    """Parse and validate the file before anything is written; an error names the row (CSV) or line (YAML)."""
    text = read_text(path, SHOTLIST_BYTES, "shot list")
    reader = _read_yaml if path.suffix.lower() in (".yaml", ".yml") else _read_csv
    series_id, episode_id, rows = reader(path, text)
    return series_id, episode_id, validate_edits(path, rows)


def validate_edits(path: Path, rows: list[tuple[int | None, Any]]) -> list[tuple[int | None, ShotEdit]]:
    """Rows of edits checked the one way every door in (a file, the dashboard's table and forms, the API) checks
    them: each a mapping, valid as a `ShotEdit`, each shot once; an error names the row's line when there is one."""
    edits, seen = [], {}
    for line, data in rows:
        if not isinstance(data, dict):
            raise InputError(path, line, "a shot must be a mapping of columns such as id, size, duration",
                             "start from `aigms shots export EPISODE --format yaml`")
        try:
            edit = ShotEdit.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InputError(path, line, f"shot {data.get('id', '?')}: {where}: {first['msg']}",
                             "see `aigms schema shot-edit` for the allowed values") from None
        if edit.id in seen:
            raise InputError(path, line, f"shot {edit.id} is listed twice (first on line {seen[edit.id]})",
                             "keep one row per shot")
        seen[edit.id] = line
        edits.append((line, edit))
    return edits


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
    episode = record_episode(session, series, source, ingested)
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
