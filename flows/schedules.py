"""The `schedules:` of series.yaml as Prefect deployments of `render_series`, each on its cron schedule, for
`aigms serve` to register and run with Prefect's own runner (`prefect.serve`)."""

from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from aigms.flows import settings
from aigms.flows.series import render_series
from aigms.production.bible import find_series_file, load_series
from aigms.schemas.errors import InputError


def deployments(series_dir: Path, out_dir: Path, home: Path | None) -> list[RunnerDeployment]:
    """One deployment per schedule, named `<series>-<schedule>`; paths are made absolute, since the runner may
    start flow runs from another working directory."""
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
        ))
    return made
