"""The money page of a series: each episode's estimate against what it has spent, the budgets and how much of
them is used, with a plot a producer reads at a glance."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aigms.dashboard.auth import Person
from aigms.dashboard.database import Database
from aigms.dashboard.render import page
from aigms.db.queries import NotFound
from aigms.production.review.reviews import Reviewer
from aigms.production.storyboard.estimate import series_costs

router = APIRouter(include_in_schema=False)


@router.get("/costs/{series_id}")
def costs(request: Request, series_id: str, session: Database, user: Reviewer = Person) -> Response:
    overview = series_costs(session, series_id)
    if overview is None:
        raise NotFound(f"no series {series_id}")
    top = max([episode.spent for episode in overview.episodes] + [episode.estimate.high for episode in
                                                                   overview.episodes] + [1e-9])
    return page(request, "costs.html", user=user, costs=overview, top=top)
