"""The same data as the pages, as JSON under /api (schema at /api/openapi.json, docs at /api/docs, both for people
signed in). A script that signs in with the session cookie sends the `csrftoken` cookie's value back in an
`x-csrftoken` header to review."""

from typing import Literal

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from aigms.dashboard.auth import Person
from aigms.dashboard.ids import NO_NUL, NOTE_CHARACTERS, OptionalRowId, RowId, SeriesId
from aigms.db import queries
from aigms.db.session import session_scope
from aigms.production import review
from aigms.production.review import people
from aigms.production.review.reviews import Reviewer

router = APIRouter(prefix="/api", tags=["dashboard"])


class Decision(BaseModel):
    decision: Literal["approve", "reject"]
    note: str = Field("", description="required when rejecting: it joins the shot's prompt for the retake",
                      pattern=NO_NUL, max_length=NOTE_CHARACTERS)


class Me(BaseModel):
    name: str
    role: str
    may_approve: bool


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _user: Reviewer = Person) -> dict[str, Any]:
    """The schema behind the docs at /api/docs, for people signed in like everything else."""
    return request.app.openapi()


@router.get("/me")
def me(user: Reviewer = Person) -> Me:
    return Me(name=user.name, role=user.role, may_approve=people.may_approve(user.role))


@router.get("/series")
def series(request: Request, _user: Reviewer = Person) -> list[queries.SeriesSummary]:
    with session_scope(_engine(request)) as session:
        return queries.series_overview(session)


@router.get("/episodes/{episode_id}")
def episode(request: Request, episode_id: RowId, _user: Reviewer = Person) -> queries.EpisodeDetail:
    with session_scope(_engine(request)) as session:
        found = queries.episode_detail(session, episode_id)
    if found is None:
        raise LookupError(f"no episode {episode_id}")
    return found


@router.get("/shots/{shot_id}")
def shot(request: Request, shot_id: RowId, _user: Reviewer = Person) -> queries.ShotDetail:
    with session_scope(_engine(request)) as session:
        found = queries.shot_detail(session, shot_id)
    if found is None:
        raise LookupError(f"no shot {shot_id}")
    return found


@router.get("/library/{series_id}")
def library(request: Request, series_id: SeriesId, _user: Reviewer = Person) -> queries.Library:
    with session_scope(_engine(request)) as session:
        found = queries.library(session, series_id)
    if found is None:
        raise LookupError(f"no series {series_id}")
    return found


@router.get("/runs")
def runs(request: Request, _user: Reviewer = Person) -> list[queries.RunView]:
    with session_scope(_engine(request)) as session:
        return queries.render_runs(session)


@router.get("/retakes")
def retakes(request: Request, episode_id: OptionalRowId = None, _user: Reviewer = Person) -> list[queries.RetakeView]:
    """The retake queue: rejected takes no render has answered yet."""
    with session_scope(_engine(request)) as session:
        return queries.retake_queue(session, episode_id)


@router.post("/takes/{take_id}/review")
def review_take(request: Request, take_id: RowId, body: Decision, user: Reviewer = Person) -> queries.ReviewView:
    with session_scope(_engine(request)) as session:
        return queries.review_view(review.review_take(session, user, take_id, body.decision, body.note))


@router.post("/episodes/{episode_id}/shotlist/review")
def review_shotlist(request: Request, episode_id: RowId, body: Decision,
                    user: Reviewer = Person) -> queries.ReviewView:
    with session_scope(_engine(request)) as session:
        return queries.review_view(review.review_shotlist(session, user, episode_id, body.decision, body.note))


@router.post("/cuts/{cut_id}/review")
def review_cut(request: Request, cut_id: RowId, body: Decision, user: Reviewer = Person) -> queries.ReviewView:
    with session_scope(_engine(request)) as session:
        return queries.review_view(review.review_cut(session, user, cut_id, body.decision, body.note))
