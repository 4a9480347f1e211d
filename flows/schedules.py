"""The `schedules:` of series.yaml as Prefect deployments of `render_series`, each on its cron schedule, for
`aigms serve` to register and run with Prefect's own runner (`prefect.serve`), or to register on a work pool whose
workers, one per GPU machine, run them (`register_on_pool`); beside them, the unscheduled deployment the dashboard
starts its film jobs on. Prefect's calls are made synchronously (`_sync=True`) even from a thread whose event loop
runs (a notebook), where they would otherwise hand back a coroutine."""

from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron

from aigms.flows.film_job import DEPLOYMENT, film_job
from aigms.flows.series import render_series
from aigms.production import settings
from aigms.production.bible import find_series_file, load_series
from aigms.schemas.errors import InputError


def deployments(series_dir: Path, out_dir: Path, home: Path | None,
                entrypoint_type: EntrypointType = EntrypointType.FILE_PATH) -> list[RunnerDeployment]:
    """One deployment per schedule, named `<series>-<schedule>`, and `film-job/dashboard`; paths are made
    absolute, since the runner may start flow runs from another working directory."""
    bible = find_series_file(series_dir)
    series = load_series(bible)
    if not series.schedules:
        raise InputError(bible, None, "no schedules to serve",
                         "add a `schedules:` section, e.g. `- {name: nightly, cron: \"0 2 * * *\"}`")
    made = []
    for schedule in series.schedules:
        try:
            cron = Cron(schedule.cron, timezone=schedule.timezone)
        except ValueError as error:
            raise InputError(bible, None, f"schedule {schedule.name!r}: {error}",
                             "give five cron fields and an IANA time zone, e.g. cron: \"0 2 * * *\", "
                             "timezone: Asia/Shanghai") from error
        made.append(render_series.to_deployment(
            name=f"{series.id}-{schedule.name}", schedule=cron, tags=["aigms", series.id], concurrency_limit=1,
            description=f"render {', '.join(schedule.episodes) or 'every approved episode'} of {series.title}",
            parameters={"series_dir": str(bible.parent.resolve()), "out_dir": str(out_dir.resolve()),
                        "home": str(settings.home(home)), "episodes": schedule.episodes or None,
                        "takes": schedule.takes},
            entrypoint_type=entrypoint_type, _sync=True,
        ))
    made.append(film_job.to_deployment(
        name=DEPLOYMENT, tags=["aigms", "film-job"], description="film jobs started from the aigms dashboard",
        parameters={"out_dir": str(out_dir.resolve()), "home": str(settings.home(home))},
        entrypoint_type=entrypoint_type, _sync=True,
    ))
    return made


def register_on_pool(series_dir: Path, out_dir: Path, home: Path | None, pool: str) -> list[RunnerDeployment]:
    """The deployments registered on `pool` (a process pool, made if missing). A worker imports the flow from the
    aigms installed beside it (a module path, not a file of this checkout), so every GPU machine runs the same
    release; the series, store and delivery paths must be the same on every machine (a shared mount)."""
    made = deployments(series_dir, out_dir, home, EntrypointType.MODULE_PATH)
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    for deployment in made:
        deployment.apply(work_pool_name=pool, _sync=True)
    return made
