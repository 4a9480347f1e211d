"""The HTML pages and their forms. Each route reads with one `db.queries` function or acts with one
`production` function, then renders a template or redirects; no SQL here."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from aigms.dashboard.auth import SESSION_TOKEN, Person
from aigms.dashboard.database import Database
from aigms.dashboard.ids import FormText, RowId, SeriesId
from aigms.dashboard.render import page
from aigms.db import models, queries
from aigms.production import review
from aigms.production.review import people
from aigms.production.store import assets, previews, sources
from aigms.production.review.reviews import Reviewer

router = APIRouter(include_in_schema=False)
Field = FormText
API_DOCS = "/api/docs"
# What a page embeds (<img>, <video>, <audio>, <track>) is served inline; anything else only as a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif", "video/mp4", "video/webm", "video/quicktime",
                "audio/wav", "audio/mpeg", "audio/mp4", "audio/aac", "audio/flac", "audio/ogg", "text/vtt"}
SUBTITLE_TYPES = {"application/x-subrip", "text/vtt"}


def _safe_next(target: str) -> str:
    """Only a path on this site: a login link must not send a person elsewhere. Browsers read `/\\host` and
    paths with tabs or newlines as `//host`, so those go home too."""
    parsed = urlparse(target)
    local = target.startswith("/") and not target.startswith("//") and not parsed.netloc
    return target if local and target.isprintable() and "\\" not in target else "/"


def _address(request: Request) -> str:
    """The client's address; behind a proxy on this machine, uvicorn takes it from X-Forwarded-For."""
    return request.client.host if request.client else ""


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", next=_safe_next(next), failed=False, refusal=None, user=None)


@router.post("/login")
def login(request: Request, name: Field, password: Field, session: Database,
          next: Annotated[str, Form()] = "/") -> Response:
    """Too many wrong passwords for the name or from the address: 429 with when to retry, and no hashing."""
    throttle, address = request.app.state.throttle, _address(request)
    refusal = throttle.check(name, address)
    if refusal is not None:
        return page(request, "login.html", status_code=429, next=_safe_next(next), failed=False, refusal=refusal,
                    user=None, headers={"Retry-After": str(refusal.seconds)})
    user = people.authenticate(session, name, password)
    token = people.start_session(session, user, address) if user is not None else None
    if token is None:
        throttle.failed(name, address)
        return page(request, "login.html", status_code=401, next=_safe_next(next), failed=True, refusal=None,
                    user=None)
    throttle.succeeded(name)
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, session: Database) -> Response:
    """Ends the session itself, not only the cookie: a copy of the cookie no longer signs anyone in."""
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        people.end_session(session, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get(API_DOCS)
def api_docs(request: Request, _user: Reviewer = Person) -> Response:
    """Swagger UI over /api/openapi.json, from the dashboard's own static files."""
    return page(request, "api_docs.html")


@router.get("/")
def overview(request: Request, session: Database, user: Reviewer = Person) -> Response:
    return page(request, "overview.html", user=user, series=queries.series_overview(session))


@router.get("/library/{series_id}")
def library(request: Request, series_id: SeriesId, session: Database, user: Reviewer = Person) -> Response:
    found = queries.library(session, series_id)
    references = sources.store_references(
        session, request.app.state.store, found.series_root,
        [ref for entry in found.characters + found.locations for ref in entry.references],
    )
    return page(request, "library.html", user=user, library=found, references=references)


@router.get("/runs")
def runs(request: Request, session: Database, user: Reviewer = Person) -> Response:
    return page(request, "runs.html", user=user, runs=queries.render_runs(session),
                prefect_ui_url=request.app.state.prefect_ui_url)


@router.post("/takes/{take_id}/review")
def review_take(take_id: RowId, decision: Field, session: Database, note: Field = "", back: Field = "",
                user: Reviewer = Person) -> Response:
    """`back`: the page to return to (a dailies playlist), else the take's shot."""
    review.review_take(session, user, take_id, decision, note)
    shot_id = queries.shot_of_take(session, take_id)
    return RedirectResponse(_safe_next(back) if back else f"/shots/{shot_id}", status_code=303)


@router.post("/episodes/{episode_id}/shotlist/review")
def review_shotlist(episode_id: RowId, decision: Field, session: Database, note: Field = "",
                    user: Reviewer = Person) -> Response:
    review.review_shotlist(session, user, episode_id, decision, note)
    return RedirectResponse(f"/episodes/{episode_id}", status_code=303)


@router.post("/cuts/{cut_id}/review")
def review_cut(cut_id: RowId, decision: Field, session: Database, note: Field = "",
               user: Reviewer = Person) -> Response:
    review.review_cut(session, user, cut_id, decision, note)
    return RedirectResponse(f"/episodes/{queries.episode_of_cut(session, cut_id)}", status_code=303)


def _file(request: Request, session: Session, asset_id: int,
          fits: Callable[[models.Asset], bool] = lambda _asset: True) -> tuple[models.Asset, Path]:
    """The asset's row and file, if it is there with its bytes intact and of the kind the route serves."""
    found = queries.asset(session, asset_id)
    if not fits(found) or not assets.has_file(request.app.state.store, found):
        raise queries.NotFound(f"no asset {asset_id} in the store")
    return found, assets.asset_file(request.app.state.store, found)


@router.get("/assets/{asset_id}")
def asset(request: Request, asset_id: RowId, session: Database, _user: Reviewer = Person) -> Response:
    """By id only: the path comes from the asset's row, never from the request, and the type from what the store
    recorded (or its own suffix table), never from a guess. What no page embeds is sent as a download. Range
    requests let a player seek."""
    found, path = _file(request, session, asset_id)
    kind = assets.content_type(found)
    headers = {"Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{found.sha256}"'}
    if kind in INLINE_TYPES:
        return FileResponse(path, media_type=kind, headers=headers)
    return FileResponse(path, media_type=kind, headers=headers, filename=f"{found.kind}-{found.id}{path.suffix}",
                        content_disposition_type="attachment")


@router.get("/assets/{asset_id}/poster.jpg")
def poster(request: Request, asset_id: RowId, session: Database, _user: Reviewer = Person) -> Response:
    clip, _path = _file(request, session, asset_id, lambda found: assets.content_type(found).startswith("video/"))
    still = previews.poster(session, request.app.state.store, clip)
    return FileResponse(assets.asset_file(request.app.state.store, still), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=31536000"})


@router.get("/assets/{asset_id}/subtitles.vtt")
def subtitles(request: Request, asset_id: RowId, session: Database, _user: Reviewer = Person) -> Response:
    """WebVTT for the player's <track>, converted from the SRT the pipeline delivers."""
    _found, path = _file(request, session, asset_id, lambda found: assets.content_type(found) in SUBTITLE_TYPES)
    return Response(sources.subtitles_as_webvtt(path), media_type="text/vtt; charset=utf-8")
