"""Pages from the Jinja2 templates under `templates/dashboard/`, with the helpers every page shares: the signed-in
person, the form token, and durations written as a film crew reads them."""

from functools import cache
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from aigms.db.models import STATUSES

STATUS_LABELS = {"todo": "todo", "wip": "in progress", "waiting": "waiting for approval", "retake": "retake",
                 "done": "done"}


def timecode(seconds: float | None) -> str:
    """m:ss.f — a shot is seconds long, an episode minutes."""
    if seconds is None:
        return "–"
    minutes, rest = divmod(float(seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


@cache
def templates() -> Jinja2Templates:
    folder = resources.files("aigms.templates") / "dashboard"
    environment = Jinja2Templates(directory=str(folder))
    environment.env.filters["timecode"] = timecode
    environment.env.globals["STATUSES"] = STATUSES
    environment.env.globals["STATUS_LABELS"] = STATUS_LABELS
    return environment


def page(request: Request, name: str, status_code: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> Response:
    """`csrf()` in a template puts the token in a form and, the first time, sets its cookie on the response."""
    return templates().TemplateResponse(
        request, name, {"csrf": request.scope.get("csrftoken", lambda: ""), **context}, status_code=status_code,
        headers=headers,
    )


def render_error(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status_code=status, status=status, message=message,
                user=getattr(request.state, "user", None))
