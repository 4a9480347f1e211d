"""The HTML pages and their forms. Each route reads with one `db.queries` function or acts with one
`production` function, then renders a template or redirects; no SQL here."""

from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from aigms.dashboard.auth import Person
from aigms.dashboard.database import Database
from aigms.dashboard.render import page
from aigms.db import models, queries
from aigms.production import review
from aigms.production.review import people
from aigms.production.store import assets, previews, sources
from aigms.production.review.reviews import Reviewer

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]


def _safe_next(target: str) -> str:
    """Only a path on this site: a login link must not send a person elsewhere."""
    parsed = urlparse(target)
    return target if target.startswith("/") and not target.startswith("//") and not parsed.netloc else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", next=_safe_next(next), failed=False, user=None)


@router.post("/login")
def login(request: Request, name: Field, password: Field, session: Database,
          next: Annotated[str, Form()] = "/") -> Response:
    user = people.authenticate(session, name, password)
    user_id = user.id if user else None
    if user_id is None:
        return page(request, "login.html", status_code=401, next=_safe_next(next), failed=True, user=None)
    request.session.clear()
    request.session["user_id"] = user_id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def overview(request: Request, session: Database, user: Reviewer = Person) -> Response:
    return page(request, "overview.html", user=user, series=queries.series_overview(session))


@router.get("/episodes/{episode_id}")
def episode(request: Request, episode_id: int, session: Database, user: Reviewer = Person) -> Response:
    detail = queries.episode_detail(session, episode_id)
    retakes = queries.retake_queue(session, episode_id)
    return page(request, "episode.html", user=user, episode=detail, retakes=retakes,
                may_approve=people.may_approve(user.role))


@router.get("/shots/{shot_id}")
def shot(request: Request, shot_id: int, session: Database, user: Reviewer = Person) -> Response:
    detail = queries.shot_detail(session, shot_id)
    lines = sources.script_lines(detail.series_root, detail.script_path, detail.spec.get("lines", []))
    return page(request, "shot.html", user=user, shot=detail, script_lines=lines,
                may_approve=people.may_approve(user.role))


@router.get("/library/{series_id}")
def library(request: Request, series_id: str, session: Database, user: Reviewer = Person) -> Response:
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
def review_take(take_id: int, decision: Field, session: Database, note: Field = "",
                user: Reviewer = Person) -> Response:
    review.review_take(session, user, take_id, decision, note)
    return RedirectResponse(f"/shots/{queries.shot_of_take(session, take_id)}", status_code=303)


@router.post("/episodes/{episode_id}/shotlist/review")
def review_shotlist(episode_id: int, decision: Field, session: Database, note: Field = "",
                    user: Reviewer = Person) -> Response:
    review.review_shotlist(session, user, episode_id, decision, note)
    return RedirectResponse(f"/episodes/{episode_id}", status_code=303)


@router.post("/cuts/{cut_id}/review")
def review_cut(cut_id: int, decision: Field, session: Database, note: Field = "",
               user: Reviewer = Person) -> Response:
    review.review_cut(session, user, cut_id, decision, note)
    return RedirectResponse(f"/episodes/{queries.episode_of_cut(session, cut_id)}", status_code=303)


def _file(request: Request, session: Session, asset_id: int) -> tuple[models.Asset, Path]:
    found = queries.asset(session, asset_id)
    if not assets.has_file(request.app.state.store, found):
        raise queries.NotFound(f"asset {asset_id} is not in the store")
    return found, assets.asset_file(request.app.state.store, found)


@router.get("/assets/{asset_id}")
def asset(request: Request, asset_id: int, session: Database, _user: Reviewer = Person) -> Response:
    """By id only: the path comes from the asset's row, never from the request. Range requests let a player seek."""
    found, path = _file(request, session, asset_id)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=31536000, immutable",
                                       "ETag": f'"{found.sha256}"'})


@router.get("/assets/{asset_id}/poster.jpg")
def poster(request: Request, asset_id: int, session: Database, _user: Reviewer = Person) -> Response:
    clip, _path = _file(request, session, asset_id)
    still = previews.poster(session, request.app.state.store, clip)
    return FileResponse(assets.asset_file(request.app.state.store, still), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=31536000"})


@router.get("/assets/{asset_id}/subtitles.vtt")
def subtitles(request: Request, asset_id: int, session: Database, _user: Reviewer = Person) -> Response:
    """WebVTT for the player's <track>, converted from the SRT the pipeline delivers."""
    _found, path = _file(request, session, asset_id)
    return Response(sources.subtitles_as_webvtt(path), media_type="text/vtt; charset=utf-8")
