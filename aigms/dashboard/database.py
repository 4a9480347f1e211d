"""The database session a route works in: one per request, shared by the route and the sign-in check, committed
before the response leaves (so the page a form redirects to shows what the form did) and rolled back when the route
raises."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from aigms.db.session import session_scope


def database_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


Database = Annotated[Session, Depends(database_session, scope="function")]
