"""People who sign in to the dashboard and what their role lets them do. Passwords are kept only as argon2id
hashes (argon2-cffi's defaults follow RFC 9106), so a copied database gives away no password."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db.models import ROLES, User

APPROVERS = ("director", "admin")
EDITORS = ("artist", "director", "admin")
MIN_PASSWORD = 8

_hasher = PasswordHasher()
_missing_user_hash = _hasher.hash("no such user")


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
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password is shorter than {MIN_PASSWORD} characters: choose a longer one")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise ValueError(f"a user named {name!r} exists: pick another name")
    user = User(name=name, role=role, password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user if the password is theirs. An unknown name costs as much time as a wrong password, so the
    response time does not tell which names exist."""
    user = session.scalar(select(User).where(User.name == name.strip(), User.active.is_(True)))
    try:
        _hasher.verify(user.password_hash if user else _missing_user_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))
