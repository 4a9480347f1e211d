"""Asking for another go at a shot without rejecting a take: "N more takes" of the shot as it stands (new seeds),
or "retake with changes" to what it asks for (note, size, framing, move, duration, cast, generator…), checked
exactly as a row of an imported shot list is. Each is a `Retake` row (who asked, when, and what) that the render of
the shot fills; neither adds words to the prompt (a changed note is the shot's own `note`)."""

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from aigms.db import models
from aigms.db.queries import NotFound
from aigms.production.review import film_jobs
from aigms.production.review.people import may_approve, may_film
from aigms.production.review.reviews import Reviewer, ReviewError
from aigms.production.storyboard.approval import approve_shotlist
from aigms.schemas.errors import InputError
from aigms.production.storyboard.shot_edits import (ImportReport, csv_cells, record_edits, row_from_cells,
                                                    validate_edits)
from aigms.schemas.shotlist import EDITABLE, Shot


def _cells(source: Path, line: int | None, cells: dict[str, Any]) -> dict[str, Any]:
    """Cells as a CSV holds them (a list of characters as one cell); a NUL, which no spreadsheet writes and
    PostgreSQL cannot keep, is refused with the row."""
    flat = {key: " ".join(value) if isinstance(value, list) else value for key, value in cells.items()}
    if any(isinstance(value, str) and "\x00" in value for value in flat.values()):
        raise InputError(source, line, "a cell holds a NUL character", "type the text again")
    return flat


def _shot(session: Session, person: Reviewer, shot_id: int) -> models.Shot:
    if not may_film(person.role):
        raise PermissionError(f"{person.name} is a {person.role}; viewers watch: artists, directors and admins ask "
                              "for takes")
    shot = session.get(models.Shot, shot_id)
    if shot is None:
        raise NotFound(f"no shot {shot_id}")
    return shot


def more_takes(session: Session, person: Reviewer, shot_id: int, more: int) -> tuple[models.Retake, int]:
    """The request, and the take count a render of the shot needs to make `more` new takes."""
    shot = _shot(session, person, shot_id)
    takes = film_jobs.takes_for_more(session, shot, more)
    retake = models.Retake(shot_id=shot.id, note="", more_takes=more, requested_by=person.name)
    session.add(retake)
    session.flush()
    return retake, takes


def retake_with_changes(session: Session, person: Reviewer, shot_id: int, changes: dict[str, Any]) -> models.Retake:
    """Change the shot as a shot list import would (the same validation, the same kept-across-re-plans edit) and
    ask for it to be filmed again. A director's change to an approved shot list signs it again (a `Review` says
    so); anyone else's waits for a director's approval. A circled take no longer answers the shot, so the circle
    goes."""
    shot = _shot(session, person, shot_id)
    episode = session.get(models.Episode, shot.episode_id)
    film_jobs.ensure_not_filming(session, episode.id, shot.code)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ReviewError(f"{', '.join(unknown)} cannot be changed here: change {', '.join(EDITABLE)}")
    source = Path(f"shot {shot.code} of {episode.code}")
    before = csv_cells(Shot.model_validate(shot.spec))
    after = {**before, **{key: "" if value is None else str(value)
                          for key, value in _cells(source, None, changes).items()}}
    [(_, edit)] = validate_edits(source, [(None, row_from_cells(after))])
    [(_, current)] = validate_edits(source, [(None, row_from_cells(before))])
    now, asked = current.model_dump(mode="json"), edit.model_dump(mode="json")
    changed = {key: [now[key], asked[key]] for key in EDITABLE if now[key] != asked[key]}
    if not changed:
        raise ReviewError(f"nothing changed in shot {shot.code}: edit a field, or ask for more takes")
    was_approved = episode.shotlist_approved
    record_edits(session, source, episode.series_id, episode.code, [(None, edit)])
    if was_approved and may_approve(person.role):
        approve_shotlist(session, episode, person.name, f"with the change to shot {shot.code}")
    circled = session.get(models.CircledTake, shot.id)
    if circled is not None:
        session.delete(circled)
    retake = models.Retake(shot_id=shot.id, note="", changes=changed, requested_by=person.name)
    session.add(retake)
    session.flush()
    return retake


def edit_shotlist(session: Session, person: Reviewer, episode_id: int, rows: list[dict[str, Any]]) -> ImportReport:
    """The shot list table of the episode page (or the API), saved as `aigms shots import` saves a CSV: each row
    validated the same way, named by its row, all rows or none. Approval lapses when the shot list changes."""
    if not may_film(person.role):
        raise PermissionError(f"{person.name} is a {person.role}; viewers watch: artists, directors and admins edit "
                              "the shot list")
    episode = session.get(models.Episode, episode_id)
    if episode is None:
        raise NotFound(f"no episode {episode_id}")
    source = Path(f"shot list of {episode.code}")
    edits = validate_edits(source, [(number, row_from_cells(_cells(source, number, row)))
                                    for number, row in enumerate(rows, 1)])
    return record_edits(session, source, episode.series_id, episode.code, edits)
