"""The `aigms` command: one verb per thing a person does with a series. Bad input ends in one line naming the
file, the line and the fix, and exit status 1."""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aigms.prefect_defaults import apply_prefect_defaults

apply_prefect_defaults()

from aigms import bible, costs, handoff, jobs, shots, store  # noqa: E402
from aigms.dashboard.cli import register as register_dashboard  # noqa: E402
from aigms.options import (EpisodeArgument, HomeOption, SeriesOption, StrictOption, console, errors,  # noqa: E402
                           fail, locate_episode, warn)
from aigms.schemas import SCHEMAS  # noqa: E402
from aigms.schemas.errors import BudgetExceeded, InputError  # noqa: E402

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(shots.app, name="shots")
app.add_typer(bible.app, name="bible")
app.add_typer(store.app, name="store")
app.add_typer(jobs.app, name="jobs")
app.add_typer(costs.app, name="cost")
app.add_typer(handoff.kitsu, name="kitsu")
app.add_typer(handoff.export, name="export")
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
    console.print(f"series bible written to [bold]{escape(str(path))}[/]; add reference images under "
                  f"{escape(str(folder / 'bible'))}")


@app.command()
def script(file: Path, as_json: Annotated[bool, typer.Option("--json", help="print the parsed script as JSON")] = False) -> None:
    """Parse a Fountain script and show its scenes and elements."""
    from aigms.production.script.fountain import read_script

    try:
        parsed = read_script(file)
    except InputError as error:
        fail(error)
    if as_json:
        sys.stdout.write(parsed.model_dump_json(indent=2) + "\n")
        return
    table = Table("line", "type", "who", "text", title=Text(str(file)))
    for scene in parsed.scenes:
        table.add_row(str(scene.line), "[bold]scene[/]", "", Text(scene.heading))
        for element in scene.elements:
            table.add_row(str(element.line), element.type, Text(element.character or ""), Text(element.text))
    console.print(table)


@app.command()
def ingest(series_dir: Path, home: HomeOption = None, strict: StrictOption = False) -> None:
    """Load a series and its episodes (scenes, shots) into the project database; running it twice changes nothing."""
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.bible import load_series
    from aigms.production.storyboard.ingest import IngestReport, read_episode, record_episode

    try:
        series = load_series(series_dir)
        sources = [read_episode(series, episode.id, strict=strict) for episode in series.episodes]
    except InputError as error:
        fail(error)
    report = IngestReport()
    engine = open_database(settings.database(settings.home(home)))
    with session_scope(engine) as session:
        for source in sources:
            record_episode(session, series, source, report)
    for warning in report.warnings:
        warn(warning)
    console.print(f"{series.id}: {len(report.episodes)} episodes, {report.rows_written} rows written")


def _render(series_dir: Path, episode_ids: list[str], out: Path, home: Path | None, strict: bool,
            force: bool, takes: int = 1, dask: str | None = None, wait: bool = False,
            budget_override: bool = False) -> None:
    from aigms.flows.episode import render_episode
    from aigms.flows.temporary_server import start_temporary_server

    start_temporary_server()

    if dask:
        from prefect_dask import DaskTaskRunner

        render_episode = render_episode.with_options(task_runner=DaskTaskRunner(address=dask))
    table = Table("episode", "shots", "rendered", "reused", "video", title="aigms render")
    with _remote_progress():
        for episode_id in episode_ids:
            result = render_episode(str(series_dir), episode_id, str(out), str(home) if home else None, strict,
                                    force, takes, wait, budget_override)
            table.add_row(episode_id, str(result.shots), str(result.rendered), str(result.reused),
                          Text(str(result.video)))
    console.print(table)


