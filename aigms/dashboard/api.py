"""The same data as the pages, as JSON under /api (schema at /api/openapi.json, docs at /api/docs, both for people
signed in). A script that signs in with the session cookie sends the `csrftoken` cookie's value back in an
`x-csrftoken` header to review."""

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from aigms.dashboard.auth import Person
from aigms.dashboard.database import Database
from aigms.dashboard.ids import NO_NUL, NOTE_CHARACTERS, OptionalRowId, RowId, SeriesId
from aigms.db import queries
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


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _user: Reviewer = Person) -> dict[str, Any]:
    """The schema behind the docs at /api/docs, for people signed in like everything else."""
    return request.app.openapi()


@router.get("/me")
def me(user: Reviewer = Person) -> Me:
    return Me(name=user.name, role=user.role, may_approve=people.may_approve(user.role))


@router.get("/series")
def series(session: Database, _user: Reviewer = Person) -> list[queries.SeriesSummary]:
    return queries.series_overview(session)


@router.get("/episodes/{episode_id}")
def episode(episode_id: RowId, session: Database, _user: Reviewer = Person) -> queries.EpisodeDetail:
    return queries.episode_detail(session, episode_id)


@router.get("/shots/{shot_id}")
def shot(shot_id: RowId, session: Database, _user: Reviewer = Person) -> queries.ShotDetail:
    return queries.shot_detail(session, shot_id)


@router.get("/library/{series_id}")
def library(series_id: SeriesId, session: Database, _user: Reviewer = Person) -> queries.Library:
    return queries.library(session, series_id)


@router.get("/runs")
def runs(session: Database, _user: Reviewer = Person) -> list[queries.RunView]:
    return queries.render_runs(session)


@router.get("/retakes")
def retakes(session: Database, episode_id: OptionalRowId = None,
            _user: Reviewer = Person) -> list[queries.RetakeView]:
    """The retake queue: rejected takes no render has answered yet."""
    return queries.retake_queue(session, episode_id)


@router.post("/takes/{take_id}/review")
def review_take(take_id: RowId, body: Decision, session: Database, user: Reviewer = Person) -> queries.ReviewView:
    return queries.review_view(review.review_take(session, user, take_id, body.decision, body.note))


@router.post("/episodes/{episode_id}/shotlist/review")
def review_shotlist(episode_id: RowId, body: Decision, session: Database,
                    user: Reviewer = Person) -> queries.ReviewView:
    return queries.review_view(review.review_shotlist(session, user, episode_id, body.decision, body.note))


@router.post("/cuts/{cut_id}/review")
def review_cut(cut_id: RowId, body: Decision, session: Database, user: Reviewer = Person) -> queries.ReviewView:
    return queries.review_view(review.review_cut(session, user, cut_id, body.decision, body.note))
