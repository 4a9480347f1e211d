"""`aigms shots`: the shot list of an episode as a director works with it — see it, export it to a spreadsheet,
import the edits, print the storyboard, approve it. Every command plans from the current script first, so what a
person sees is what would be filmed."""

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aigms.options import EpisodeArgument, HomeOption, SeriesOption, StrictOption, console, fail, warn
from aigms.options import locate_episode
from aigms.schemas.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from aigms.db import models
    from aigms.schemas.series import Series

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _planned(episode: str, series_dir: Path | None, home: Path | None,
             strict: bool = False) -> tuple["Series", "Engine", int]:
    """Plan the episode and record it; returns the series, the database engine and the episode's row id."""
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.bible import load_series
    from aigms.production.storyboard.ingest import IngestReport, read_episode, record_episode

    folder, episode_id = locate_episode(episode, series_dir)
    series = load_series(folder)
    source = read_episode(series, episode_id, strict=strict)
    report = IngestReport()
    engine = open_database(settings.database(settings.home(home)))
    with session_scope(engine) as session:
        row_id = record_episode(session, series, source, report).id
    for warning in report.warnings:
        warn(warning)
    return series, engine, row_id


def _approval(row: "models.Episode") -> str | None:
    if not row.shotlist_approved:
        return None
    return f"{row.shotlist_approved_by}, {row.shotlist_approved_at:%Y-%m-%d %H:%M}"


@app.command()
def show(episode: EpisodeArgument, series_dir: SeriesOption = None, home: HomeOption = None,
         strict: StrictOption = False) -> None:
    """The shot list: framing, timing, segments, people's edits and conflicts, the runtime against the target."""
    from aigms.db import models
    from aigms.db.session import session_scope
    from aigms.production.storyboard.ingest import load_shotlist
    from aigms.production.storyboard.timing import duration_report

    try:
        series, engine, row_id = _planned(episode, series_dir, home, strict)
    except (InputError, KeyError) as error:
        fail(error)
    with session_scope(engine) as session:
        row = session.get(models.Episode, row_id)
        shotlist = load_shotlist(session, row)
        conflicts = {shot.code: shot.conflict for shot in row.shots if shot.conflict}
        approval = _approval(row)
    table = Table(title=f"{series.id} {shotlist.episode}")
    for name in ("shot", "size", "framing", "move", "sec", "segs", "in", "who"):
        table.add_column(name, no_wrap=True)
    table.add_column("text", no_wrap=True, overflow="ellipsis", max_width=40)
    table.add_column("edited", no_wrap=True)
    for shot in shotlist.shots:
        flag = "[red]conflict[/]" if shot.id in conflicts else ", ".join(shot.edited)
        table.add_row(shot.id, shot.size, shot.framing, shot.move, f"{shot.duration:.1f}", str(len(shot.segments)),
                      shot.transition if shot.transition != "cut" else "", Text(" ".join(shot.characters)),
                      Text(" ".join(shot.text.split())), flag)
    console.print(table)
    report = duration_report(shotlist.shots, series.storyboard.target_seconds)
    line = f"runtime {report.total:.1f} s"
    if report.target:
        delta = report.total - report.target
        slack = sum((report.can_stretch if delta < 0 else report.can_shrink).values())
        line += f" against a target of {report.target:.0f} s ({delta:+.1f} s; the shots can absorb {slack:.1f} s)"
    console.print(line)
    for code, message in conflicts.items():
        warn(f"shot {code}: {message}", "conflict", "red")
    console.print(f"approved by {approval}" if approval else "[yellow]not approved[/]")


@app.command("export")
def export(
    episode: EpisodeArgument,
    form: Annotated[str, typer.Option("--format", help="csv (spreadsheets) or yaml")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="file to write (default: standard output)")] = None,
    series_dir: SeriesOption = None, home: HomeOption = None,
) -> None:
    """Write the shot list for editing; `aigms shots import` reads it back."""
    from aigms.db import models
    from aigms.db.session import session_scope
    from aigms.production.store.files import atomic_write_text
    from aigms.production.storyboard.ingest import load_shotlist
    from aigms.production.storyboard.shot_edits import FORMATS, export_shotlist

    if form not in FORMATS:
        fail(ValueError(f"--format must be one of {', '.join(FORMATS)}, not {form!r}"))
    try:
        _, engine, row_id = _planned(episode, series_dir, home)
    except (InputError, KeyError) as error:
        fail(error)
    with session_scope(engine) as session:
        text = export_shotlist(load_shotlist(session, session.get(models.Episode, row_id)), form)
    if out is None:
        sys.stdout.write(text)
        return
    atomic_write_text(out, text)
    console.print(f"shot list written to [bold]{escape(str(out))}[/]")


