"""The director's loop on a shot and its episode: compare takes, circle one for the cut, leave notes at a frame,
ask for more takes or a retake with changes (each starting a film job), edit the shot list inline, see the board.
Every action is a form (pages, then a redirect) and the same action in JSON under /api; both call one function
here, which calls `production.review` and answers with `db.queries` views. No SQL here."""

from typing import Annotated, Literal, get_args, get_origin

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from aigms.dashboard.auth import Person
from aigms.dashboard.ids import NO_NUL, NOTE_CHARACTERS, FormText, RowId
from aigms.dashboard.pages import _safe_next
from aigms.dashboard.render import page
from aigms.db import models, queries
from aigms.db.session import session_scope
from aigms.production import review
from aigms.production.review import film_jobs, people, retakes
from aigms.production.review.reviews import Region, Reviewer
from aigms.production.storyboard.plan import SIZE_WORDS
from aigms.production.store import sources
from aigms.production.storyboard.shot_edits import csv_cells
from aigms.schemas.shotlist import EDITABLE, Shot, ShotEdit

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["director's loop"])
Text = FormText
COMPARED = 4
CellValue = str | float | list[str] | None
CHOICES = {name: list(get_args(ShotEdit.model_fields[name].annotation)) for name in EDITABLE
           if get_origin(ShotEdit.model_fields[name].annotation) is Literal}  # the columns with a closed list


class RegionBody(BaseModel):
    x: float = Field(ge=0, le=1, description="left edge, a fraction of the frame's width")
    y: float = Field(ge=0, le=1, description="top edge, a fraction of the frame's height")
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)


class NoteBody(BaseModel):
    note: str = Field(description="what you see; a rejection's note joins the prompt of the retake",
                      pattern=NO_NUL, max_length=NOTE_CHARACTERS)
    frame: int | None = Field(None, ge=0, description="the frame of the take the note is about (0 is the first)")
    region: RegionBody | None = Field(None, description="a rectangle on that frame")
    decision: Literal["note", "reject"] = Field(
        "note", description="a remark (artists too), or a rejection (directors and admins) that queues a retake")


class CircleBody(BaseModel):
    note: str = Field("", pattern=NO_NUL, max_length=NOTE_CHARACTERS)


class MoreTakesBody(BaseModel):
    takes: int = Field(2, ge=1, le=film_jobs.MAX_TAKES, description="how many new takes (new seeds)")


class RetakeBody(BaseModel):
    changes: dict[str, CellValue] = Field(
        description=f"shot list fields to change ({', '.join(EDITABLE)}), as `aigms shots import` reads them")


class ShotListBody(BaseModel):
    rows: list[dict[str, CellValue]] = Field(
        description="one row per shot, the columns of `aigms shots export` (read-only columns are ignored)")


class Circled(BaseModel):
    review: queries.ReviewView
    cut: queries.RunView | None = Field(None, description="the film job re-cutting the episode with this take")
    message: str


class Asked(BaseModel):
    retake: queries.RetakeView
    run: queries.RunView | None = Field(
        None, description="the film job filming it; none while the shot list waits for a director's approval")
    message: str


class ShotListSaved(BaseModel):
    edited: list[str]
    cleared: list[str]
    warnings: list[str]


def start_job(request: Request, run_id: int) -> queries.RunView:
    """Hand a queued film job (committed, so its worker finds it) to its worker."""
    request.app.state.workers.start(run_id)
    with session_scope(request.app.state.engine) as session:
        return queries.render_run(session, run_id)


def circle(request: Request, user: Reviewer, take_id: int, note: str) -> Circled:
    """Circle the take, then re-cut the episode with it, unless a running job will (it cuts when it ends)."""
    with session_scope(request.app.state.engine) as session:
        done = queries.review_view(review.circle_take(session, user, take_id, note))
        episode_id = session.get(models.Shot, queries.shot_of_take(session, take_id)).episode_id
    try:
        with session_scope(request.app.state.engine) as session:
            run_id = film_jobs.request(session, user, episode_id, film_jobs.scope(session, episode_id,
                                                                                  cut_only=True)).id
    except film_jobs.FilmJobBusy as busy:
        return Circled(review=done, message=f"take {take_id} circled; {busy}, and cuts it in then")
    run = start_job(request, run_id)
    return Circled(review=done, cut=run, message=f"take {take_id} circled; render run {run.id} re-cuts the episode")


def leave_note(request: Request, user: Reviewer, take_id: int, body: NoteBody) -> queries.ReviewView:
    region = None if body.region is None else Region(body.region.x, body.region.y, body.region.w, body.region.h)
    with session_scope(request.app.state.engine) as session:
        if body.decision == "reject":
            written = review.review_take(session, user, take_id, review.REJECT, body.note, body.frame, region)
        else:
            written = review.note_on_take(session, user, take_id, body.note, body.frame, region)
        return queries.review_view(written)


