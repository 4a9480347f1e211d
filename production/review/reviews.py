"""Review: a director approves or rejects a take, a shot list or an episode cut, with a note. Every decision is a
`Review` row with its author and time; a rejected take becomes a `Retake` whose note joins the shot's prompt
context, so the next render makes a new take and every later render keeps finding that one.

Statuses follow Kitsu's task workflow: todo → (wip) → waiting for approval → retake or done."""

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db import models, status
from aigms.db.queries import NotFound
from aigms.production.store import assets
from aigms.production.storyboard.approval import approve_shotlist
from aigms.production.review.people import may_approve, may_film
from aigms.schemas.shotlist import Shot, ShotList

APPROVE, REJECT = "approve", "reject"
DECISIONS = (APPROVE, REJECT)
NOTE, CIRCLED = "note", "circled"  # review rows that are not decisions on the shot: a remark, a pick for the cut
NOTES_HEADING = "Director's notes for this retake:"
Row = TypeVar("Row")


class ReviewError(ValueError):
    """A decision that cannot be taken as asked; the message says why and what to do instead."""


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str


@dataclass(frozen=True)
class Region:
    """A rectangle drawn on a frame, in fractions of the picture from its top left corner."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        inside = (0 <= self.x < 1 and 0 <= self.y < 1
                  and 0 < self.w <= 1 - self.x + 1e-9 and 0 < self.h <= 1 - self.y + 1e-9)
        if not inside:
            raise ReviewError("a region is x, y, w, h in fractions of the frame (0–1), inside it: draw it again")

    def where(self) -> str:
        """Where on the frame, as a person would say it to a camera operator."""
        across = ("left", "centre", "right")[min(2, int((self.x + self.w / 2) * 3))]
        down = ("top", "middle", "bottom")[min(2, int((self.y + self.h / 2) * 3))]
        return "centre" if (across, down) == ("centre", "middle") else f"{down} {across}".replace("middle ", "")


def place(frame: int | None, fps: float, region: Region | None) -> str:
    """'at 1.20 s (frame 29), top left: ' — the start of a note that points at a frame; empty when it does not."""
    if frame is None:
        return ""
    where = f", {region.where()}" if region else ""
    return f"at {frame / fps:.2f} s (frame {frame}){where}: "


def _check(reviewer: Reviewer, decision: str, note: str) -> str:
    if not may_approve(reviewer.role):
        raise PermissionError(f"{reviewer.name} is a {reviewer.role}; only directors and admins approve or reject")
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}: use {APPROVE} or {REJECT}")
    note = note.strip()
    if decision == REJECT and not note:
        raise ReviewError("a rejection needs a note: say what the retake should change")
    return note


def _found(session: Session, model: type[Row], row_id: int, what: str) -> Row:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    return row


def _record(session: Session, reviewer: Reviewer, target_type: str, target_id: int, status: str,
            note: str, frame: int | None = None, region: Region | None = None) -> models.Review:
    review = models.Review(target_type=target_type, target_id=target_id, status=status, note=note,
                           author=reviewer.name, frame=frame, region=None if region is None else vars(region))
    session.add(review)
    session.flush()
    return review


def review_take(session: Session, reviewer: Reviewer, take_id: int, decision: str, note: str = "",
                frame: int | None = None, region: Region | None = None) -> models.Review:
    """Approving a take selects (and circles) it for its shot and marks the shot done; rejecting queues a retake of
    the shot. A rejection that points at a frame (and a region of it) says where in the retake's prompt context."""
    note = _check(reviewer, decision, note)
    take, shot = _take_of_shot(session, take_id)
    _check_frame(take, frame, region)
    if decision == APPROVE:
        review = _record(session, reviewer, "take", take.id, models.STATUS_DONE, note, frame, region)
        status.approved(shot, take.id)
        _circle(session, reviewer, shot, take)
        for retake in _open_retakes(session, shot.id):
            retake.filled_take_id, retake.filled_at = take.id, models.utcnow()
        return review
    review = _record(session, reviewer, "take", take.id, models.STATUS_RETAKE, note, frame, region)
    status.rejected(shot)
    circled = session.get(models.CircledTake, shot.id)
    if circled is not None and circled.take_id == take.id:
        session.delete(circled)
    session.add(models.Retake(shot_id=shot.id, rejected_take_id=take.id, review_id=review.id,
                              note=place(frame, _fps(session, shot), region) + note, requested_by=reviewer.name))
    session.flush()
    return review


