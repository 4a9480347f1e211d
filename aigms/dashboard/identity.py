"""The series-wide identity page: each character's likeness to the bible in every shot of every episode, the shots
below the identity threshold linked to their shot pages, and the characters whose likeness drifts between episodes.
The chart is SVG drawn on the server: no script, nothing fetched from elsewhere."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from aigms.dashboard.auth import Person
from aigms.dashboard.database import Database
from aigms.dashboard.render import page
from aigms.db.queries import NotFound
from aigms.production.qc import metrics
from aigms.production.qc.chart import series_chart
from aigms.production.review.reviews import Reviewer

router = APIRouter(include_in_schema=False)


@router.get("/series/{series_id}/identity")
def identity(request: Request, series_id: str, session: Database, user: Reviewer = Person) -> Response:
    chart = series_chart(session, series_id, lambda shot: f"/shots/{shot.shot_id}")
    if chart is None:
        raise NotFound(f"no series {series_id}")
    measured = metrics.stored(session, series_id)
    return page(request, "identity.html", user=user, series_id=series_id, chart=chart,
                svg=Markup(chart.svg()) if chart.lines else None, measured=measured, names=metrics.METRICS,
                papers=metrics.PAPER_FIGURES)
