"""`aigms kitsu` and `aigms export`: handing a series to the tools a studio already runs. `kitsu push|pull` keeps
a Kitsu production in step with the project (KITSU_HOST, KITSU_USER and KITSU_PASSWORD, or KITSU_TOKEN);
`export jianying|otio` writes an episode's latest cut as a 剪映 draft or as a portable OTIO bundle."""

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from aigms.options import EpisodeArgument, HomeOption, SeriesOption, console, errors, fail, locate_episode
from aigms.schemas.errors import InputError

if TYPE_CHECKING:
    from aigms.production.deliver.kitsu import Report

kitsu = typer.Typer(no_args_is_help=True, add_completion=False,
                    help="Keep a Kitsu production in step with the series (push), and bring its decisions back (pull).")
export = typer.Typer(no_args_is_help=True, add_completion=False,
                     help="An episode's latest cut for other editing tools.")

SeriesArgument = Annotated[Path, typer.Argument(help="the series folder (default: here)")]
TaskTypeOption = Annotated[str, typer.Option(
    "--task-type", envvar="KITSU_TASK_TYPE", help="the Kitsu task type whose task carries each shot's takes")]


def _print_report(report: "Report", title: str) -> None:
    counts = report.counts()
    whats = list(dict.fromkeys(what for _, what in counts))
    table = Table("kind", *whats, title=title)
    for kind in dict.fromkeys(kind for kind, _ in counts):
        table.add_row(kind, *(str(counts.get((kind, what), "")) for what in whats))
    console.print(table)
    notes = report.notes()
    if notes:
        listed = Table("item", "what", "detail", title="to read")
        for action in notes:
            listed.add_row(action.name, action.what, action.detail)
        console.print(listed)


def _project(series_dir: Path, home: Path | None):
    from aigms.db.session import open_database
    from aigms.production import settings
    from aigms.production.bible import load_series

    series = load_series(series_dir)
    home_dir = settings.home(home)
    return series, open_database(settings.database(home_dir)), settings.store(home_dir)


def _ingest(series, engine) -> None:
    """The series as its folder is now, so Kitsu gets every episode and shot planned, filmed or not."""
    from aigms.db.session import session_scope
    from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, read_episode

    sources = [read_episode(series, episode.id) for episode in series.episodes]
    report = IngestReport()
    with session_scope(engine) as session:
        ingest_series(session, series, report)
        for source in sources:
            ingest_episode(session, series, source, report)
    for warning in report.warnings:
        errors.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


@kitsu.command()
def push(series_dir: SeriesArgument = Path(), home: HomeOption = None,
         task_type: TaskTypeOption = "Animation") -> None:
    """Create or update the series in Kitsu: the production, its episodes, a sequence per scene, its shots with
    their frame ranges, a task per shot with each selected take as a preview and our status as its status. The
    series folder is ingested first, so every episode is there, filmed or not. Run it again at any time: it
    updates, never duplicates, and resumes a push that stopped half way."""
    from rich.progress import Progress

    from aigms.production.deliver import kitsu as sync

    try:
        series, engine, store = _project(series_dir, home)
        _ingest(series, engine)
        client = sync.connect(sync.server_from_env())
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task("pushing shots", total=None)
            report = sync.push(engine, store, series, client, task_type,
                               lambda name, total: progress.update(bar, advance=1, total=total,
                                                                   description=f"pushed {name}"))
    except sync.KitsuError as error:
        _print_report(error.report, f"aigms kitsu push {series_dir} (stopped)")
        fail(error)
    except InputError as error:
        fail(error)
    _print_report(report, f"aigms kitsu push {series.id} → {sync.gazu.client.get_host(client=client)}")


@kitsu.command()
def pull(series_dir: SeriesArgument = Path(), home: HomeOption = None) -> None:
    """Bring back what was decided in Kitsu since the last pull: a retake asked on a shot's task becomes our retake
    with its note and author (the next render films it); a "done" approves the take."""
    from aigms.production.deliver import kitsu as sync

    try:
        series, engine, _ = _project(series_dir, home)
        report = sync.pull(engine, series, sync.connect(sync.server_from_env()))
    except sync.KitsuError as error:
        _print_report(error.report, f"aigms kitsu pull {series_dir} (stopped)")
        fail(error)
    except InputError as error:
        fail(error)
    _print_report(report, f"aigms kitsu pull {series.id}")


def _latest_cut(episode: str, series_dir: Path | None, home: Path | None):
    from aigms.db.session import session_scope
    from aigms.production.deliver.delivered import latest_cut

    folder, episode_id = locate_episode(episode, series_dir)
    series, engine, store = _project(folder, home)
    with session_scope(engine) as session:
        return series, episode_id, latest_cut(session, store, series.id, episode_id, series.root / "series.yaml")


@export.command()
def jianying(
    episode: EpisodeArgument,
    series_dir: SeriesOption = None,
    out: Annotated[Path, typer.Option("--out", help="where the draft folder goes: the app's drafts folder, or any "
                                      "folder to copy it from")] = Path("drafts"),
    home: HomeOption = None,
    absolute: Annotated[bool, typer.Option("--absolute", help="name media by absolute path instead of relative to "
                                           "the draft (the draft then opens on this machine only)")] = False,
) -> None:
    """Write the episode's latest cut as a 剪映 (Jianying Pro) draft folder: picture, dissolves, dialogue, music and
    subtitles, with its media inside (hard-linked from the store where possible)."""
    from aigms.production.deliver.jianying import APP_VERSION, TRACKS, write_draft

    try:
        series, episode_id, cut = _latest_cut(episode, series_dir, home)
        draft = write_draft(cut, out, f"{series.id}-{episode_id}", absolute)
    except (InputError, KeyError, ValueError) as error:
        fail(error)
    timeline = cut.timeline
    table = Table("track", "segments", title=f"剪映 draft {draft.folder} (Jianying Pro {APP_VERSION} format)")
    for name, count in ((TRACKS["picture"], len(timeline.picture)), (TRACKS["dialogue"], len(timeline.dialogue)),
                        (TRACKS["music"], "looped" if timeline.music else 0)):
        table.add_row(name, str(count))
    console.print(table)
    console.print(f"copy [bold]{draft.folder}[/] into Jianying's drafts folder (its settings name it) to open it")


@export.command(name="otio")
def otio_bundle(
    episode: EpisodeArgument,
    series_dir: SeriesOption = None,
    out: Annotated[Path, typer.Option("--out", help="folder the bundle is written into")] = Path("exports"),
    home: HomeOption = None,
) -> None:
    """Write the episode's latest cut as an OTIO directory bundle (NAME.otiod: content.otio and media/), every
    good take of each shot inside as an alternate, by relative path: it opens on any machine it is copied to."""
    from aigms.production.deliver.interchange import write_bundle

    try:
        series, episode_id, cut = _latest_cut(episode, series_dir, home)
        folder = out / f"{series.id}-{episode_id}.otiod"
        shutil.rmtree(folder, ignore_errors=True)
        path = write_bundle(cut.timeline, cut.checks, cut.failures, cut.alternates, folder)
    except (InputError, KeyError) as error:
        fail(error)
    takes = sum(len(takes) for takes in cut.alternates.values())
    console.print(f"{path}: {len(cut.timeline.picture)} shots, {takes} takes to choose from")
