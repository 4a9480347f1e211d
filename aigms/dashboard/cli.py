"""`aigms dashboard` and `aigms users`: serving the studio dashboard and managing who may sign in to it."""

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aigms.options import HomeOption, SeriesOption, console, fail, locate_episode

users = typer.Typer(no_args_is_help=True, help="People who sign in to the dashboard, and their roles.")

SECRET_FILE = "dashboard-secret"


def dashboard_secret(home_dir: Path) -> str:
    """`AIGMS_SECRET_KEY`, or a random key made once and kept beside the database (readable by its owner only),
    so sessions survive a restart and two projects never share one."""
    if os.environ.get("AIGMS_SECRET_KEY"):
        return os.environ["AIGMS_SECRET_KEY"]
    path = home_dir / SECRET_FILE
    if not path.exists():
        from aigms.production.store.files import atomic_write_text

        home_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, secrets.token_urlsafe(48), mode=0o600)
    return path.read_text().strip()


def dashboard(
    home: HomeOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    https: Annotated[bool, typer.Option(
        "--https", help="served to people through HTTPS (a TLS proxy in front): cookies marked Secure")] = False,
    out: Annotated[Path, typer.Option("--out", help="delivery folder of film jobs started from the dashboard")]
    = Path("renders"),
) -> None:
    """Serve the studio dashboard: series, episodes, shots and takes, review, film jobs, dailies; JSON API under
    /api. Film jobs run as Prefect deployment runs when PREFECT_API_URL names a server (`aigms serve` there), else
    in local worker processes."""
    import uvicorn

    from aigms.dashboard.app import Settings, create_app
    from aigms.production import settings

    home_dir = settings.home(home)
    app = create_app(Settings(
        database_url=settings.database(home_dir), store=settings.store(home_dir),
        secret=dashboard_secret(home_dir), prefect_ui_url=os.environ.get("PREFECT_UI_URL"), https=https,
        out=out.resolve(), prefect_api_url=os.environ.get("PREFECT_API_URL"),
    ))
    console.print(f"aigms dashboard on [bold]http://{host}:{port}/[/] (API docs at /api/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def dailies(
    since: Annotated[str, typer.Option(help="takes filmed since: yesterday, today, 36h or an ISO date")] = "yesterday",
    retakes_of: Annotated[str | None, typer.Option(
        "--retakes-of", help="instead: the retakes of this episode (its .fountain file, or its id with --series)")]
    = None,
    series_dir: SeriesOption = None,
    url: Annotated[str, typer.Option(envvar="AIGMS_DASHBOARD_URL", help="the dashboard's address")]
    = "http://127.0.0.1:8000",
    by: Annotated[str | None, typer.Option("--by", help="who makes it (default: the login name)")] = None,
    home: HomeOption = None,
) -> None:
    """Make a dailies playlist — the takes filmed since yesterday, or an episode's retakes — and print its link."""
    import getpass
    from datetime import datetime

    from sqlalchemy import select

    from aigms.db import models
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.bible import load_series
    from aigms.production.review import dailies as playlists
    from aigms.production.review.reviews import ReviewError
    from aigms.schemas.errors import InputError

    author = by or getpass.getuser()
    try:
        with session_scope(open_database(settings.database(settings.home(home)))) as session:
            if retakes_of is None:
                playlist = playlists.filmed_since(session, author, playlists.parse_since(since, datetime.now()))
            else:
                folder, code = locate_episode(retakes_of, series_dir)
                series_id = load_series(folder).id
                episode_id = session.scalar(select(models.Episode.id).filter_by(series_id=series_id, code=code))
                if episode_id is None:
                    raise InputError(folder / "series.yaml", None, f"episode {code} is not in the database",
                                     f"render it first (`aigms render {code} --series {folder}`)")
                playlist = playlists.episode_retakes(session, author, episode_id)
            name, count, playlist_id = playlist.name, len(playlist.items), playlist.id
    except (InputError, KeyError, ReviewError, LookupError) as error:
        fail(error)
    console.print(f"{name}: {count} takes")
    print(f"{url.rstrip('/')}/dailies/{playlist_id}")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users.command("add")
def add(
    name: str,
    role: Annotated[str, typer.Option(help="viewer, artist, director or admin")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
    home: HomeOption = None,
) -> None:
    """Add a person who may sign in; the password is asked for twice (or read from stdin) and stored hashed."""
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.review.people import add_user

    password = _password(password_stdin)
    try:
        with session_scope(open_database(settings.database(settings.home(home)))) as session:
            user = add_user(session, name, role, password)
            console.print(f"added [bold]{user.name}[/] as {user.role}")
    except ValueError as error:
        fail(error)


@users.command("password")
def password(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read it from standard input")] = False,
    home: HomeOption = None,
) -> None:
    """Give a person a new password; every session they had ends (sign in again everywhere)."""
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.review.people import set_password

    new = _password(password_stdin)
    try:
        with session_scope(open_database(settings.database(settings.home(home)))) as session:
            user = set_password(session, name, new)
            console.print(f"new password for [bold]{user.name}[/]; their sessions have ended")
    except ValueError as error:
        fail(error)


def _set_active(name: str, active: bool, home: Path | None) -> None:
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.review.people import set_active

    try:
        with session_scope(open_database(settings.database(settings.home(home)))) as session:
            user = set_active(session, name, active)
            said = "may sign in again" if active else "is disabled; their sessions have ended"
            console.print(f"[bold]{user.name}[/] {said}")
    except ValueError as error:
        fail(error)


@users.command("disable")
def disable(name: str, home: HomeOption = None) -> None:
    """Stop a person signing in; their open sessions end at once."""
    _set_active(name, False, home)


@users.command("enable")
def enable(name: str, home: HomeOption = None) -> None:
    """Let a disabled person sign in again."""
    _set_active(name, True, home)


@users.command("list")
def list_(home: HomeOption = None) -> None:
    """Everyone who may sign in, with their role."""
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.review.people import list_users

    table = Table("name", "role", "active", "since", title="aigms users")
    with session_scope(open_database(settings.database(settings.home(home)))) as session:
        for user in list_users(session):
            table.add_row(user.name, user.role, "yes" if user.active else "no", f"{user.created_at:%Y-%m-%d}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(dashboard)
    app.command()(dailies)
    app.add_typer(users, name="users")
