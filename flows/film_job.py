"""A film job queued from the dashboard, run outside the web process: as a run of the `film-job/dashboard`
deployment when a Prefect server is configured (`aigms serve` registers it), else in a local worker process the
dashboard starts:

    python -m aigms.flows.film_job RUN_ID [--out DIR]

Either way the flow reads what to film from the queued render run and renders the episode for that scope, after
any other render of the episode (one at a time: it waits for the episode's lock); a job that fails before the
render takes its run over (an unapproved shot list, a script that no longer parses) is marked failed with the
reason, so the page that watches it says why."""

import argparse
from pathlib import Path

from prefect import flow

from aigms.db.session import open_database, session_scope
from aigms.production import settings
from aigms.flows.episode import EpisodeResult, render_episode
from aigms.production.review import film_jobs

DEPLOYMENT = "dashboard"
DEPLOYMENT_NAME = f"film-job/{DEPLOYMENT}"


@flow(name="film-job", log_prints=True)
def film_job(run_id: int, out_dir: str = "renders", home: str | None = None) -> EpisodeResult:
    engine = open_database(settings.database(settings.home(home)))
    with session_scope(engine) as session:
        job = film_jobs.job(session, run_id)
    try:
        return render_episode(job.series_root, job.episode, str(Path(out_dir).resolve()), home, takes=job.takes,
                              shots=job.shots, run_id=run_id, force=job.shots == [], wait=True)
    except BaseException as error:
        with session_scope(engine) as session:
            film_jobs.fail(session, run_id, f"{type(error).__name__}: {error}")
        raise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="run a film job the dashboard queued")
    parser.add_argument("run_id", type=int)
    parser.add_argument("--out", default="renders", help="delivery folder")
    parser.add_argument("--home", default=None, help="project data folder (default $AIGMS_HOME or ./.aigms)")
    options = parser.parse_args(argv)
    film_job(options.run_id, options.out, options.home)


if __name__ == "__main__":
    main()
