"""Dailies in the browser: playlists of takes (filmed since a time, or an episode's retakes) that play through one
after another with the shot page's review actions beside the player; `aigms dailies` makes one and prints its link."""

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from aigms.dashboard.auth import Person
from aigms.dashboard.ids import SERIES_ID, FormText, RowId
from aigms.dashboard.render import page
from aigms.db import models, queries
from aigms.db.session import session_scope
from aigms.production.review import dailies, people
from aigms.production.review.reviews import Reviewer, ReviewError

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["dailies"])


class DailiesBody(BaseModel):
    since: str | None = Field(None, description="takes filmed since: yesterday, today, 36h or an ISO date",
                              max_length=40)
    episode_id: int | None = Field(None, description="the takes answering this episode's retakes (instead of since)")
    series_id: str | None = Field(None, description="with since: only this series", pattern=SERIES_ID,
                                  max_length=100)


def make(request: Request, user: Reviewer, body: DailiesBody) -> models.Playlist:
    with session_scope(request.app.state.engine) as session:
        if body.episode_id is not None:
            playlist = dailies.episode_retakes(session, user.name, body.episode_id)
        else:
            since = dailies.parse_since(body.since or "yesterday", datetime.now().astimezone())
            playlist = dailies.filmed_since(session, user.name, since, body.series_id)
        return playlist


def _playlist(request: Request, playlist_id: int) -> queries.PlaylistView:
    with session_scope(request.app.state.engine) as session:
        found = queries.playlist(session, playlist_id)
    if found is None:
        raise queries.NotFound(f"no dailies playlist {playlist_id}")
    return found


@router.get("/dailies")
def dailies_page(request: Request, user: Reviewer = Person) -> Response:
    with session_scope(request.app.state.engine) as session:
        found = queries.playlists(session)
        series = queries.series_overview(session)
    return page(request, "dailies_list.html", user=user, playlists=found, series=series)


@router.post("/dailies")
def dailies_form(request: Request, since: FormText = "", episode_id: FormText = "",
                 user: Reviewer = Person) -> Response:
    if episode_id and not episode_id.isdigit():
        raise ReviewError(f"no episode {episode_id!r}: pick one from the list")
    playlist = make(request, user, DailiesBody(since=since or None,
                                               episode_id=int(episode_id) if episode_id else None))
    return RedirectResponse(f"/dailies/{playlist.id}", status_code=303)


@router.get("/dailies/{playlist_id}")
def playlist_page(request: Request, playlist_id: RowId, user: Reviewer = Person) -> Response:
    return page(request, "dailies.html", user=user, playlist=_playlist(request, playlist_id),
                may_approve=people.may_approve(user.role), may_film=people.may_film(user.role))


@api.get("/dailies")
def playlists_api(request: Request, _user: Reviewer = Person) -> list[queries.PlaylistSummary]:
    with session_scope(request.app.state.engine) as session:
        return queries.playlists(session)


@api.post("/dailies")
def make_api(request: Request, body: DailiesBody, user: Reviewer = Person) -> queries.PlaylistView:
    """A new playlist: the takes filmed since a time (default: since yesterday's midnight), or an episode's
    retakes, in story order."""
    return _playlist(request, make(request, user, body).id)


@api.get("/dailies/{playlist_id}")
def playlist_api(request: Request, playlist_id: RowId, _user: Reviewer = Person) -> queries.PlaylistView:
    return _playlist(request, playlist_id)