def more_takes(request: Request, user: Reviewer, shot_id: int, more: int) -> Asked:
    """The request and its film job land together: a refused job (the shot is being filmed) leaves no request."""
    with session_scope(request.app.state.engine) as session:
        retake, takes = retakes.more_takes(session, user, shot_id, more)
        shot = session.get(models.Shot, shot_id)
        what = film_jobs.scope(session, shot.episode_id, shot=shot.code)
        run_id = film_jobs.request(session, user, shot.episode_id, what, takes).id
        asked, code = queries.retake_view(retake), shot.code
    return Asked(retake=asked, run=start_job(request, run_id),
                 message=f"{more} more takes of shot {code}: render run {run_id}")


def retake_with_changes(request: Request, user: Reviewer, shot_id: int, changes: dict[str, CellValue]) -> Asked:
    """The change, its request and its film job land together; when the shot list then waits for a director's
    approval (an artist changed it), the change is kept and filming waits."""
    with session_scope(request.app.state.engine) as session:
        retake = retakes.retake_with_changes(session, user, shot_id, changes)
        shot = session.get(models.Shot, shot_id)
        asked, code, episode = queries.retake_view(retake), shot.code, session.get(models.Episode, shot.episode_id)
        run_id = None
        if episode.shotlist_approved:
            what = film_jobs.scope(session, episode.id, shot=code)
            run_id = film_jobs.request(session, user, episode.id, what, 1).id
    if run_id is None:
        return Asked(retake=asked, message=f"shot {code} changed; the shot list of {episode.code} now waits for a "
                                           "director's approval before it is filmed")
    return Asked(retake=asked, run=start_job(request, run_id),
                 message=f"shot {code} changed: render run {run_id} films it")


def save_shotlist(request: Request, user: Reviewer, episode_id: int,
                  rows: list[dict[str, CellValue]]) -> ShotListSaved:
    with session_scope(request.app.state.engine) as session:
        report = retakes.edit_shotlist(session, user, episode_id, rows)
    return ShotListSaved(edited=report.shots_edited, cleared=report.shots_cleared, warnings=report.warnings)


def shotlist_cells(request: Request, episode_id: int) -> list[dict[str, CellValue]]:
    with session_scope(request.app.state.engine) as session:
        if queries.episode(session, episode_id) is None:
            raise queries.NotFound(f"no episode {episode_id}")
        rows = queries.shotlist_rows(session, episode_id)
    return [csv_cells(Shot.model_validate(row.spec)) for row in rows]


# Pages


def _back(back: str, default: str) -> RedirectResponse:
    return RedirectResponse(_safe_next(back) if back else default, status_code=303)


def _compared(takes: list[queries.TakeView], wanted: list[int]) -> list[queries.TakeView]:
    """The takes asked for (2–4), else the circled or selected take and the latest others, filmed ones only."""
    filmed = [take for take in takes if take.clip_asset_id is not None]
    if wanted:
        return [take for take in filmed if take.id in wanted][:COMPARED]
    first = [take for take in filmed if take.circled or take.selected][:1]
    rest = [take for take in reversed(filmed) if take not in first]
    return (first + rest)[:COMPARED]


@router.get("/episodes/{episode_id}")
def episode_page(request: Request, episode_id: RowId, shotlist: str = "", user: Reviewer = Person) -> Response:
    """The cut, the shot grid, the film jobs; with `?shotlist=open`, the shot list as a table (to edit, for those
    who may), which most visits do not need and a fifty-shot table would triple the page's time."""
    with session_scope(request.app.state.engine) as session:
        detail = queries.episode_detail(session, episode_id)
        retakes_queued = queries.retake_queue(session, episode_id)
        jobs = queries.active_runs(session, episode_id)
        rows = queries.shotlist_rows(session, episode_id) if shotlist == "open" else None
    cells = {row.code: csv_cells(Shot.model_validate(row.spec)) for row in rows or []}
    may_film = people.may_film(user.role)
    return page(request, "episode.html", user=user, episode=detail, retakes=retakes_queued, jobs=jobs, rows=rows,
                cells=cells, editable=EDITABLE, choices=CHOICES, may_approve=people.may_approve(user.role),
                may_film=may_film, editing=may_film and rows is not None)


@router.get("/shots/{shot_id}")
def shot_page(request: Request, shot_id: RowId,
              compare: Annotated[list[int], Query(max_length=4)] = [],  # noqa: B006 (FastAPI copies it)
              user: Reviewer = Person) -> Response:
    """The shot's comparison page: 2–4 takes side by side under one transport, and every action on them."""
    with session_scope(request.app.state.engine) as session:
        detail = queries.shot_detail(session, shot_id)
        jobs = queries.active_runs(session, detail.episode_id, detail.code)
    lines = sources.script_lines(detail.series_root, detail.script_path, detail.spec.get("lines", []))
    compared = _compared(detail.takes, compare)
    return page(request, "shot.html", user=user, shot=detail, script_lines=lines, compared=compared, jobs=jobs,
                cells=csv_cells(Shot.model_validate(detail.spec)), editable=EDITABLE, choices=CHOICES,
                may_approve=people.may_approve(user.role), may_film=people.may_film(user.role),
                notes=[r for r in detail.reviews if r.frame is not None or r.status == review.NOTE])


