"""People who sign in: passwords kept only as argon2id hashes, names taken once, and `aigms users` as a person
(or CI, with no terminal) runs it."""

from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.review import people

pytestmark = pytest.mark.database


@pytest.fixture
def engine(database_url: str):
    return open_database(database_url)


def test_a_password_is_stored_only_as_an_argon2id_hash(engine) -> None:
    with session_scope(engine) as session:
        people.add_user(session, "mei", "director", "bronze-mask-7")
    with session_scope(engine) as session:
        stored = session.scalars(select(models.User.password_hash)).one()
    assert stored.startswith("$argon2id$")
    assert "bronze-mask-7" not in stored


def test_signing_in_needs_the_right_password_and_an_active_account(engine) -> None:
    with session_scope(engine) as session:
        people.add_user(session, "mei", "director", "bronze-mask-7")
    with session_scope(engine) as session:
        assert people.authenticate(session, "mei", "bronze-mask-7").role == "director"
        assert people.authenticate(session, "mei", "bronze-mask-8") is None
        assert people.authenticate(session, "nobody", "bronze-mask-7") is None
        session.scalars(select(models.User)).one().active = False
    with session_scope(engine) as session:
        assert people.authenticate(session, "mei", "bronze-mask-7") is None


@pytest.mark.parametrize(("name", "role", "password", "problem"), [
    ("mei", "producer", "bronze-mask-7", "unknown role 'producer'"),
    ("mei", "viewer", "short", "shorter than 8"),
    ("  ", "viewer", "bronze-mask-7", "needs a name"),
])
def test_bad_accounts_are_refused_with_the_fix(engine, name: str, role: str, password: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        with session_scope(engine) as session:
            people.add_user(session, name, role, password)


def test_a_name_is_taken_once(engine) -> None:
    with session_scope(engine) as session:
        people.add_user(session, "mei", "director", "bronze-mask-7")
    with pytest.raises(ValueError, match="exists"):
        with session_scope(engine) as session:
            people.add_user(session, "mei", "viewer", "another-pass")


def aigms(home: Path, database_url: str, *args: str, stdin: str | None = None) -> Result:
    """`aigms ARGS --home HOME` on the test's database, with nothing (as from CI) or `stdin` on standard input."""
    return CliRunner().invoke(app, [*args, "--home", str(home)], input=stdin or "",
                              env={"AIGMS_DATABASE_URL": database_url})


def test_users_add_reads_the_password_from_stdin_and_the_account_signs_in(tmp_path: Path, engine,
                                                                         database_url: str) -> None:
    done = aigms(tmp_path, database_url, "users", "add", "mei", "--role", "director", "--password-stdin",
                 stdin="bronze-mask-7\n")
    assert done.exit_code == 0, done.stderr
    with session_scope(engine) as session:
        assert people.authenticate(session, "mei", "bronze-mask-7").role == "director"
    listed = aigms(tmp_path, database_url, "users", "list")
    assert "mei" in listed.stdout and "director" in listed.stdout


def test_users_add_refuses_an_unknown_role_in_one_line(tmp_path: Path, database_url: str) -> None:
    done = aigms(tmp_path, database_url, "users", "add", "mei", "--role", "wizard", "--password-stdin")
    assert done.exit_code == 1
    assert "unknown role 'wizard'" in done.stderr
