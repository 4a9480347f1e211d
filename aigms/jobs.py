"""`aigms jobs`: the remote cameras' jobs (Kling tasks, ComfyUI prompts) still open and those of the last day —
provider, task id, state, age, what was billed — and `aigms jobs cancel ID` for one that should not run on."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aigms.options import HomeOption, console, fail

app = typer.Typer(no_args_is_help=False, add_completion=False, help=__doc__)


@app.callback(invoke_without_command=True)
def jobs(context: typer.Context, home: HomeOption = None,
         days: Annotated[float, typer.Option("--days", help="also list jobs made in this many days")] = 1.0) -> None:
    """List open jobs and recent ones, newest first."""
    if context.invoked_subcommand is not None:
        return
    from aigms.db import ledger
    from aigms.db.session import open_database, session_scope
    from aigms.production import settings

    engine = open_database(settings.database(settings.home(home)))
    table = Table("job", "provider", "call", "task id", "state", "age", "billed", "cost", title="aigms jobs")
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        rows = ledger.jobs(session, timedelta(days=days))
        for call, shot in rows:
            created = call.created_at if call.created_at.tzinfo else call.created_at.replace(tzinfo=UTC)
            billed = f"{call.billed_units:g} {call.unit}" if call.billed_units is not None else ""
            cost = f"{call.cost:.2f} {call.currency or ''}".strip() if call.cost is not None else ""
            what = (f"shot {shot} " if shot else "") + call.kind + (
                f" {call.segment_index + 1}" if call.segment_index is not None else "")
            table.add_row(str(call.id), escape(call.provider or ""), what, escape(call.provider_task_id or ""),
                          _state(call.state, call.error), _age(now - created), escape(billed), cost)
    if not rows:
        console.print(f"no open jobs, and none in the last {days:g} day(s)")
        return
    console.print(table)


@app.command()
def cancel(job: Annotated[int, typer.Argument(help="the job's number, as `aigms jobs` lists it")],
           home: HomeOption = None) -> None:
    """Cancel an open job: a ComfyUI prompt leaves the queue or is interrupted; Kling cannot cancel a task, and
    says so."""
    from aigms.db.session import open_database
    from aigms.production import settings
    from aigms.production.generate import remote

    engine = open_database(settings.database(settings.home(home)))
    try:
        call = remote.cancel(engine, job)
    except (KeyError, ValueError, remote.StopRender) as error:
        fail(error)
    console.print(f"job {call.id} ({call.provider} task {call.provider_task_id or 'not yet sent'}) cancelled")


def _state(state: str, error: str | None) -> str:
    colour = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "interrupted": "yellow"}.get(state)
    text = f"[{colour}]{state}[/]" if colour else state
    return f"{text} [dim]{escape(error)}[/]" if error and state not in ("succeeded",) else text


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h" if seconds < 172800 else f"{seconds // 86400} d"