@router.post("/takes/{take_id}/circle")
def circle_form(request: Request, take_id: RowId, note: Text = "", back: Text = "",
                user: Reviewer = Person) -> Response:
    circle(request, user, take_id, note)
    with session_scope(request.app.state.engine) as session:
        shot_id = queries.shot_of_take(session, take_id)
    return _back(back, f"/shots/{shot_id}")


@router.post("/takes/{take_id}/notes")
def note_form(request: Request, take_id: RowId, note: Text, decision: Text = "note", frame: Text = "",
              x: Text = "", y: Text = "", w: Text = "", h: Text = "", back: Text = "",
              user: Reviewer = Person) -> Response:
    region = RegionBody(x=x, y=y, w=w, h=h) if x and y and w and h else None
    body = NoteBody(note=note, frame=int(frame) if frame.strip().isdigit() else None, region=region,
                    decision=decision if decision in ("note", "reject") else "note")
    leave_note(request, user, take_id, body)
    with session_scope(request.app.state.engine) as session:
        shot_id = queries.shot_of_take(session, take_id)
    return _back(back, f"/shots/{shot_id}")


@router.post("/shots/{shot_id}/more-takes")
def more_takes_form(request: Request, shot_id: RowId, takes: Annotated[int, Form()] = 2,
                    user: Reviewer = Person) -> Response:
    more_takes(request, user, shot_id, takes)
    return RedirectResponse(f"/shots/{shot_id}", status_code=303)


@router.post("/shots/{shot_id}/retake")
async def retake_form(request: Request, shot_id: RowId, user: Reviewer = Person) -> Response:
    """The form carries the shot list columns it changes, named as in the CSV export."""
    form = await request.form()
    changes: dict[str, CellValue] = {name: str(form[name]) for name in EDITABLE if name in form}
    await run_in_threadpool(retake_with_changes, request, user, shot_id, changes)
    return RedirectResponse(f"/shots/{shot_id}", status_code=303)


@router.post("/episodes/{episode_id}/shotlist")
async def shotlist_form(request: Request, episode_id: RowId, user: Reviewer = Person) -> Response:
    """The table's inputs are named `shot:<code>:<column>`; a row is the cells of one code, in table order."""
    form = await request.form()
    rows: dict[str, dict[str, CellValue]] = {}
    for name, value in form.multi_items():
        parts = name.split(":")
        if len(parts) == 3 and parts[0] == "shot" and parts[2] in EDITABLE:
            rows.setdefault(parts[1], {"id": parts[1]})[parts[2]] = str(value)
    await run_in_threadpool(save_shotlist, request, user, episode_id, list(rows.values()))
    return RedirectResponse(f"/episodes/{episode_id}?shotlist=open#shot-list", status_code=303)


@router.get("/episodes/{episode_id}/board")
def board_page(request: Request, episode_id: RowId, user: Reviewer = Person) -> Response:
    """The storyboard (`aigms shots board`) as panels on a page: each shot's still (its selected take's poster),
    size, move, duration and what is said."""
    with session_scope(request.app.state.engine) as session:
        detail = queries.episode_detail(session, episode_id)
        specs = {row.code: row.spec for row in queries.shotlist_rows(session, episode_id)}
    return page(request, "board.html", user=user, episode=detail, specs=specs, size_words=SIZE_WORDS)


# API


@api.post("/takes/{take_id}/circle")
def circle_api(request: Request, take_id: RowId, body: CircleBody, user: Reviewer = Person) -> Circled:
    """Select the take for the cut (directors and admins), distinct from approving the shot; the episode is re-cut
    with it."""
    return circle(request, user, take_id, body.note)


@api.post("/takes/{take_id}/notes")
def note_api(request: Request, take_id: RowId, body: NoteBody, user: Reviewer = Person) -> queries.ReviewView:
    """A note at a frame of the take (and a rectangle on it): a remark, or a rejection that queues a retake."""
    return leave_note(request, user, take_id, body)


@api.post("/shots/{shot_id}/more-takes")
def more_takes_api(request: Request, shot_id: RowId, body: MoreTakesBody, user: Reviewer = Person) -> Asked:
    """N more takes of the shot as it stands, with new seeds: a retake request and the film job making it."""
    return more_takes(request, user, shot_id, body.takes)


@api.post("/shots/{shot_id}/retake")
def retake_api(request: Request, shot_id: RowId, body: RetakeBody, user: Reviewer = Person) -> Asked:
    """Change the shot (validated as `aigms shots import` validates a row) and film it again."""
    return retake_with_changes(request, user, shot_id, body.changes)


@api.get("/episodes/{episode_id}/shotlist")
def shotlist_api(request: Request, episode_id: RowId, _user: Reviewer = Person) -> list[dict[str, CellValue]]:
    """The shot list with the columns of `aigms shots export`."""
    return shotlist_cells(request, episode_id)


@api.put("/episodes/{episode_id}/shotlist")
def save_shotlist_api(request: Request, episode_id: RowId, body: ShotListBody,
                      user: Reviewer = Person) -> ShotListSaved:
    """Save edited rows as `aigms shots import` would: all of them, or none with the first bad row named."""
    return save_shotlist(request, user, episode_id, body.rows)
