"""What wraps the dashboard before any route sees a request: security headers on every response (a strict
Content-Security-Policy, no sniffing, no framing), a bound on request bodies, no uploads, and the CSRF check made
whatever other headers a request carries."""

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles only from the dashboard's own static files: a page that shows a person's text can never run
# it. Images may be data: URLs (Swagger UI draws its icons so); nothing may frame a page or be plugged in.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
# A stored file opened on its own is a document with no rights at all: no script, no form, no same-origin.
ASSET_POLICY = CONTENT_SECURITY_POLICY + "; sandbox"
MAX_BODY = 1 << 20


def _headers(pairs: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in pairs}


def security_headers(app: ASGIApp, https: bool) -> ASGIApp:
    """Adds the headers a browser needs to keep the dashboard's origin to itself. Pages and JSON are not kept in
    caches (a signed-out browser's Back button shows nothing); the asset store's files say how long they keep."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        asset = scope["path"].startswith("/assets/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = _headers(headers)
                added = {
                    b"content-security-policy": (ASSET_POLICY if asset else CONTENT_SECURITY_POLICY).encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"same-origin",
                    b"cross-origin-opener-policy": b"same-origin",
                }
                if https:
                    added[b"strict-transport-security"] = b"max-age=31536000"
                kind = present.get(b"content-type", b"").split(b";")[0]
                if b"cache-control" not in present and kind in (b"text/html", b"application/json"):
                    added[b"cache-control"] = b"no-store"
                headers = [(name, value) for name, value in headers if name.lower() not in added]
                message = {**message, "headers": headers + list(added.items())}
            await send(message)

        await app(scope, receive, with_headers)

    return guarded


class BodyTooLarge(Exception):
    pass


def bounded_body(app: ASGIApp, limit: int = MAX_BODY) -> ASGIApp:
    """A review form or a JSON decision is a few kilobytes; a request body past `limit` is refused with 413
    before anything (the CSRF check included) reads it into memory."""

    async def bounded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        length = _headers(scope.get("headers", [])).get(b"content-length", b"0")
        if not length.isdigit():
            await _refuse(send, 400, b"The request's Content-Length is not a number.\n")
            return
        if int(length) > limit:
            await _refuse(send, 413, b"The request body is too large.\n")
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, b"The request body is too large.\n")

    return bounded


async def _refuse(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})


def without_bearer(app: ASGIApp) -> ASGIApp:
    """asgi-csrf lets any request with an `Authorization: Bearer` header through unchecked (its source says so;
    its README does not). The dashboard authenticates by cookie only, so the header is dropped before the check:
    a cookie-authenticated POST carries its CSRF token, whatever else it sends."""

    async def stripped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [(name, value) for name, value in scope.get("headers", [])
                                          if name.lower() != b"authorization"]}
        await app(scope, receive, send)

    return stripped


def no_uploads(app: ASGIApp) -> ASGIApp:
    """The dashboard's forms are URL-encoded and it takes no files; a multipart body is refused (415) before
    asgi-csrf, whose multipart reader fails (500) on a boundary it does not expect, gets to parse it."""

    async def refused(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            kind = _headers(scope.get("headers", [])).get(b"content-type", b"")
            if kind.split(b";")[0].strip().lower() == b"multipart/form-data":
                await _refuse(send, 415, b"The dashboard takes no file uploads.\n")
                return
        await app(scope, receive, send)

    return refused
