"""Film jobs from the browser: start a render of one shot, a scene, the whole episode or only a new cut; watch it
(the page polls `GET /api/runs/ID`, which any dashboard process answers from the database); stop it. The job runs
outside the web process (`aigms.dashboard.workers`)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from aigms.dashboard.auth import Person
from aigms.dashboard.ids import FormText, RowId
from aigms.dashboard.director import start_job
from aigms.dashboard.render import page
from aigms.db import queries
from aigms.db.session import session_scope
from aigms.production.review import film_jobs, people
from aigms.production.review.reviews import Reviewer, ReviewError

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["film jobs"])


class FilmBody(BaseModel):
    scope: Literal["episode", "scene", "shot", "cut"] = Field(
        "episode", description="what to film: the episode, one scene, one shot, or nothing (only a new cut)")
    scene: int | None = Field(None, ge=1, description="the scene's number in the script, with scope=scene")
    shot: str | None = Field(None, description="the shot's code, with scope=shot", pattern=r"^[0-9]{3,}[A-Z]?$")
    takes: int = Field(1, ge=1, le=film_jobs.MAX_TAKES, description="takes a shot; those already filmed are kept")


def film(request: Request, user: Reviewer, episode_id: int, body: FilmBody) -> queries.RunView:
    if body.scope == "shot" and not body.shot or body.scope == "scene" and not body.scene:
        raise ReviewError(f"scope={body.scope} needs its {body.scope}: name it")
    with session_scope(request.app.state.engine) as session:
        what = film_jobs.scope(session, episode_id, shot=body.shot if body.scope == "shot" else None,
                               scene=body.scene if body.scope == "scene" else None, cut_only=body.scope == "cut")
        run_id = film_jobs.request(session, user, episode_id, what, body.takes).id
    return start_job(request, run_id)


def stop(request: Request, user: Reviewer, run_id: int) -> queries.RunView:
    with session_scope(request.app.state.engine) as session:
        film_jobs.stop(session, user, run_id)
    request.app.state.workers.stop(run_id)
    with session_scope(request.app.state.engine) as session:
        return queries.render_run(session, run_id)


def _run(request: Request, run_id: int) -> queries.RunView:
    with session_scope(request.app.state.engine) as session:
        found = queries.render_run(session, run_id)
    if found is None:
        raise queries.NotFound(f"no render run {run_id}")
    return found


@router.post("/episodes/{episode_id}/film")
def film_form(request: Request, episode_id: RowId, scope: FormText = "episode",
              takes: Annotated[int, Form()] = 1, user: Reviewer = Person) -> Response:
    """`scope` is `episode`, `cut`, `scene:N` or `shot:CODE` (one select on the page)."""
    kind, _, value = scope.partition(":")
    if kind not in ("episode", "scene", "shot", "cut") or kind == "scene" and not value.isdigit():
        raise ReviewError(f"cannot film {scope!r}: choose the episode, a scene, a shot or the cut")
    body = FilmBody(scope=kind, scene=int(value) if kind == "scene" else None,
                    shot=value if kind == "shot" else None, takes=takes)
    run = film(request, user, episode_id, body)
    return RedirectResponse(f"/episodes/{episode_id}#run-{run.id}", status_code=303)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: RowId, user: Reviewer = Person) -> Response:
    run = _run(request, run_id)
    return page(request, "run.html", user=user, run=run, may_stop=user.name == run.started_by
                or people.may_approve(user.role), prefect_ui_url=request.app.state.prefect_ui_url)


@router.post("/runs/{run_id}/stop")
def stop_form(request: Request, run_id: RowId, user: Reviewer = Person) -> Response:
    stop(request, user, run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@api.post("/episodes/{episode_id}/film")
def film_api(request: Request, episode_id: RowId, body: FilmBody, user: Reviewer = Person) -> queries.RunView:
    """Start a film job (artists, directors, admins): refused while a shot it asks for is being filmed, and for
    filming (not a new cut) while the shot list is not approved."""
    return film(request, user, episode_id, body)


@api.get("/runs/{run_id}")
def run_api(request: Request, run_id: RowId, _user: Reviewer = Person) -> queries.RunView:
    """Where a render run stands (`progress`: a line to read, shots filmed of the total, and each shot's take,
    segment and step); the pages poll it while it is queued or running."""
    return _run(request, run_id)


@api.get("/episodes/{episode_id}/runs")
def active_api(request: Request, episode_id: RowId, _user: Reviewer = Person) -> list[queries.RunView]:
    """The episode's film jobs queued or running."""
    with session_scope(request.app.state.engine) as session:
        return queries.active_runs(session, episode_id)


@api.post("/runs/{run_id}/stop")
def stop_api(request: Request, run_id: RowId, user: Reviewer = Person) -> queries.RunView:
    """Stop a film job (whoever started it, or a director or admin); its local worker, if this dashboard started
    it, is ended."""
    return stop(request, user, run_id)
