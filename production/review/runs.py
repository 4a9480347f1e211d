"""A render run as the studio keeps it (`RenderRun`): opened with what it will film — the approved shot list with
the director's retake notes in its prompts, every shot or the ones asked for — and the takes finished before it;
a film job the dashboard queued is taken over, else a new run is opened (`aigms render`). Closed as completed,
counting the shots it filmed and the ones it reused and putting new takes and the cut up for approval, or as failed
with its error. A run killed outright never closes itself: the next render of its episode, which holds the episode
and resumes its work, closes it as interrupted, with the model calls it left open."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production.deliver import Cut
from aigms.production.generate import RenderedTake, ShotResult
from aigms.production.review.reviews import ReviewError, record_cut, submit_for_approval, with_retake_notes
from aigms.production.review.selection import takes_for_cut
from aigms.production.store import media
from aigms.production.storyboard import PlannedEpisode
from aigms.schemas.shotlist import Shot, ShotList

INTERRUPTED = "interrupted; a later render resumed its work"


@dataclass(frozen=True)
class Run:
    id: int
    episode_row_id: int
    shotlist: ShotList  # as it will be filmed: the retake notes joined to the prompts of rejected shots
    filming: list[Shot]  # the shots this run films, in story order: every one, or the ones asked for
    rows: dict[str, int]  # shot id → row id
    made_before: frozenset[int]  # takes of the episode that came out before the run started


def open_run(engine: Engine, planned: PlannedEpisode, flow_run_id: str | None = None,
             run_id: int | None = None) -> Run:
    """The run a render writes to: the film job `run_id` the dashboard queued (now running), or a new one. The
    render holds the episode (`render_lock`), so any other run of it still marked running was interrupted."""
    with session_scope(engine) as session:
        close_interrupted(session, planned.episode_row_id)
        shotlist = with_retake_notes(session, planned.shotlist, planned.rows)
        filming = [shot for shot in shotlist.shots if planned.only is None or shot.id in planned.only]
        if run_id is None:
            row = models.RenderRun(episode_id=planned.episode_row_id, status=models.RUN_RUNNING,
                                   shots_total=len(filming), flow_run_id=flow_run_id)
            session.add(row)
        else:
            row = session.get(models.RenderRun, run_id)
            if row is None or row.status != models.RUN_QUEUED:
                raise ReviewError(f"render run {run_id} is {row.status if row else 'gone'}, not queued: start a "
                                  "new one")
            row.status, row.flow_run_id = models.RUN_RUNNING, flow_run_id
        session.flush()
        made_before = frozenset(session.scalars(select(models.Take.id).where(
            models.Take.shot_id.in_(planned.rows.values()), models.Take.status == models.TAKE_OK)))
        return Run(row.id, planned.episode_row_id, shotlist, filming, planned.rows, made_before)


def close_interrupted(session: Session, episode_row_id: int) -> None:
    """Runs of the episode still marked running, and the local model calls they left open: a call that held its
    device for an unknown time keeps the cost reserved for it (the best figure there is). Remote calls are left to
    their jobs, which re-attach."""
    for run in session.scalars(select(models.RenderRun).filter_by(episode_id=episode_row_id,
                                                                  status=models.RUN_RUNNING)):
        run.status, run.finished_at, run.message = models.RUN_FAILED, models.utcnow(), INTERRUPTED
    for call in session.scalars(select(models.ModelCall).where(
            models.ModelCall.episode_id == episode_row_id, models.ModelCall.provider.is_(None),
            models.ModelCall.state.in_(models.CALL_OPEN))):
        call.state, call.finished_at = models.CALL_INTERRUPTED, models.utcnow()


@contextmanager
def recording(engine: Engine, run: Run) -> Iterator[None]:
    """Whatever stops the work inside (an error, Ctrl-C) is written on the run before it goes on up."""
    try:
        yield
    except BaseException as error:
        with session_scope(engine) as session:
            row = session.get(models.RenderRun, run.id)
            row.status, row.message, row.finished_at = models.RUN_FAILED, str(error)[:2000], models.utcnow()
        raise


def cut_takes(engine: Engine, store: Path, run: Run,
              filmed: dict[str, ShotResult]) -> tuple[dict[str, RenderedTake], str | None]:
    """The take of every shot the cut is made of (`selection.takes_for_cut`: a circled take, this run's choice, or
    the one selected before), each reused when it was finished before this run started (a take a retry of this run
    found by its recipe was filmed now); and why there is no cut yet, None when there can be one. The episode is cut
    only once every shot has a take: a render of some shots of an episode never filmed whole delivers nothing."""
    chosen, missing = takes_for_cut(engine, store, run.shotlist, run.rows,
                                    {shot_id: result.selected for shot_id, result in filmed.items()})
    no_cut = (f"no cut of {run.shotlist.episode} yet: shots {', '.join(missing)} have no take to cut in"
              if missing else None)
    return {shot_id: replace(take, reused=take.take_id in run.made_before)
            for shot_id, take in chosen.items()}, no_cut


def failures(filmed: dict[str, ShotResult], no_cut: str | None) -> list[str]:
    """What went wrong filming the shots, shot by shot, and why there is no cut yet, last."""
    return [failure for result in filmed.values() for failure in result.failures] + ([no_cut] if no_cut else [])


def complete_run(engine: Engine, store: Path, run: Run, selected: dict[str, RenderedTake], cut: Cut | None,
                 message: str | None = None) -> int:
    """Close the run and put its work up for review: the takes of the shots it filmed, and the cut if it made one
    (`message` says why not, `cut_takes`). Returns how many shots it filmed anew."""
    filmed = [shot.id for shot in run.filming]
    rendered = sum(not selected[shot_id].reused for shot_id in filmed if shot_id in selected)
    with session_scope(engine) as session:
        row = session.get(models.RenderRun, run.id)
        row.status, row.finished_at, row.message = models.RUN_COMPLETED, models.utcnow(), message
        row.shots_rendered, row.shots_reused = rendered, len(filmed) - rendered
        row.progress = {**(row.progress or {}), "summary": "done", "step": "done"}
        every_shot = len(run.filming) == len(run.shotlist.shots)
        submit_for_approval(session, run.episode_row_id, None if every_shot else {run.rows[s] for s in filmed})
        if cut is not None:
            record_cut(session, store, row, cut.video, cut.subtitles, cut.manifest, media.probe(cut.video).duration)
    return rendered
