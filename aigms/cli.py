"""The `aigms` command: one verb per thing a person does with a series. Bad input ends in one line naming the
file, the line and the fix, and exit status 1."""

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aigms import shots
from aigms.dashboard.cli import register as register_dashboard
from aigms.options import EpisodeArgument, HomeOption, SeriesOption, StrictOption, console, errors, fail, locate_episode
from aigms.schemas import SCHEMAS
from aigms.schemas.errors import InputError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(shots.app, name="shots")
@app.command()
def schema(name: Annotated[str | None, typer.Argument(help="one of: " + ", ".join(SCHEMAS))] = None) -> None:
    """Print the JSON Schema of a user-facing file (series, script, shotlist, manifest)."""
    if name is None or name not in SCHEMAS:
        known = ", ".join(SCHEMAS)
        if name is None:
            console.print(known)
            return
        fail(ValueError(f"no schema named {name!r}; known: {known}"))
    sys.stdout.write(json.dumps(SCHEMAS[name].model_json_schema(), indent=2, ensure_ascii=False) + "\n")


@app.command()
def init(folder: Path, title: Annotated[str, typer.Option()] = "Untitled Series",
         language: Annotated[str, typer.Option()] = "en") -> None:
    """Scaffold a new series: series.yaml, a bible folder for reference images and a first episode script."""
    from aigms.production.scaffold import scaffold

    try:
        path = scaffold(folder, title, language)
    except (InputError, FileExistsError) as error:
        fail(error)
    console.print(f"series bible written to [bold]{path}[/]; add reference images under {folder / 'bible'}")


@app.command()
def script(file: Path, as_json: Annotated[bool, typer.Option("--json", help="print the parsed script as JSON")] = False) -> None:
    """Parse a Fountain script and show its scenes and elements."""
    from aigms.production.script import read_script

    try:
        parsed = read_script(file)
    except InputError as error:
        fail(error)
    if as_json:
        sys.stdout.write(parsed.model_dump_json(indent=2) + "\n")
        return
    table = Table("line", "type", "who", "text", title=str(file))
    for scene in parsed.scenes:
        table.add_row(str(scene.line), "[bold]scene[/]", "", scene.heading)
        for element in scene.elements:
            table.add_row(str(element.line), element.type, element.character or "", element.text)
    console.print(table)


@app.command()
def ingest(series_dir: Path, home: HomeOption = None, strict: StrictOption = False) -> None:
    """Load a series and its episodes (scenes, shots) into the project database; running it twice changes nothing."""
    from aigms.db.session import open_database, session_scope
    from aigms.flows import settings
    from aigms.production.bible import load_series
    from aigms.production.ingest import IngestReport, ingest_episode, ingest_series, read_episode

    try:
        series = load_series(series_dir)
        sources = [read_episode(series, episode.id, strict=strict) for episode in series.episodes]
    except InputError as error:
        fail(error)
    report = IngestReport()
    engine = open_database(settings.database(settings.home(home)))
    with session_scope(engine) as session:
        ingest_series(session, series, report)
        for source in sources:
            ingest_episode(session, series, source, report)
    for warning in report.warnings:
        errors.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    console.print(f"{series.id}: {len(report.episodes)} episodes, {report.rows_written} rows written")


def _render(series_dir: Path, episode_ids: list[str], out: Path, home: Path | None, strict: bool,
            force: bool, takes: int = 1) -> None:
    from aigms.flows.episode import render_episode

    table = Table("episode", "shots", "rendered", "reused", "video", title="aigms render")
    for episode_id in episode_ids:
        result = render_episode(str(series_dir), episode_id, str(out), str(home) if home else None, strict,
                                force, takes)
        table.add_row(episode_id, str(result.shots), str(result.rendered), str(result.reused), str(result.video))
    console.print(table)


@app.command()
def render(
    episode: EpisodeArgument,
    series_dir: SeriesOption = None,
    out: Annotated[Path, typer.Option("--out", help="delivery folder")] = Path("renders"),
    home: HomeOption = None,
    strict: StrictOption = False,
    force: Annotated[bool, typer.Option("--force", help="render even though the shot list is not approved")] = False,
    takes: Annotated[int, typer.Option("--takes", min=1, help="takes per shot; the first good one is cut in")] = 1,
) -> None:
    """Render one episode to DIR/<series>/<episode>/ (episode.mp4, episode.srt, manifest.json). The shot list must
    be approved first (`aigms shots approve`), or forced."""
    try:
        folder, episode_id = locate_episode(episode, series_dir)
        _render(folder, [episode_id], out, home, strict, force, takes)
    except (InputError, KeyError) as error:
        fail(error)


def example_series() -> Path:
    return Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="delivery folder")] = Path("demo-out"),
    series_dir: Annotated[Path | None, typer.Option("--series", help="another series to render instead")] = None,
    home: HomeOption = None,
) -> None:
    """Render every episode of the example series (or another) as previs and print where the files are. The demo
    renders draft shot lists (no approval asked): it is the animatic a director approves from."""
    from aigms.production.bible import load_series

    series_dir = series_dir or example_series()
    home = home or (Path(os.environ["AIGMS_HOME"]) if "AIGMS_HOME" in os.environ else out / ".aigms")
    try:
        series = load_series(series_dir)
        _render(series_dir, [episode.id for episode in series.episodes], out, home, False, True)
    except (InputError, KeyError) as error:
        fail(error)


register_dashboard(app)


if __name__ == "__main__":
    app()
