"""What every command shares: the terminal, the common options, how an episode is named, and how a failure ends
(one line naming the file, the line and the fix; exit status 1)."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from aigms.schemas.errors import InputError

if TYPE_CHECKING:
    from aigms.schemas.series import Series

console = Console()
errors = Console(stderr=True)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="project data folder (database, asset store); default $AIGMS_HOME or ./.aigms")
]
StrictOption = Annotated[bool, typer.Option("--strict", help="an uncast character in the script is an error")]
EpisodeArgument = Annotated[str, typer.Argument(help="the episode's .fountain file, or its id with --series")]
SeriesOption = Annotated[Path | None, typer.Option("--series", help="series folder (default: here)")]


def fail(error: Exception) -> None:
    errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def warn(message: str, label: str = "warning", style: str = "yellow") -> None:
    """A message that quotes a script or a bible: their text is printed as written, never read as Rich markup
    (`[/]` in a line of dialogue would crash the command, `[bold]` restyle it)."""
    errors.print(f"[{style}]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def locate_series(series_dir: Path | None) -> "Series":
    from aigms.production.bible import find_series_file, load_series

    return load_series(find_series_file(series_dir or Path.cwd()))


def locate_episode(episode: str, series_dir: Path | None) -> tuple[Path, str]:
    """An episode is named by its script file, or by its id within --series (default: this folder)."""
    from aigms.production.bible import find_series_file, load_series

    candidate = Path(episode)
    if candidate.suffix == ".fountain" or candidate.is_file():
        bible = find_series_file(candidate)
        series = load_series(bible)
        for ref in series.episodes:
            if (series.root / ref.script).resolve() == candidate.resolve():
                return bible.parent, ref.id
        raise InputError(bible, None, f"{candidate} is not listed under episodes", "add it to the episodes list")
    bible = find_series_file(series_dir or Path.cwd())
    load_series(bible).episode(episode)
    return bible.parent, episode
