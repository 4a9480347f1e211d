"""Film jobs: renders people ask for from the dashboard — one shot, a scene, the whole episode, or only a new cut —
kept as render runs with their scope, who asked and when, and where the work stands. The job itself runs outside
the web process (a Prefect deployment run, or a local worker process the dashboard supervises); this module holds
its rules: who may start one, what it films, that no shot is filmed by two jobs at once, and how its progress is
written down for any dashboard process to read. (Paid calls to remote cameras are another record: `aigms jobs`.)"""

import copy
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.db.queries import NotFound
from aigms.db.session import session_scope
from aigms.production import progress
from aigms.production.review.people import may_approve, may_film
from aigms.production.review.reviews import Reviewer, ReviewError, with_retake_notes
from aigms.schemas.shotlist import Shot, ShotList

ACTIVE = (models.RUN_QUEUED, models.RUN_RUNNING)
MAX_TAKES = 8


class FilmJobBusy(ReviewError):
    """The shots asked for are being filmed already: the message names the run, who started it and when."""


@dataclass(frozen=True)
class Scope:
    """What a film job films: `shots` by code, every shot when None, none when empty (a new cut only)."""

    label: str
    shots: list[str] | None

    def as_row(self) -> dict[str, Any]:
        return {"label": self.label, "shots": self.shots}


@dataclass(frozen=True)
class FilmJob:
    """A queued film job as its worker needs it."""

    run_id: int
    series_root: str
    episode: str
    shots: list[str] | None
    takes: int


def scope(session: Session, episode_id: int, shot: str | None = None, scene: int | None = None,
          cut_only: bool = False) -> Scope:
    """The episode, one scene (by its number in the script), one shot (by code), or the cut alone."""
    episode = _episode(session, episode_id)
    if cut_only:
        return Scope(f"cut of {episode.code}", [])
    codes = list(session.execute(
        select(models.Shot.code, models.Scene.index).outerjoin(models.Scene, models.Scene.id == models.Shot.scene_id)
        .where(models.Shot.episode_id == episode_id).order_by(models.Shot.position)))
    if shot is not None:
        if shot not in {code for code, _ in codes}:
            raise ReviewError(f"no shot {shot} in {episode.code}: pick one from its shot list")
        return Scope(f"shot {shot}", [shot])
    if scene is not None:
        wanted = [code for code, index in codes if index == scene]
        if not wanted:
            raise ReviewError(f"no scene {scene} with shots in {episode.code}: scenes are numbered from 1 in the "
                              "script")
        return Scope(f"scene {scene}", wanted)
    return Scope(f"episode {episode.code}", None)


def request(session: Session, person: Reviewer, episode_id: int, what: Scope, takes: int = 1) -> models.RenderRun:
    """A queued render run for `what`, refused (before anything is written) when the person may not film, the shot
    list is not approved (filming spends GPU time; a new cut does not), or a shot asked for is being filmed."""
    if not may_film(person.role):
        raise PermissionError(f"{person.name} is a {person.role}; viewers watch: artists, directors and admins film")
    if not 1 <= takes <= MAX_TAKES:
        raise ReviewError(f"{takes} takes: ask for 1 to {MAX_TAKES} takes a shot")
    episode = _episode(session, episode_id)
    if what.shots != [] and not episode.shotlist_approved:
        changed = " (it changed since it was approved)" if episode.shotlist_approved_sha256 else ""
        raise ReviewError(f"the shot list of {episode.code} is not approved{changed}: a director approves it on "
                          "the episode page before it is filmed")
    for run in active_runs(session, episode_id):
        clash = _overlap(run.scope, what.shots)
        if clash:
            shots = "the cut" if clash == {"cut"} else "shot " + ", ".join(sorted(clash))
            raise FilmJobBusy(f"{shots} of {episode.code} is being made by render run {run.id} "
                              f"({(run.scope or {}).get('label', 'the episode')}, started by "
                              f"{run.started_by or 'aigms render'} at {run.started_at:%H:%M:%S}): "
                              "wait for it to finish")
    run = models.RenderRun(episode_id=episode_id, status=models.RUN_QUEUED, scope=what.as_row(), takes=takes,
                           started_by=person.name, shots_total=len(what.shots) if what.shots is not None
                           else len(episode.shots), progress={"summary": "waiting for a worker"})
    session.add(run)
    session.flush()
    return run


def _overlap(running: dict[str, Any] | None, asked: list[str] | None) -> set[str]:
    """Shots both would film; a cut-only job clashes with any other job, since every job ends with the cut."""
    theirs = None if running is None else running.get("shots")
    if asked == [] or theirs == []:
        return {"cut"}
    if theirs is None or asked is None:
        return set(asked or theirs or ["every shot"])
    return set(theirs) & set(asked)


def ensure_not_filming(session: Session, episode_id: int, code: str) -> None:
    """Refuse to change a shot while a render films it: it would film the shot as it was."""
    for run in active_runs(session, episode_id):
        if _overlap(run.scope, [code]) - {"cut"}:
            raise FilmJobBusy(f"shot {code} is being filmed by render run {run.id} (started by "
                              f"{run.started_by or 'aigms render'}): wait for it to finish before changing it")


