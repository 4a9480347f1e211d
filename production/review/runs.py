"""A render run as the studio keeps it (`RenderRun`): opened with what it will film — the approved shot list with
the director's retake notes in its prompts — and the takes finished before it; closed as completed, counting the
shots it filmed and the ones it reused and putting new takes and the cut up for approval, or as failed with its
error. A run killed outright never closes itself: the next render of its episode, which resumes its work, closes
it as interrupted."""

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
from aigms.production.review.reviews import record_cut, submit_for_approval, with_retake_notes
from aigms.production.store import media
from aigms.production.storyboard import PlannedEpisode
from aigms.schemas.shotlist import ShotList

INTERRUPTED = "interrupted; a later render resumed its work"


@dataclass(frozen=True)
class Run:
    id: int
    episode_row_id: int
    shotlist: ShotList  # as it will be filmed: the retake notes joined to the prompts of rejected shots
    made_before: frozenset[int]  # takes of the episode that came out before the run started


def open_run(engine: Engine, planned: PlannedEpisode, flow_run_id: str | None = None) -> Run:
    with session_scope(engine) as session:
        close_interrupted(session, planned.episode_row_id)
        row = models.RenderRun(episode_id=planned.episode_row_id, status=models.RUN_RUNNING,
                               shots_total=len(planned.shotlist.shots),
                               flow_run_id=flow_run_id)
        session.add(row)
        session.flush()
        made_before = frozenset(session.scalars(select(models.Take.id).where(
            models.Take.shot_id.in_(planned.rows.values()), models.Take.status == models.TAKE_OK)))
        shotlist = with_retake_notes(session, planned.shotlist, planned.rows)
        return Run(row.id, planned.episode_row_id, shotlist, made_before)


def close_interrupted(session: Session, episode_row_id: int) -> None:
    for run in session.scalars(select(models.RenderRun).filter_by(episode_id=episode_row_id,
                                                                  status=models.RUN_RUNNING)):
        run.status, run.finished_at, run.message = models.RUN_FAILED, models.utcnow(), INTERRUPTED


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


def selected_takes(run: Run, filmed: dict[str, ShotResult]) -> dict[str, RenderedTake]:
    """Each shot's selected take, reused when it was finished before this run started: a take a retry of this run
    found by its recipe was filmed now."""
    return {shot_id: replace(result.selected, reused=result.selected.take_id in run.made_before)
            for shot_id, result in filmed.items()}


def complete_run(engine: Engine, store: Path, run: Run, selected: dict[str, RenderedTake], cut: Cut) -> int:
    """Close the run and put its work up for review; returns how many shots it filmed."""
    rendered = sum(not take.reused for take in selected.values())
    with session_scope(engine) as session:
        row = session.get(models.RenderRun, run.id)
        row.status, row.finished_at = models.RUN_COMPLETED, models.utcnow()
        row.shots_rendered, row.shots_reused = rendered, len(selected) - rendered
        submit_for_approval(session, run.episode_row_id)
        record_cut(session, store, row, cut.video, cut.subtitles, cut.manifest, media.probe(cut.video).duration)
    return rendered