def note_on_take(session: Session, reviewer: Reviewer, take_id: int, note: str, frame: int | None = None,
                 region: Region | None = None) -> models.Review:
    """A remark on a take, at a frame or not, that decides nothing: shown on the take's timeline and carried to the
    editor as a marker, but kept out of prompts (only a rejection's note asks the generator for a change)."""
    if not may_film(reviewer.role):
        raise PermissionError(f"{reviewer.name} is a {reviewer.role}; viewers watch: artists, directors and admins "
                              "leave notes")
    note = note.strip()
    if not note:
        raise ReviewError("a note needs its text: say what you see")
    take, _shot = _take_of_shot(session, take_id)
    _check_frame(take, frame, region)
    return _record(session, reviewer, "take", take.id, NOTE, note, frame, region)


def circle_take(session: Session, reviewer: Reviewer, take_id: int, note: str = "") -> models.Review:
    """Pick the take for the cut, without deciding the shot is done: it is selected now, and renders keep it while
    the shot is filmed as it was (`selection.takes_for_cut`)."""
    if not may_approve(reviewer.role):
        raise PermissionError(f"{reviewer.name} is a {reviewer.role}; only directors and admins circle a take")
    take, shot = _take_of_shot(session, take_id)
    if take.kind != models.TAKE_CLIP or take.status != models.TAKE_OK or take.asset_id is None:
        raise ReviewError(f"take {take_id} is a {take.kind} that is {take.status}: circle a filmed clip")
    shot.selected_take_id = take.id
    _circle(session, reviewer, shot, take)
    return _record(session, reviewer, "take", take.id, CIRCLED, note.strip())


def _circle(session: Session, reviewer: Reviewer, shot: models.Shot, take: models.Take) -> None:
    circled = session.get(models.CircledTake, shot.id)
    if circled is None:
        session.add(models.CircledTake(shot_id=shot.id, take_id=take.id, circled_by=reviewer.name))
    else:
        circled.take_id, circled.circled_by, circled.circled_at = take.id, reviewer.name, models.utcnow()


def _take_of_shot(session: Session, take_id: int) -> tuple[models.Take, models.Shot]:
    take = _found(session, models.Take, take_id, "take")
    if take.shot_id is None:
        raise ReviewError(f"take {take_id} no longer belongs to a shot (the script dropped it); nothing to review")
    return take, _found(session, models.Shot, take.shot_id, "shot")


def _check_frame(take: models.Take, frame: int | None, region: Region | None) -> None:
    if frame is None:
        if region is not None:
            raise ReviewError("a region is drawn on a frame: give the frame too")
        return
    frames = (take.asset.media or {}).get("frames") if take.asset is not None else None
    if frame < 0 or (frames and frame >= frames):
        raise ReviewError(f"frame {frame} is not in take {take.id}"
                          + (f" (frames 0–{frames - 1})" if frames else "") + ": pause on the frame and note again")


def _fps(session: Session, shot: models.Shot) -> float:
    series = session.get(models.Series, session.get(models.Episode, shot.episode_id).series_id)
    return float((series.bible.get("delivery") or {}).get("fps", 30))


def review_shotlist(session: Session, reviewer: Reviewer, episode_id: int, decision: str,
                    note: str = "") -> models.Review:
    """Approving records the hash of the shot list as it is now; an edit after that needs a new approval."""
    note = _check(reviewer, decision, note)
    episode = _found(session, models.Episode, episode_id, "episode")
    if decision == APPROVE:
        return approve_shotlist(session, episode, reviewer.name, note)
    episode.shotlist_approved_sha256 = episode.shotlist_approved_by = episode.shotlist_approved_at = None
    return _record(session, reviewer, "shotlist", episode.id, models.STATUS_RETAKE, note)


def review_cut(session: Session, reviewer: Reviewer, cut_id: int, decision: str, note: str = "") -> models.Review:
    """An episode cut approved is the episode done; rejected, the episode goes back for changes."""
    note = _check(reviewer, decision, note)
    cut = _found(session, models.EpisodeCut, cut_id, "episode cut")
    verdict = models.STATUS_DONE if decision == APPROVE else models.STATUS_RETAKE
    cut.status = verdict
    _found(session, models.Episode, cut.episode_id, "episode").status = verdict
    return _record(session, reviewer, "cut", cut.id, verdict, note)


def _open_retakes(session: Session, shot_id: int) -> list[models.Retake]:
    return list(session.scalars(
        select(models.Retake).where(models.Retake.shot_id == shot_id, models.Retake.filled_take_id.is_(None))
    ))