def active_runs(session: Session, episode_id: int) -> list[models.RenderRun]:
    return list(session.scalars(select(models.RenderRun).where(
        models.RenderRun.episode_id == episode_id, models.RenderRun.status.in_(ACTIVE)).order_by(models.RenderRun.id)))


def takes_for_more(session: Session, shot_row: models.Shot, more: int) -> int:
    """The take count that makes `more` new takes of the shot as it stands (retake notes included): takes are
    numbered seeds, so the ones already filmed of this version are found again and `more` follow them."""
    if not 1 <= more <= MAX_TAKES:
        raise ReviewError(f"{more} more takes: ask for 1 to {MAX_TAKES}")
    shot = Shot.model_validate(shot_row.spec)
    episode = _episode(session, shot_row.episode_id)
    fps = session.get(models.Series, episode.series_id).bible["delivery"]["fps"]
    listed = ShotList(series=episode.series_id, episode=episode.code, language=episode.language, fps=fps,
                      shots=[shot])
    asked = with_retake_notes(session, listed, {shot.id: shot_row.id}).shots[0].filmed()
    recipes = session.scalars(select(models.Take.recipe).where(
        models.Take.shot_id == shot_row.id, models.Take.kind == models.TAKE_CLIP, models.Take.status == models.TAKE_OK))
    return sum(recipe.get("shot") == asked for recipe in recipes) + more


def job(session: Session, run_id: int) -> FilmJob:
    run = session.get(models.RenderRun, run_id)
    if run is None or run.episode_id is None:
        raise NotFound(f"no film job {run_id}")
    episode = _episode(session, run.episode_id)
    return FilmJob(run.id, session.get(models.Series, episode.series_id).root, episode.code,
                   (run.scope or {}).get("shots"), run.takes or 1)


def attach_worker(session: Session, run_id: int, pid: int | None, flow_run_id: str | None = None) -> None:
    run = session.get(models.RenderRun, run_id)
    run.worker_pid, run.flow_run_id = pid, flow_run_id or run.flow_run_id


def stop(session: Session, person: Reviewer, run_id: int) -> models.RenderRun:
    """Mark a job stopped at a person's word (its worker, if any, is ended by whoever started it): the one who
    started it, or a director or admin, may. A run that will never finish (its machine lost) stops blocking its
    shots this way."""
    run = session.get(models.RenderRun, run_id)
    if run is None:
        raise NotFound(f"no render run {run_id}")
    if person.name != run.started_by and not may_approve(person.role):
        raise PermissionError(f"{person.name} is a {person.role}; a render run is stopped by whoever started it, "
                              "or by a director or admin")
    if not fail(session, run_id, f"stopped by {person.name}"):
        raise ReviewError(f"render run {run_id} is {run.status} already")
    return run


def fail(session: Session, run_id: int, message: str) -> bool:
    """Mark a job that stopped without finishing; a job that finished keeps what it said. True if marked."""
    run = session.get(models.RenderRun, run_id)
    if run is None or run.status not in ACTIVE:
        return False
    run.status, run.finished_at, run.message = models.RUN_FAILED, models.utcnow(), message[-2000:]
    run.progress = {**(run.progress or {}), "summary": "failed"}
    return True


def progress_recorder(engine: Engine, run_id: int) -> progress.Listener:
    """A listener for `progress.report` that keeps where the run stands in its row: a line a person reads, how many
    shots are filmed, and each shot's take, segment and step. One writer per run, so the row is rewritten whole."""
    with session_scope(engine) as session:
        total = session.get(models.RenderRun, run_id).shots_total
    state: dict[str, Any] = {"summary": "planning", "step": "planning", "filmed": 0, "total": total, "shots": {}}
    lock = threading.Lock()

    def listen(step: str, detail: dict[str, Any]) -> None:
        with lock:
            shot = detail.get("shot")
            if shot is not None:
                entry = state["shots"].setdefault(shot, {})
                entry.update({key: value for key, value in detail.items() if key != "shot"}, step=step)
            if step == progress.FILMED:
                state["filmed"] += 1
            state["step"] = step
            state["summary"] = _summary(step, shot, state)
            snapshot = copy.deepcopy(state)
            with session_scope(engine) as session:
                run = session.get(models.RenderRun, run_id)
                run.progress, run.progress_at = snapshot, models.utcnow()

    return listen


def _summary(step: str, shot: str | None, state: dict[str, Any]) -> str:
    entry = state["shots"].get(shot, {})
    take = f"take {entry.get('take', 1)} of {entry.get('takes', 1)}"
    return {
        progress.KEYFRAME: f"shot {shot}: {take}, keyframe",
        progress.TAKE: f"shot {shot}: {take}",
        progress.SEGMENT: f"shot {shot}: {take}, segment {entry.get('segment')} of {entry.get('segments')}",
        progress.QC: f"shot {shot}: {take}, checks",
        progress.FILMED: f"{state['filmed']} of {state['total']} shots filmed",
        progress.CUT: "cutting the episode",
    }.get(step, step)


def _episode(session: Session, episode_id: int) -> models.Episode:
    episode = session.get(models.Episode, episode_id)
    if episode is None:
        raise NotFound(f"no episode {episode_id}")
    return episode
