"""People who sign in to the dashboard, their sessions, and what their role lets them do. Passwords are kept only
as argon2id hashes (argon2-cffi's defaults follow RFC 9106), so a copied database gives away no password; a
session is a row named by the hash of the cookie's random token, so it ends when the row goes."""

import hashlib
import os
import secrets
import threading
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aigms.db.models import ROLES, User, UserSession, utcnow

APPROVERS = ("director", "admin")
EDITORS = ("artist", "director", "admin")
MIN_PASSWORD = 8
SESSION_DAYS = 14

_hasher = PasswordHasher()
# Each argon2 hash holds 64 MiB for its duration: at most one per core at a time, so a burst of sign-ins waits
# its turn instead of growing the dashboard by 64 MiB a request.
_argon2_slots = threading.BoundedSemaphore(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                           else os.cpu_count() or 1)


def _hash(password: str) -> str:
    with _argon2_slots:
        return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    with _argon2_slots:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


@cache
def missing_user_hash() -> str:
    """What an unknown name's password is checked against. Made on first use, not on import: every render process
    imports this module and ~0.1 s of argon2 would be spent in each; the dashboard makes it as it starts."""
    return _hash("no such user")


def may_approve(role: str) -> bool:
    return role in APPROVERS


def may_film(role: str) -> bool:
    """Artists start renders, ask for takes, change shots and leave notes; only directors and admins decide."""
    return role in EDITORS


def add_user(session: Session, name: str, role: str, password: str) -> User:
    """A new person; a name is taken once, a role is one of viewer, artist, director, admin."""
    name = name.strip()
    if not name:
        raise ValueError("a user needs a name: pass one, e.g. `aigms users add lin --role director`")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    _check_password(password)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise ValueError(f"a user named {name!r} exists: pick another name")
    user = User(name=name, role=role, password_hash=_hash(password))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user if the password is theirs. An unknown name costs as much time as a wrong password, so the
    response time does not tell which names exist."""
    name = name.strip()
    user = session.scalar(select(User).where(User.name == name, User.active.is_(True))) if _printable(name) else None
    if not _verify(user.password_hash if user else missing_user_hash(), password) or user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    return user


def _printable(name: str) -> bool:
    """A name with a NUL or another control character is no one's (and PostgreSQL refuses NUL in text)."""
    return name.isprintable() and len(name) <= 200


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password is shorter than {MIN_PASSWORD} characters: choose a longer one")


def _named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise ValueError(f"no user named {name!r}: `aigms users list` shows who there is")
    return user


def set_password(session: Session, name: str, password: str) -> User:
    """A new password ends every session the person had: whoever knew the old one is signed out too."""
    _check_password(password)
    user = _named(session, name)
    user.password_hash = _hash(password)
    end_sessions(session, user.id)
    return user


def set_active(session: Session, name: str, active: bool) -> User:
    """A disabled account cannot sign in, and its open sessions end at once."""
    user = _named(session, name)
    user.active = active
    if not active:
        end_sessions(session, user.id)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def _token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, address: str = "") -> str:
    """A new session for a person who just signed in; returns the token for their cookie. Sessions past their
    time are cleared on the way."""
    now = utcnow()
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_sha256=_token_sha256(token), user_id=user.id,
                            expires_at=now + timedelta(days=SESSION_DAYS), address=address[:100]))
    session.flush()
    return token


def session_user(session: Session, token: str) -> User | None:
    """Who holds this session, if it is still open and their account active."""
    return session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_sha256 == _token_sha256(token), UserSession.expires_at > utcnow(),
               User.active.is_(True))
    )


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_sha256 == _token_sha256(token)))


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))
