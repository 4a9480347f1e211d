"""Who is asking: the person signed in through the session cookie, looked up on every request so a changed role
or a disabled account takes effect at once."""

from fastapi import Depends, Request

from aigms.dashboard.database import Database
from aigms.db import queries
from aigms.production.review.reviews import Reviewer


class LoginRequired(Exception):
    """No one is signed in: pages redirect to the login form, the API answers 401."""


def signed_in(request: Request, session: Database) -> Reviewer:
    user_id = request.session.get("user_id")
    if user_id is not None:
        user = queries.user(session, user_id)
        if user is not None:
            request.state.user = Reviewer(user.name, user.role)
            return request.state.user
    request.session.clear()
    raise LoginRequired()


Person = Depends(signed_in)
