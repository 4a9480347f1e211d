"""Starting a film job outside the web process, and watching it. With a Prefect server configured, the job is a
run of the `film-job/dashboard` deployment (`aigms serve` registers it; its runner or a work pool's workers take
it). Without one, this process starts a local worker (`python -m aigms.flows.film_job RUN_ID`) in a session of its
own, so it outlives a restart of the dashboard, with its output in `<store>/../film-jobs/render-run-N.log`; a
thread waits for it and marks the run failed, with the log's last lines, if the worker dies without finishing it.
Either way the worker writes the run's progress to the database, where every dashboard process reads it."""

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from aigms.db.session import session_scope
from aigms.production.review import film_jobs
from aigms.production.review.reviews import ReviewError

DEPLOYMENT_NAME = "film-job/dashboard"  # flows/film_job.py: the flow's name / its deployment's name
LOG_TAIL = 1500
# A worker without a Prefect server starts a temporary one, which takes 10–20 s on a busy machine (Prefect's own
# limit is 20 s), and has no network to send telemetry to; what the person running the dashboard set stands.
WORKER_DEFAULTS = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "DO_NOT_TRACK": "1",
                   "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


@dataclass
class Workers:
    """What this dashboard process needs to start jobs, and the local workers it started (it ends only those)."""

    engine: Engine
    database_url: str
    store: Path
    out: Path
    prefect_api_url: str | None = None
    running: dict[int, subprocess.Popen] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.store.parent / "film-jobs"

    def start(self, run_id: int) -> None:
        """Hand the queued run to its worker; a job that cannot be handed over is marked failed, and refused, with
        the reason."""
        try:
            if self.prefect_api_url:
                self._submit(run_id)
            else:
                self._spawn(run_id)
        except Exception as error:
            with session_scope(self.engine) as session:
                film_jobs.fail(session, run_id, f"the job could not be started: {error}")
            raise ReviewError(f"render run {run_id} could not be started: {error}") from error

    def _submit(self, run_id: int) -> None:
        from prefect.deployments import run_deployment
        from prefect.exceptions import ObjectNotFound
        from prefect.settings import PREFECT_API_URL, temporary_settings

        try:
            with temporary_settings({PREFECT_API_URL: self.prefect_api_url}):
                flow_run = run_deployment(DEPLOYMENT_NAME, parameters={"run_id": run_id}, timeout=0,
                                          as_subflow=False, tags=["aigms", "film-job"], _sync=True)
        except ObjectNotFound:
            raise LookupError(f"no deployment {DEPLOYMENT_NAME} on the Prefect server at {self.prefect_api_url}: "
                               "run `aigms serve SERIES_DIR` against that server") from None
        with session_scope(self.engine) as session:
            film_jobs.attach_worker(session, run_id, None, str(flow_run.id))

    def _spawn(self, run_id: int) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"render-run-{run_id}.log"
        env = {**WORKER_DEFAULTS, **os.environ, "AIGMS_DATABASE_URL": self.database_url,
               "AIGMS_STORE": str(self.store)}
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "aigms.flows.film_job", str(run_id), "--out", str(self.out)],
                env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.running[run_id] = process
        with session_scope(self.engine) as session:
            film_jobs.attach_worker(session, run_id, process.pid)
        threading.Thread(target=self._supervise, args=(run_id, process, log), daemon=True,
                         name=f"film-job-{run_id}").start()

    def _supervise(self, run_id: int, process: subprocess.Popen, log: Path) -> None:
        status = process.wait()
        self.running.pop(run_id, None)
        if status != 0:
            tail = log.read_text(errors="replace")[-LOG_TAIL:] if log.is_file() else ""
            with session_scope(self.engine) as session:
                film_jobs.fail(session, run_id, f"the worker stopped (exit status {status}): {tail}")

    def stop(self, run_id: int) -> None:
        """End the local worker of a run, if this process started it and it still runs (its whole process group:
        the flow and its ffmpeg children)."""
        process = self.running.get(run_id)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