@app.command("import")
def import_(file: Path, home: HomeOption = None) -> None:
    """Read an edited shot list: what differs from the plan becomes a person's edit of that shot, kept across
    re-plans until the script under the shot changes. All rows or none."""
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings
    from aigms.production.storyboard.shot_edits import import_edits

    engine = open_database(settings.database(settings.home(home)))
    try:
        with session_scope(engine) as session:
            report = import_edits(session, file)
    except (InputError, KeyError, FileNotFoundError) as error:
        fail(error)
    for warning in report.warnings:
        warn(warning)
    console.print(Text(f"{report.series} {report.episode}: {len(report.shots_edited)} shots edited"
                       + (f" ({', '.join(report.shots_edited)})" if report.shots_edited else "")
                       + (f", edits cleared on {', '.join(report.shots_cleared)}" if report.shots_cleared else "")))


@app.command()
def approve(
    episode: EpisodeArgument, series_dir: SeriesOption = None, home: HomeOption = None,
    by: Annotated[str | None, typer.Option("--by", help="who approves (default: the login name)")] = None,
    note: Annotated[str, typer.Option("--note")] = "",
) -> None:
    """Approve the shot list as it stands; any later change to it needs approving again before a render."""
    from aigms.db import models
    from aigms.db.session import session_scope
    from aigms.production.storyboard.approval import approve_shotlist

    try:
        _, engine, row_id = _planned(episode, series_dir, home)
        with session_scope(engine) as session:
            row = session.get(models.Episode, row_id)
            approve_shotlist(session, row, by or getpass.getuser(), note)
            code, sha = row.code, row.shotlist_sha256
    except (InputError, KeyError) as error:
        fail(error)
    console.print(f"shot list of {code} approved ({sha[:12]})")


@app.command()
def board(
    episode: EpisodeArgument,
    out: Annotated[Path | None, typer.Option(
        "--out", help="an .html file (default: <episode>-storyboard.html), or .pdf to print it with Chromium")] = None,
    series_dir: SeriesOption = None, home: HomeOption = None,
) -> None:
    """Write a printable storyboard sheet: a numbered panel per shot with its frame, size, move, duration, lines."""
    from aigms.db import models
    from aigms.db.session import session_scope
    from aigms.production import settings
    from aigms.production.generate import current_keyframes
    from aigms.production.storyboard.board import filmed_clips, print_pdf, write_board
    from aigms.production.storyboard.ingest import load_shotlist

    try:
        series, engine, row_id = _planned(episode, series_dir, home)
        store = settings.store(settings.home(home))
        with session_scope(engine) as session:
            row = session.get(models.Episode, row_id)
            shotlist = load_shotlist(session, row)
            clips = filmed_clips(session, store, row)
            approval = _approval(row)
        target = out or Path(f"{shotlist.episode}-storyboard.html")
        sheet = target.with_suffix(".html") if target.suffix.lower() == ".pdf" else target
        path = write_board(series, shotlist, sheet, clips, approval, current_keyframes(engine, store, series, shotlist))
        if target.suffix.lower() == ".pdf":
            path = print_pdf(sheet, target)
    except (InputError, KeyError) as error:
        fail(error)
    console.print(f"storyboard of {len(shotlist.shots)} panels written to [bold]{escape(str(path))}[/]")


@app.command()
def keyframes(episode: EpisodeArgument, series_dir: SeriesOption = None, home: HomeOption = None) -> None:
    """Make each shot's keyframe — the still its first take will start from — for review before any video is
    made; `aigms shots board` then shows them. Needs a generator with `options.keyframe` (an image model)."""
    from rich.progress import Progress

    from aigms.db import models
    from aigms.db.session import session_scope
    from aigms.production import settings
    from aigms.production.generate import keyframe_for, take_seed
    from aigms.production.generate.generators import GenerationFailed, generator_for
    from aigms.production.storyboard.ingest import load_shotlist

    try:
        series, engine, row_id = _planned(episode, series_dir, home)
    except (InputError, KeyError) as error:
        fail(error)
    store = settings.store(settings.home(home))
    with session_scope(engine) as session:
        row = session.get(models.Episode, row_id)
        shotlist, rows = load_shotlist(session, row), {shot.code: shot.id for shot in row.shots}
    made = reused = 0
    with Progress(console=console, transient=True) as progress:
        for shot in progress.track(shotlist.shots, description="keyframes"):
            generator = generator_for(shot, series)
            seed = take_seed(generator.settings.seed, shot.id, 0)
            try:
                still = keyframe_for(engine, store, series, shot, rows[shot.id], seed, generator)
            except GenerationFailed as failure:
                warn(f"shot {shot.id}: no keyframe ({failure})")
                continue
            if still is not None:
                made, reused = made + (not still.reused), reused + still.reused
    if made + reused == 0:
        fail(ValueError(f"the generator of {shotlist.episode} makes no keyframes; name an image model in "
                        "series.yaml under generator.options.keyframe"))
    console.print(f"{shotlist.episode}: {made + reused} keyframes ({made} made, {reused} already made); "
                  f"see them with `aigms shots board {shotlist.episode}`")
