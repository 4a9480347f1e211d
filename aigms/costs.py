"""`aigms cost`: what an episode will cost before it is filmed, and where the money went after. Prices and budgets
are in series.yaml (`costs:`, `budget:`); every model call a render makes is in the ledger."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aigms.options import HomeOption, SeriesOption, StrictOption, console, fail
from aigms.schemas.errors import InputError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

TakesOption = Annotated[int, typer.Option("--takes", min=1, help="takes asked for per shot, as `aigms render --takes`")]


@app.command()
def estimate(episode: Annotated[str | None, typer.Argument(help="an episode id or .fountain file")] = None,
             series_dir: SeriesOption = None, home: HomeOption = None, strict: StrictOption = False,
             season: Annotated[int | None, typer.Option("--season", min=1, help="every episode of a season")] = None,
             takes: TakesOption = 1) -> None:
    """Price the shot list before any call: per scene, with the retakes this series' history leads to expect."""
    from aigms.db import models
    from aigms.db.session import session_scope
    from aigms.production.generate.costs import money
    from aigms.production.storyboard.estimate import estimate_episode, totals
    from aigms.production.storyboard.ingest import load_shotlist
    from aigms.shots import _planned

    try:
        if (episode is None) == (season is None):
            raise InputError(Path.cwd(), None, "name one episode, or a whole season with --season",
                             "e.g. `aigms cost estimate s01e01 --series DIR` or `aigms cost estimate --season 1`")
        if season is not None:
            from aigms.options import locate_series

            series = locate_series(series_dir)
            codes = [ref.id for ref in series.episodes if ref.season == season]
            if not codes:
                raise InputError(series.root / "series.yaml", None, f"no episode in season {season}",
                                 "list the season's episodes under `episodes:` with `season: N`")
        else:
            codes = [episode]
        planned = [_planned(code, series_dir, home, strict) for code in codes]
    except (InputError, KeyError) as error:
        fail(error)
    series, engine = planned[0][0], planned[0][1]
    estimates = []
    unapproved = []
    with session_scope(engine) as session:
        for _, _, row_id in planned:
            row = session.get(models.Episode, row_id)
            if not row.shotlist_approved:
                unapproved.append(row.code)
            estimates.append(estimate_episode(session, series, load_shotlist(session, row), takes))
    currency = series.costs.currency
    table = Table("episode", "scene", "shots", "calls", "video s", f"low ({currency})", f"expected ({currency})",
                  f"high ({currency})", title=f"aigms cost estimate: {escape(series.title)}")
    for estimated in estimates:
        for scene in estimated.scenes:
            table.add_row(estimated.episode, str(scene.scene), str(scene.shots), str(scene.calls),
                          f"{scene.video_seconds:.1f}", f"{scene.low:,.2f}", f"{scene.expected:,.2f}",
                          f"{scene.high:,.2f}")
        table.add_row(estimated.episode, "[bold]all[/]", "", "", "", f"[bold]{estimated.low:,.2f}[/]",
                      f"[bold]{estimated.expected:,.2f}[/]", f"[bold]{estimated.high:,.2f}[/]", end_section=True)
    console.print(table)
    low, expected, high = totals(estimates)
    console.print(f"expected {money(expected, currency)} (from {money(low, currency)} with no retake to "
                  f"{money(high, currency)} with every retake used)")
    rates = {backend: rate for estimated in estimates for backend, rate in estimated.retake_rates.items()}
    for backend, rate in sorted(rates.items()):
        console.print(f"retake rate of {escape(backend)}: {rate:.0%} of this series' takes failed QC or were rejected")
    for note in dict.fromkeys(note for estimated in estimates for note in estimated.notes):
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if unapproved:
        console.print(f"[yellow]note:[/] not approved yet: {', '.join(unapproved)} (the estimate prices the shot "
                      f"list as it stands)", highlight=False)
    budget = series.budget
    if budget.episode is not None and any(e.expected > budget.episode for e in estimates):
        console.print(f"[red]over budget:[/] an episode is expected to cost more than budget.episode "
                      f"({money(budget.episode, currency)})", highlight=False)


@app.command()
def report(episode: Annotated[str | None, typer.Argument(help="an episode id; default: the whole series")] = None,
           series_dir: SeriesOption = None, home: HomeOption = None) -> None:
    """What was spent: per episode, scene, shot and backend, retakes and rejected takes broken out."""
    from aigms.db.session import open_database, session_scope
    from aigms.db.spend import spend_report
    from aigms.production import settings
    from aigms.options import locate_series
    from aigms.production.generate.costs import money

    try:
        series = locate_series(series_dir)
        if episode is not None:
            series.episode(episode)
    except (InputError, KeyError) as error:
        fail(error)
    engine = open_database(settings.database(settings.home(home)))
    currency = series.costs.currency
    with session_scope(engine) as session:
        spent = spend_report(session, series.id, currency, episode)
    for title, rows in (("episode", {(key,): value for key, value in spent.episodes.items()}),
                        ("backend", {(key,): value for key, value in spent.backends.items()}),
                        ("scene", {(e, str(s)): value for (e, s), value in spent.scenes.items()}),
                        ("shot", {key: value for key, value in spent.shots.items()})):
        columns = ["episode", title] if len(next(iter(rows), ("",))) == 2 else [title]
        table = Table(*columns, "calls", f"spent ({currency})", "retakes", "rejected takes",
                      title=f"spent per {title}")
        for key, spend in sorted(rows.items()):
            table.add_row(*(escape(part) for part in key), str(spend.calls), f"{spend.total:,.2f}",
                          f"{spend.retakes:,.2f}", f"{spend.rejected:,.2f}")
        console.print(table)
    total = spent.total
    budget = series.budget
    line = f"spent {money(total.total, currency)} in {total.calls} calls ({money(total.retakes, currency)} on " \
           f"retakes, {money(total.rejected, currency)} on rejected takes)"
    if budget.series is not None and episode is None:
        line += f"; {total.total / budget.series:.0%} of the series' budget ({money(budget.series, currency)})"
    if budget.episode is not None and episode is not None:
        line += f"; {total.total / budget.episode:.0%} of the episode's budget ({money(budget.episode, currency)})"
    console.print(line, highlight=False)
