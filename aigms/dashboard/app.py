"""The dashboard as one ASGI app: pages and JSON API over the project database, files from the asset store by id,
people signed in with a session cookie naming a row of `sessions`, and every form checked for its CSRF token
before a route sees it. Every response carries a strict Content-Security-Policy (`guard`)."""

import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Scope, Send

from aigms.dashboard import api, costs, dailies, director, guard, identity, jobs, pages
from aigms.dashboard.auth import LoginRequired
from aigms.dashboard.render import render_error
from aigms.dashboard.throttle import LoginThrottle
from aigms.dashboard.workers import Workers
from aigms.db.queries import NotFound
from aigms.db.session import open_database
from aigms.production.review.film_jobs import FilmJobBusy
from aigms.production.review.people import SESSION_DAYS, missing_user_hash
from aigms.production.review.reviews import ReviewError
from aigms.schemas.errors import InputError

SESSION_COOKIE = "aigms_session"


@dataclass(frozen=True)
class Settings:
    database_url: str
    store: Path
    secret: str
    prefect_ui_url: str | None = None
    https: bool = False
    out: Path = Path("renders")  # where film jobs started from the dashboard deliver
    prefect_api_url: str | None = None  # film jobs run as Prefect deployment runs there; else local workers


async def _csrf_refused(scope: Scope, send: Send, _reason: object) -> None:
    body = b"This form was refused: its CSRF token is missing or stale. Reload the page and send it again.\n"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") and request.url.path != pages.API_DOCS


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render_error(request, status, message)


def _static() -> StaticFiles:
    return StaticFiles(directory=str(resources.files("aigms.templates") / "dashboard" / "static"))


def _swagger_ui() -> StaticFiles:
    """Swagger UI's script and style as the fastapi-offline package ships them: the API docs load nothing from a
    CDN, so they work offline and under the dashboard's own Content-Security-Policy."""
    return StaticFiles(directory=str(resources.files("fastapi_offline") / "static"))


def build(settings: Settings) -> FastAPI:
    """The FastAPI app itself (API docs at /api/docs, for people signed in); `create_app` adds the guards."""
    app = FastAPI(title="aigms dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = open_database(settings.database_url)
    app.state.store = settings.store
    app.state.prefect_ui_url = settings.prefect_ui_url.rstrip("/") if settings.prefect_ui_url else None
    app.state.throttle = LoginThrottle()
    missing_user_hash()  # now, so that the first sign-in under an unknown name takes no longer than the next
    app.state.workers = Workers(app.state.engine, settings.database_url, settings.store, settings.out.resolve(),
                                settings.prefect_api_url)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_DAYS * 86400, same_site="lax", https_only=settings.https)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(identity.router)
    app.include_router(costs.router)
    for module in (director, jobs, dailies):
        app.include_router(module.api)
        app.include_router(module.router)
    app.mount("/static/swagger-ui", _swagger_ui(), name="swagger-ui")
    app.mount("/static", _static(), name="static")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _error: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(PermissionError)
    async def forbidden(request: Request, error: PermissionError) -> Response:
        return _error(request, 403, str(error))

    @app.exception_handler(FilmJobBusy)
    async def busy(request: Request, error: FilmJobBusy) -> Response:
        return _error(request, 409, str(error))

    @app.exception_handler(ReviewError)
    @app.exception_handler(InputError)
    async def refused(request: Request, error: ReviewError | InputError) -> Response:
        return _error(request, 400, str(error))

    @app.exception_handler(NotFound)
    async def missing(request: Request, error: NotFound) -> Response:
        return _error(request, 404, str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        """A URL naming no row (an id out of range, not a number, a malformed series id) is a page that is not
        there; a bad form or body is the sender's to fix (422)."""
        if any(problem["loc"][:1] == ("path",) for problem in error.errors()):
            return _error(request, 404, f"nothing at {request.url.path}")
        return await request_validation_exception_handler(request, error)

    @app.get("/health", include_in_schema=False)
    def health() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app


def create_app(settings: Settings) -> ASGIApp:
    """Every POST, PUT, PATCH or DELETE must carry the signed token of the `csrftoken` cookie, as a form field or an
    `x-csrftoken` header, whatever other headers it has; the login form is checked even before its sender has a
    session. Served behind HTTPS, both cookies are marked Secure, so a browser never sends them over plain HTTP."""
    protected = asgi_csrf(build(settings), signing_secret=settings.secret, always_protect={"/login"},
                          send_csrf_failed=_csrf_refused, cookie_secure=settings.https)
    return guard.security_headers(guard.bounded_body(guard.no_uploads(guard.without_bearer(protected))),
                                  settings.https)


def new_secret() -> str:
    return secrets.token_urlsafe(48)
