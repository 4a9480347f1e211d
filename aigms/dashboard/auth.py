"""Who is asking: the person whose open session the cookie names, looked up on every request so a signed-out
session, a new password, a changed role or a disabled account takes effect at once."""

from fastapi import Depends, Request

from aigms.dashboard.database import Database
from aigms.production.review import people
from aigms.production.review.reviews import Reviewer

SESSION_TOKEN = "token"


class LoginRequired(Exception):
    """No one is signed in: pages redirect to the login form, the API answers 401."""


def signed_in(request: Request, session: Database) -> Reviewer:
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        user = people.session_user(session, token)
        if user is not None:
            request.state.user = Reviewer(user.name, user.role)
            return request.state.user
    request.session.clear()
    raise LoginRequired()


Person = Depends(signed_in)
