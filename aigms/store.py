"""`aigms store`: the asset store as a person checks it. `verify` hashes every file again against the name its
row gives it; a file whose bytes changed is moved to `store/corrupt/` and made again by the next render."""

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from aigms.options import HomeOption, console, errors

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command()
def verify(home: HomeOption = None) -> None:
    """Hash every file of the asset store against its row; exit status 1 when one is corrupt (moved aside to
    store/corrupt/, to be made again by the next render) or missing."""
    from sqlalchemy import func, select

    from aigms.db.models import Asset
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.store.assets import verify_store

    home_dir = settings.home(home)
    store = settings.store(home_dir)
    problems: list[str] = []
    checked = 0
    with session_scope(open_database(settings.database(home_dir))) as session:
        total = session.scalar(select(func.coalesce(func.sum(Asset.size), 0)))
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            bar = progress.add_task("hashing the store", total=total)
            for asset, intact in verify_store(session, store):
                checked += 1
                progress.advance(bar, asset.size)
                if intact is None:
                    problems.append(f"[red]missing:[/] {escape(asset.path)} (asset {asset.id}, {asset.kind})")
                elif not intact:
                    problems.append(f"[red]corrupt:[/] {escape(asset.path)} (asset {asset.id}, {asset.kind}): moved "
                                    f"to {escape(str(store / 'corrupt'))}; the next render makes it again")
    for problem in problems:
        errors.print(problem, highlight=False, soft_wrap=True)
    if problems:
        errors.print(f"[bold red]{len(problems)} of {checked} files are not what their names say[/]")
        raise typer.Exit(1)
    console.print(f"{checked} files in {store}: every one matches its sha256")