@contextmanager
def _remote_progress() -> Iterator[None]:
    """A bar per remote job in flight (Kling task, ComfyUI prompt: state, node and step), on a terminal only."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from aigms.production.generate import remote

    if not errors.is_terminal:
        yield
        return
    bars: dict[int, Any] = {}
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                  TextColumn("{task.fields[detail]}", markup=False), TimeElapsedColumn(), console=errors,
                  transient=True) as progress:
        def show(event: remote.Progress) -> None:
            detail = event.state + (f" · node {event.node}" if event.node else "") + (
                f" · step {event.step}/{event.steps}" if event.steps else "")
            if event.job not in bars:
                bars[event.job] = progress.add_task(f"{event.provider} {event.label}", total=None, detail=detail)
            progress.update(bars[event.job], detail=detail, total=event.steps, completed=event.step or 0)
            if event.state in ("succeeded", "failed"):
                progress.remove_task(bars.pop(event.job))

        with remote.reporting(show):
            yield


@app.command()
def render(
    episode: Annotated[str | None, typer.Argument(help="the episode's .fountain file, or its id with --series")] = None,
    series_dir: SeriesOption = None,
    out: Annotated[Path, typer.Option("--out", help="delivery folder")] = Path("renders"),
    home: HomeOption = None,
    strict: StrictOption = False,
    force: Annotated[bool, typer.Option("--force", help="render even though the shot list is not approved")] = False,
    takes: Annotated[int, typer.Option("--takes", min=1, max=20,
                                       help="takes per shot; the first good one is cut in")] = 1,
    from_manifest: Annotated[Path | None, typer.Option(
        "--from-manifest", help="render again from a delivered manifest.json (its media found by hash)")] = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="address of a Dask scheduler (tcp://host:8786) whose workers run the tasks")] = None,
    wait: Annotated[bool, typer.Option(
        "--wait", help="if another render of the episode is running, wait for it instead of stopping")] = False,
    budget_override: Annotated[bool, typer.Option(
        "--budget-override", help="a director's call: film past the budgets in series.yaml (calls are still priced)")
    ] = False,
) -> None:
    """Render one episode to DIR/<series>/<episode>/ (episode.mp4, .srt, .vtt, timeline.otio, .edl, .xml,
    manifest.json). The shot list must be approved first (`aigms shots approve`), or forced. One render of an
    episode runs at a time: a second is refused with who holds it, or waits with --wait."""
    from aigms.production.render_lock import RenderLocked

    try:
        if from_manifest is not None:
            _render_from_manifest(from_manifest, out, home)
            return
        if episode is None:
            raise InputError(Path.cwd(), None, "no episode given", "name a .fountain file, or use --from-manifest")
        folder, episode_id = locate_episode(episode, series_dir)
        _render(folder, [episode_id], out, home, strict, force, takes, dask, wait, budget_override)
    except (InputError, KeyError, RenderLocked, BudgetExceeded) as error:
        fail(error)
    except Exception as error:
        from aigms.production.generate.remote import StopRender

        if isinstance(error, StopRender):
            fail(error)  # a provider that will not work until a person acts: one line, finished takes kept
        raise


def _render_from_manifest(manifest: Path, out: Path, home: Path | None) -> None:
    from aigms.production import settings
    from aigms.production.deliver.delivery import read_manifest, render_from_manifest

    before = read_manifest(manifest).picture_sha256
    delivered = render_from_manifest(manifest, settings.store(settings.home(home)), out)
    same = delivered.manifest.picture_sha256 == before
    console.print(f"{escape(str(delivered.video))}: picture {'identical to' if same else 'differs from'} the "
                  f"manifest's "
                  f"(sha256 {delivered.manifest.picture_sha256[:16]}…)")


@app.command()
def verify(file: Path) -> None:
    """Report the AIGC labels, subtitle tracks and picture integrity a delivered video carries; exit status 1 when
    its implicit label is missing, incomplete or names another picture."""
    from aigms.production.post.labels import AIGC_FIELDS, inspect
    from aigms.production.store.media import MediaError

    if not file.is_file():
        fail(InputError(file, None, "file not found", "give the path of a delivered video"))
    try:
        report = inspect(file)
    except MediaError as error:
        fail(error)
    table = Table("item", "value", title=Text(f"{file} ({report.duration:.2f} s)"), show_lines=False)
    for name in AIGC_FIELDS:
        value = (report.aigc or {}).get(name)
        table.add_row(f"AIGC.{name}", "[red]missing[/]" if value is None else Text(str(value) or "(empty)"))
    if report.picture_matches is not None:
        table.add_row("picture sha256", f"{report.picture_sha256} "
                      f"{'[green]matches ReservedCode1[/]' if report.picture_matches else '[red]does not match[/]'}")
    visible = report.visible_label or {}
    shown = "throughout" if visible.get("seconds") is None else f"for the first {visible['seconds']} s"
    table.add_row("visible label", Text(f"{visible['text']!r} at {visible['position']}, {shown}") if visible
                  else "[yellow]not declared[/]")
    table.add_row("subtitles", Text(", ".join(f"{s['codec']} ({s['language'] or 'und'})" for s in report.subtitles))
                  or "[yellow]none[/]")
    console.print(table)
    for problem in report.problems:
        warn(problem, "problem", "bold red")
    if report.missing:
        warn(f"the AIGC item lacks {', '.join(report.missing)}", "problem", "bold red")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def qc(
    episode: EpisodeArgument,
    series_dir: SeriesOption = None,
    home: HomeOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="HTML report (default: HOME/reports/<episode>-qc.html)")] = None,
) -> None:
    """Show the consistency checks of an episode's takes and write an HTML report with a contact sheet per shot;
    exit status 1 when a shot is flagged (none of its takes passed)."""
    from aigms.db import queries
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.bible import load_series
    from aigms.production.qc import metrics
    from aigms.production.qc.chart import series_chart
    from aigms.production.qc.report import gather, write_report

    try:
        folder, episode_id = locate_episode(episode, series_dir)
        series = load_series(folder)
    except (InputError, KeyError) as error:
        fail(error)
    home_dir = settings.home(home)
    with session_scope(open_database(settings.database(home_dir))) as session:
        row = queries.episode_by_code(session, series.id, episode_id)
        if row is None:
            fail(InputError(folder / "series.yaml", None, f"episode {episode_id} has not been rendered",
                            f"run `aigms render {episode_id} --series {folder}` first"))
        shots = gather(session, settings.store(home_dir), row)
        measured = metrics.measure(session, row)
        chart = series_chart(session, series.id, lambda shot: f"#shot-{shot.code}" if shot.episode == episode_id
                             else f"{shot.episode}-qc.html#shot-{shot.code}")
    faces_seen = any(metric.value is not None for metric in measured[0] + measured[1])
    path = write_report(series.title, episode_id, shots, out or home_dir / "reports" / f"{episode_id}-qc.html",
                        chart, measured if faces_seen else None)
    table = Table("shot", "takes", "cut in", "checks", "failed", title=f"aigms qc {episode_id}")
    for shot in shots:
        selected = shot.selected
        failed = [f"{s.check} {s.score:.2f}<{s.threshold:.2f}" for s in (selected.scores if selected else [])
                  if not s.passed]
        table.add_row(shot.code, str(len(shot.takes)), str(selected.id) if selected else "–",
                      str(len(selected.scores)) if selected else "0",
                      f"[red]{', '.join(failed)}[/]" if failed else "[green]none[/]")
    console.print(table)
    if faces_seen:
        console.print(_identity_table(episode_id, measured))
    for line in chart.flagged if chart else []:
        warn(f"{line.name} {line.drift:.2f} between episodes: {line.advice}", "identity drift")
    console.print(f"report written to [bold]{escape(str(path))}[/]")
    if any(shot.flagged for shot in shots):
        raise typer.Exit(1)


def _identity_table(episode_id: str, measured: tuple[list, list]) -> Table:
    from aigms.production.qc.metrics import METRICS, PAPER_FIGURES

    table = Table("metric", episode_id, "series", "the papers' systems", title=f"identity ({measured[0][0].extractor})")
    for own, whole in zip(*measured):
        papers = " · ".join(f"{system} {value:.4f}" for system, value in PAPER_FIGURES[own.name].items())
        table.add_row(METRICS[own.name], "–" if own.value is None else f"{own.value:.4f}",
                      "–" if whole.value is None else f"{whole.value:.4f}", papers or "no figure verified")
    return table


@app.command()
def serve(
    series_dir: Annotated[Path, typer.Argument(help="the series folder; its series.yaml has `schedules:`")] = Path(),
    out: Annotated[Path, typer.Option("--out", help="delivery folder")] = Path("renders"),
    home: HomeOption = None,
    pool: Annotated[str | None, typer.Option(
        "--pool", help="register on this Prefect work pool for its workers to run, and return")] = None,
) -> None:
    """Register a Prefect deployment of `render-series` for each schedule in series.yaml and run them on their
    cron schedules until stopped (Ctrl-C); with --pool, register them on a work pool and return, for the workers on
    the GPU machines (`prefect worker start --pool NAME --limit 1`) to run. Needs a Prefect server:
    `prefect server start` and PREFECT_API_URL."""
    from prefect import serve as prefect_serve

    from aigms.flows.concurrency import GENERATE_TAG, ensure_generation_limit
    from aigms.flows.schedules import deployments, register_on_pool

    try:
        served = register_on_pool(series_dir, out, home, pool) if pool else deployments(series_dir, out, home)
    except InputError as error:
        fail(error)
    slots = ensure_generation_limit()
    console.print(f"at most {slots} shots filmed at once (Prefect tag {GENERATE_TAG!r})" if slots else
                  f"no GPU here and no limit on tag {GENERATE_TAG!r}: the task runner bounds filming")
    table = Table("deployment", "cron", "time zone", "episodes", title="aigms serve")
    for deployment in served:
        for schedule in deployment.schedules:
            table.add_row(deployment.name, Text(schedule.schedule.cron), schedule.schedule.timezone,
                          ", ".join(deployment.parameters["episodes"] or ["every approved episode"]))
    console.print(table)
    console.print("film jobs started from the dashboard run as deployment [bold]film-job/dashboard[/]")
    if pool:
        console.print(f"registered on work pool {pool!r}: start a worker on each GPU machine with "
                      f"`prefect worker start --pool {pool} --limit 1`")
        return
    prefect_serve(*served)


def example_series() -> Path:
    """The example series ships inside the package (`aigms.examples`), so an installed aigms has it too."""
    from importlib import resources

    return Path(str(resources.files("aigms.examples") / "bronze-echoes"))


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