def prompt_context(prompt: str, notes: list[str]) -> str:
    """The prompt with the director's notes after it, oldest first."""
    if not notes:
        return prompt
    listed = "\n".join(f"- {note}" for note in notes)
    return f"{prompt}\n{NOTES_HEADING}\n{listed}".lstrip("\n")


def with_retake_notes(session: Session, shotlist: ShotList, shot_rows: dict[str, int]) -> ShotList:
    """The shot list as the generator should see it: every shot that was ever rejected carries the notes of its
    rejections in its prompt and its segments' prompts. Notes stay after the retake is made, so the recipe (and the
    take it names) stays the same from one render to the next."""
    notes: dict[int, list[str]] = {}
    rows = session.execute(
        select(models.Retake.shot_id, models.Retake.note)
        .where(models.Retake.shot_id.in_(shot_rows.values()), models.Retake.note != "")
        .order_by(models.Retake.id)
    )
    for shot_id, note in rows:
        notes.setdefault(shot_id, []).append(note)
    shots: list[Shot] = []
    for shot in shotlist.shots:
        shot_notes = notes.get(shot_rows.get(shot.id, -1), [])
        if shot_notes:
            segments = [segment.model_copy(update={"prompt": prompt_context(segment.prompt, shot_notes)})
                        for segment in shot.segments]
            shot = shot.model_copy(update={"prompt": prompt_context(shot.prompt, shot_notes), "segments": segments})
        shots.append(shot)
    return shotlist.model_copy(update={"shots": shots})


def submit_for_approval(session: Session, episode_id: int, shot_ids: set[int] | None = None) -> int:
    """After a render: a shot with a new take waits for approval; a retake answered by a take other than the
    rejected one is filled, while a shot still cut with its rejected take goes back to retake. An approved shot
    whose selected take changed (its script changed) waits again; one filmed (wip) that kept its approved take is
    done again. A render of some shots (`shot_ids`) answers for those only. Returns the number of shots now
    waiting."""
    shots = [shot for shot in session.scalars(select(models.Shot).where(models.Shot.episode_id == episode_id))
             if shot_ids is None or shot.id in shot_ids]
    approved = set(session.scalars(
        select(models.Review.target_id).where(
            models.Review.target_type == "take", models.Review.status == models.STATUS_DONE,
            models.Review.target_id.in_([shot.selected_take_id for shot in shots if shot.selected_take_id]),
        )
    ))
    open_retakes: dict[int, list[models.Retake]] = {}
    for retake in session.scalars(select(models.Retake).where(
            models.Retake.shot_id.in_([shot.id for shot in shots]), models.Retake.filled_take_id.is_(None))):
        open_retakes.setdefault(retake.shot_id, []).append(retake)
    waiting = 0
    for shot in shots:
        if shot.selected_take_id is None:
            continue
        retakes = open_retakes.get(shot.id, [])
        still_rejected = any(retake.rejected_take_id == shot.selected_take_id for retake in retakes)
        if not still_rejected:
            for retake in retakes:
                retake.filled_take_id, retake.filled_at = shot.selected_take_id, models.utcnow()
        now = status.rendered(shot, still_rejected=still_rejected, approved_take=shot.selected_take_id in approved)
        waiting += now == models.STATUS_WAITING
    session.flush()
    return waiting


def record_cut(session: Session, store: Path, run: models.RenderRun, video: Path, subtitles: Path | None,
               manifest: Path | None, duration: float) -> models.EpisodeCut:
    """The cut a render delivered, kept for review. A render that changed nothing delivers the same picture: that
    is the cut already recorded, and its review stands; a new picture waits for approval."""
    def stored(path: Path | None, kind: str) -> int | None:
        return None if path is None else assets.put_file(session, store, path, kind, move=False).id

    video_id = stored(video, "episode")
    known = session.scalar(select(models.EpisodeCut).where(
        models.EpisodeCut.episode_id == run.episode_id, models.EpisodeCut.video_asset_id == video_id))
    if known is not None:
        return known
    cut = models.EpisodeCut(
        episode_id=run.episode_id, render_run_id=run.id, video_asset_id=video_id,
        subtitles_asset_id=stored(subtitles, "subtitle"), manifest_asset_id=stored(manifest, "manifest"),
        duration=duration,
    )
    session.add(cut)
    session.get(models.Episode, run.episode_id).status = models.STATUS_WAITING
    session.flush()
    return cut
