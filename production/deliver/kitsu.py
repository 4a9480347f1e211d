"""Kitsu (Zou), the production tracker of many animation studios, kept in step with the project database through
its client `gazu`. `push` makes the series a production: an episode per episode, a sequence per scene, a shot per
shot (its frame range on the episode's timeline, its action as description) with one task, of a type the studio
chooses ("Animation" by default), that carries each selected take as a preview and our status as Kitsu's (todo,
wip, wfa, retake, done). `pull` brings back what people decided in Kitsu since: a comment with the status "retake"
becomes our retake with its note and author, exactly what a dashboard rejection makes, so the next render films
it; a comment with the status "done" approves the take.

Every Kitsu id is recorded (`KitsuLink`) in its own transaction the moment Kitsu answers, so a sync stopped half
way resumes where it stopped and a second push updates instead of duplicating; a pulled decision and the record
that it was pulled land together."""

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path
from typing import Any

import gazu
from gazu.client import KitsuClient
from gazu.exception import AuthFailedException, GazuException, RouteNotFoundException
from requests import RequestException
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production.review.reviews import APPROVE, REJECT, Reviewer, ReviewError, review_take
from aigms.production.store import assets
from aigms.production.storyboard.ingest import load_shotlist
from aigms.schemas.errors import InputError
from aigms.schemas.series import Series

STATUSES = {models.STATUS_TODO: "todo", models.STATUS_WIP: "wip", models.STATUS_WAITING: "wfa",
            models.STATUS_RETAKE: "retake", models.STATUS_DONE: "done"}
DECIDING_ROLES = {"admin": "admin", "manager": "director", "supervisor": "director"}
DEFAULT_TASK_TYPE = "Animation"
MARK = "[aigms]"  # opens every comment a push writes, so a pull never takes one of ours for a decision
PRODUCTION_TYPE = "tvshow"


class KitsuError(RuntimeError):
    """A sync that could not run or stopped half way; `report` says what it had done (all of it recorded, so the
    same command again resumes)."""

    def __init__(self, message: str, report: "Report | None" = None) -> None:
        super().__init__(message)
        self.report = report or Report()


@dataclass(frozen=True)
class KitsuServer:
    """Where Kitsu's API is (e.g. https://kitsu.studio/api) and who the sync signs in as: a person's e-mail and
    password, or a bot's token."""

    host: str
    user: str | None = None
    password: str | None = None
    token: str | None = None


def server_from_env(environ: Mapping[str, str] = os.environ) -> KitsuServer:
    host = environ.get("KITSU_HOST", "").strip().rstrip("/")
    if not host:
        raise KitsuError("KITSU_HOST is not set: export KITSU_HOST=https://kitsu.your-studio/api")
    token = environ.get("KITSU_TOKEN") or None
    user, password = environ.get("KITSU_USER") or None, environ.get("KITSU_PASSWORD") or None
    if token is None and (user is None or password is None):
        raise KitsuError("no Kitsu credentials: export KITSU_USER and KITSU_PASSWORD, or KITSU_TOKEN (a bot's token)")
    return KitsuServer(host, user, password, token)


def connect(server: KitsuServer) -> KitsuClient:
    """A signed-in client of its own (not gazu's global one), so two servers can be synced in one process."""
    client = gazu.client.create_client(server.host)
    try:
        if server.token:
            gazu.set_token(server.token, client=client)
            gazu.client.get_current_user(client=client)
        else:
            gazu.log_in(server.user, server.password, client=client)
    except AuthFailedException as error:
        raise KitsuError(f"Kitsu at {server.host} refused {server.user or 'the token'}: {error or 'wrong credentials'};"
                         " check KITSU_USER and KITSU_PASSWORD (or KITSU_TOKEN)") from None
    except (GazuException, RequestException) as error:
        raise KitsuError(f"cannot reach Kitsu at {server.host} ({type(error).__name__}: {error}); check KITSU_HOST "
                         "(the API's URL, usually ending in /api)") from None
    return client


@dataclass(frozen=True)
class Action:
    kind: str
    name: str
    what: str
    detail: str = ""


@dataclass
class Report:
    """What a sync did, in order; the CLI prints it as a table."""

    actions: list[Action] = field(default_factory=list)

    def add(self, kind: str, name: str, what: str, detail: str = "") -> None:
        self.actions.append(Action(kind, name, what, detail))

    def counts(self) -> Counter:
        return Counter((action.kind, action.what) for action in self.actions)

    def notes(self) -> list[Action]:
        """The actions a person should read one by one: decisions, refusals, skips."""
        return [action for action in self.actions if action.detail]


# What the database says the production should be

@dataclass(frozen=True)
class TakePlan:
    row_id: int
    recipe: str
    generator: str
    seed: int
    path: Path


@dataclass(frozen=True)
class ShotPlan:
    row_id: int
    code: str
    scene_row_id: int
    frame_in: int
    frames: int
    description: str
    status: str
    take: TakePlan | None
    retake_note: str = ""  # the open retake's author and note, for the comment that sets the status in Kitsu


@dataclass(frozen=True)
class ScenePlan:
    row_id: int
    name: str
    heading: str


@dataclass(frozen=True)
class EpisodePlan:
    row_id: int
    code: str
    title: str
    scenes: list[ScenePlan]
    shots: list[ShotPlan]


def plan(engine: Engine, store: Path, series: Series) -> list[EpisodePlan]:
    """Episodes, scenes and shots as the project database has them; a shot's frames are counted as the edit
    counts them (whole frames end to end), so Kitsu's frame ranges are the cut's."""
    fps = series.delivery.fps
    with session_scope(engine) as session:
        if session.get(models.Series, series.id) is None:
            raise InputError(series.root / "series.yaml", None, f"series {series.id!r} is not in the project "
                             "database", f"run `aigms ingest {series.root}` (or render an episode) first")
        episodes = []
        for episode in session.scalars(select(models.Episode).filter_by(series_id=series.id)
                                       .order_by(models.Episode.code)):
            rows = {row.code: row for row in episode.shots}
            shots, frame = [], 0
            for shot in load_shotlist(session, episode).shots:
                row = rows[shot.id]
                frames = max(1, round(shot.duration * fps))
                take = row.selected_take
                on_disk = take is not None and take.asset is not None and assets.has_file(store, take.asset)
                retake = session.scalars(select(models.Retake).where(
                    models.Retake.shot_id == row.id, models.Retake.filled_take_id.is_(None))
                    .order_by(models.Retake.id.desc())).first()
                shots.append(ShotPlan(
                    row.id, row.code, row.scene_id, frame, frames, shot.text, row.status,
                    TakePlan(take.id, take.recipe_sha256, take.generator, take.seed,
                             assets.asset_file(store, take.asset)) if on_disk else None,
                    f"{retake.requested_by}: {retake.note}" if retake else "",
                ))
                frame += frames
            scenes = [ScenePlan(scene.id, f"sc{scene.index:03d}", scene.heading) for scene in episode.scenes]
            episodes.append(EpisodePlan(episode.id, episode.code, episode.title, scenes, shots))
        return episodes


# The record of what each row is in Kitsu

def _link(engine: Engine, host: str, kind: str, row_id: Any) -> models.KitsuLink | None:
    with session_scope(engine) as session:
        return session.scalars(select(models.KitsuLink).filter_by(host=host, kind=kind, row_id=str(row_id))
                               .order_by(models.KitsuLink.id.desc())).first()


def _record(engine: Engine, host: str, kind: str, row_id: Any, kitsu_id: str, state: dict[str, Any]) -> None:
    """The link lands in a transaction of its own, at once: Kitsu has the entity, so we must know it has."""
    with session_scope(engine) as session:
        link = session.scalar(select(models.KitsuLink).filter_by(host=host, kind=kind, kitsu_id=kitsu_id))
        if link is None:
            session.add(models.KitsuLink(host=host, kind=kind, row_id=str(row_id), kitsu_id=kitsu_id, state=state))
        else:
            link.row_id, link.state = str(row_id), state


def _forget(engine: Engine, link: models.KitsuLink) -> None:
    with session_scope(engine) as session:
        row = session.get(models.KitsuLink, link.id)
        if row is not None:
            session.delete(row)


@dataclass
class _Sync:
    """One push: the client, where links are kept, and what was done."""

    engine: Engine
    client: KitsuClient
    host: str
    report: Report

    def entity(self, kind: str, row_id: Any, name: str, wanted: dict[str, Any], fetch: Callable[[str], dict],
               find: Callable[[], dict | None], create: Callable[[], dict],
               update: Callable[[dict], Any]) -> dict:
        """The Kitsu entity this row is: the linked one (updated if what we send changed since we last sent it),
        else one of that name already in Kitsu, else a new one. Fields a person edited in Kitsu stay edited until
        our own value changes."""
        link = _link(self.engine, self.host, kind, row_id)
        entity = None
        if link is not None:
            try:
                entity = fetch(link.kitsu_id)
            except RouteNotFoundException:
                _forget(self.engine, link)
                link = None
        if entity is None:
            entity = find()
            what = "linked" if entity is not None else "created"
            if entity is None:
                entity = create()
            _record(self.engine, self.host, kind, row_id, entity["id"], {})
            state: dict[str, Any] = {}
        else:
            what, state = "unchanged", link.state
        if any(state.get(key) != value for key, value in wanted.items()):
            update(entity)
            _record(self.engine, self.host, kind, row_id, entity["id"], {**state, **wanted})
            what = "updated" if what == "unchanged" else what
        self.report.add(kind, name, what)
        return entity


def _ratio(width: int, height: int) -> str:
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


Progress = Callable[[str, int], None]  # called after each shot with its name and the number of shots


def push(engine: Engine, store: Path, series: Series, client: KitsuClient, task_type: str = DEFAULT_TASK_TYPE,
         progress: Progress | None = None) -> Report:
    """Create or update the series in Kitsu: production, episodes, sequences, shots, their tasks, a preview of
    each selected take not yet uploaded, and each task's status. Raises `KitsuError` with the report so far if
    Kitsu fails half way; running it again resumes."""
    host = gazu.client.get_host(client=client).rstrip("/")
    sync = _Sync(engine, client, host, Report())
    episodes = plan(engine, store, series)
    try:
        kitsu_type = gazu.task.get_task_type_by_name(task_type, client=client)
        if kitsu_type is None:
            known = sorted({kind["name"] for kind in gazu.task.all_task_types(client=client)})
            raise KitsuError(f"Kitsu has no task type {task_type!r}; use one of: {', '.join(known)}")
        statuses = {status["short_name"]: status for status in gazu.task.all_task_statuses(client=client)}
        missing = sorted(set(STATUSES.values()) - set(statuses))
        if missing:
            raise KitsuError(f"Kitsu has no task status {', '.join(missing)}; add them in Kitsu's settings "
                             "(`zou init-data` makes them)")
        project = _push_project(sync, series, kitsu_type, [statuses[name] for name in STATUSES.values()])
        total = sum(len(episode.shots) for episode in episodes)
        step = (lambda name: progress(name, total)) if progress else None
        for episode in episodes:
            _push_episode(sync, project, episode, kitsu_type, statuses, step)
        _drop_placeholder_episode(project, client)
    except KitsuError as error:
        raise KitsuError(str(error), sync.report) from error
    except (GazuException, RequestException, OSError) as error:
        raise KitsuError(f"Kitsu at {host} failed: {type(error).__name__}: {error}; every step up to it is "
                         "recorded: run the same command again to resume", sync.report) from error
    return sync.report


def _push_project(sync: _Sync, series: Series, task_type: dict, statuses: list[dict]) -> dict:
    client = sync.client
    delivery = series.delivery
    wanted = {"name": series.title, "fps": str(delivery.fps), "resolution": f"{delivery.width}x{delivery.height}",
              "ratio": _ratio(delivery.width, delivery.height)}
    project = sync.entity(
        "production", series.id, series.title, wanted,
        fetch=lambda kitsu_id: gazu.project.get_project(kitsu_id, client=client),
        find=lambda: gazu.project.get_project_by_name(series.title, client=client),
        create=lambda: gazu.project.new_project(series.title, production_type=PRODUCTION_TYPE, client=client),
        update=lambda project: gazu.project.update_project({"id": project["id"], **wanted}, client=client),
    )
    if task_type["id"] not in project.get("task_types", []):
        gazu.project.add_task_type(project, task_type, 1, client=client)
    for status in statuses:
        if status["id"] not in project.get("task_statuses", []):
            gazu.project.add_task_status(project, status, client=client)
    return project


def _drop_placeholder_episode(project: dict, client: KitsuClient) -> None:
    """Kitsu gives a TV show without episodes an empty "E01" (at its creation, and at each update while it has
    none); ours have their own names (lower case), so once they are there it goes."""
    for episode in gazu.shot.all_episodes_for_project(project, client=client):
        if episode["name"] == "E01" and not gazu.shot.all_sequences_for_episode(episode, client=client):
            gazu.shot.remove_episode(episode, client=client)


def _push_episode(sync: _Sync, project: dict, episode: EpisodePlan, task_type: dict, statuses: dict[str, dict],
                  progress: Callable[[str], None] | None) -> None:
    client = sync.client
    kitsu_episode = sync.entity(
        "episode", episode.row_id, episode.code, {"name": episode.code, "description": episode.title},
        fetch=lambda kitsu_id: gazu.shot.get_episode(kitsu_id, client=client),
        find=lambda: gazu.shot.get_episode_by_name(project, episode.code, client=client),
        create=lambda: gazu.shot.new_episode(project, episode.code, client=client),
        update=lambda entity: gazu.shot.update_episode(
            {"id": entity["id"], "name": episode.code, "description": episode.title}, client=client),
    )
    sequences = {}
    for scene in episode.scenes:
        sequences[scene.row_id] = sync.entity(
            "sequence", scene.row_id, f"{episode.code} {scene.name}", {"name": scene.name,
                                                                         "description": scene.heading},
            fetch=lambda kitsu_id: gazu.shot.get_sequence(kitsu_id, client=client),
            find=lambda: gazu.shot.get_sequence_by_name(project, scene.name, episode=kitsu_episode, client=client),
            create=lambda: gazu.shot.new_sequence(project, scene.name, episode=kitsu_episode, client=client),
            update=lambda entity: gazu.shot.update_sequence(
                {"id": entity["id"], "name": scene.name, "description": scene.heading}, client=client),
        )
    for shot in episode.shots:
        _push_shot(sync, project, episode, shot, sequences[shot.scene_row_id], task_type, statuses)
        if progress is not None:
            progress(f"{episode.code} {shot.code}")


def _push_shot(sync: _Sync, project: dict, episode: EpisodePlan, shot: ShotPlan, sequence: dict, task_type: dict,
               statuses: dict[str, dict]) -> None:
    client = sync.client
    name = f"{episode.code} {shot.code}"
    frames = {"frame_in": shot.frame_in, "frame_out": shot.frame_in + shot.frames - 1}
    wanted = {"sequence": sequence["id"], "nb_frames": shot.frames, **frames, "description": shot.description}

    def update(entity: dict) -> None:
        gazu.shot.update_shot({"id": entity["id"], "parent_id": sequence["id"], "nb_frames": shot.frames,
                               "description": shot.description, "data": {**(entity.get("data") or {}), **frames}},
                              client=client)

    kitsu_shot = sync.entity(
        "shot", shot.row_id, name, wanted,
        fetch=lambda kitsu_id: gazu.shot.get_shot(kitsu_id, client=client),
        find=lambda: gazu.shot.get_shot_by_name(sequence, shot.code, client=client),
        create=lambda: gazu.shot.new_shot(project, sequence, shot.code, nb_frames=shot.frames, description=
                                          shot.description, client=client, **frames),
        update=update,
    )
    status = STATUSES.get(shot.status, "todo")
    task = sync.entity(
        "task", shot.row_id, name, {"task_type": task_type["id"]},
        fetch=lambda kitsu_id: gazu.task.get_task(kitsu_id, client=client),
        find=lambda: gazu.task.get_task_by_entity(kitsu_shot, task_type, client=client),
        create=lambda: gazu.task.new_task(kitsu_shot, task_type, task_status=statuses[status], client=client),
        update=lambda entity: None,
    )
    current = _status_name(task, statuses)  # as Kitsu has it now: the task was just fetched or made
    sent = _link(sync.engine, sync.host, "task", shot.row_id).state.get("status", current)
    if current != sent:
        sync.report.add("task", name, "skipped", f"set to {current} in Kitsu since the last sync: run `aigms kitsu "
                        "pull` first, then push again")
        return
    if shot.take is not None and _push_preview(sync, task, name, shot, statuses[status]):
        current = status
    if current != status:
        text = f"{MARK} status: {status}" + (f" ({shot.retake_note})" if status == "retake" and shot.retake_note
                                             else "")
        comment = gazu.task.add_comment(task, statuses[status], text, client=client)
        _record(sync.engine, sync.host, "comment", shot.row_id, comment["id"], {"ours": True})
        sync.report.add("status", name, "updated", f"{current} → {status}")
    _record_status(sync, task, shot.row_id, status)


def _status_name(task: dict, statuses: dict[str, dict]) -> str:
    return next(short for short, status in statuses.items() if status["id"] == task["task_status_id"])


def _push_preview(sync: _Sync, task: dict, name: str, shot: ShotPlan, status: dict) -> bool:
    """The selected take as a preview, on a comment that sets our status: the comment's id is recorded before the
    preview is made, the preview's before its file is uploaded, so a stop anywhere resumes without a second one.
    Returns whether a comment set the status."""
    client, take = sync.client, shot.take
    link = _link(sync.engine, sync.host, "preview", take.row_id)
    if link is not None and link.state.get("uploaded"):
        return False
    posted = link is None
    if link is None:
        comment = gazu.task.add_comment(task, status, f"{MARK} take {take.recipe[:12]} ({take.generator}, seed "
                                        f"{take.seed})", client=client)
        _record(sync.engine, sync.host, "comment", shot.row_id, comment["id"], {"ours": True, "take": take.row_id})
        _record_status(sync, task, shot.row_id, status["short_name"])
        preview = gazu.task.create_preview(task, comment, client=client)
        _record(sync.engine, sync.host, "preview", take.row_id, preview["id"], {"uploaded": False, "task": task["id"]})
        preview_id = preview["id"]
    else:
        preview_id = link.kitsu_id
    uploaded = gazu.task.upload_preview_file(preview_id, str(take.path), client=client)
    _record(sync.engine, sync.host, "preview", take.row_id, preview_id,
            {"uploaded": True, "task": task["id"], "status": uploaded.get("status")})
    sync.report.add("preview", name, "uploaded")
    return posted


def _record_status(sync: _Sync, task: dict, shot_row_id: int, status: str) -> None:
    _record(sync.engine, sync.host, "task", shot_row_id, task["id"], {"task_type": task["task_type_id"],
                                                                      "status": status})


def pull(engine: Engine, series: Series, client: KitsuClient) -> Report:
    """Each comment left on a synced shot's task since the last pull, oldest first: "retake" by a supervisor,
    manager or admin rejects the take the shot's last preview showed, with the comment as the note; "done"
    approves it; anything else is only marked as read. Each decision lands with the record that it was pulled."""
    host = gazu.client.get_host(client=client).rstrip("/")
    report = Report()
    with session_scope(engine) as session:
        shots = {str(row.id): f"{episode} {row.code}" for row, episode in session.execute(
            select(models.Shot, models.Episode.code).join(models.Episode)
            .where(models.Episode.series_id == series.id))}
        tasks = [(link.row_id, link.kitsu_id) for link in session.scalars(
            select(models.KitsuLink).filter_by(host=host, kind="task").order_by(models.KitsuLink.id))
                 if link.row_id in shots]
        seen = set(session.scalars(select(models.KitsuLink.kitsu_id).filter_by(host=host, kind="comment")))
    if not tasks:
        raise KitsuError(f"nothing of {series.id} was pushed to {host}: run `aigms kitsu push` first")
    try:
        for shot_row_id, task_id in tasks:
            comments = sorted(gazu.task.all_comments_for_task(task_id, client=client),
                              key=lambda comment: comment["created_at"])
            for comment in comments:
                if comment["id"] not in seen:
                    _pull_comment(engine, host, int(shot_row_id), shots[shot_row_id], task_id, comment, report)
    except (GazuException, RequestException) as error:
        raise KitsuError(f"Kitsu at {host} failed: {type(error).__name__}: {error}; every comment up to it is "
                         "recorded: run the same command again to resume", report) from error
    return report


def _shown_take(session: Any, host: str, shot_row_id: int) -> int | None:
    """The take the task's newest preview shows, which is the one a person judged in Kitsu."""
    take_ids = [str(take_id) for take_id in session.scalars(select(models.Take.id).filter_by(shot_id=shot_row_id))]
    link = session.scalars(select(models.KitsuLink).where(
        models.KitsuLink.host == host, models.KitsuLink.kind == "preview", models.KitsuLink.row_id.in_(take_ids))
        .order_by(models.KitsuLink.id.desc())).first()
    return int(link.row_id) if link is not None else session.get(models.Shot, shot_row_id).selected_take_id


def _pull_comment(engine: Engine, host: str, shot_row_id: int, name: str, task_id: str, comment: dict,
                  report: Report) -> None:
    status = (comment.get("task_status") or {}).get("short_name", "")
    person = comment.get("person") or {}
    author = person.get("full_name") or "someone in Kitsu"
    note = (comment.get("text") or "").strip()
    state: dict[str, Any] = {"status": status, "author": author}
    with session_scope(engine) as session:
        if note.startswith(MARK):
            state["ours"] = True
        elif status in ("retake", "done"):
            decision = REJECT if status == "retake" else APPROVE
            reviewer = Reviewer(author, DECIDING_ROLES.get(person.get("role", ""), "artist"))
            take_id = _shown_take(session, host, shot_row_id)
            try:
                if take_id is None:
                    raise ReviewError("the shot has no take to decide on")
                review = review_take(session, reviewer, take_id, decision,
                                     note or (f"retake asked in Kitsu by {author}" if decision == REJECT else ""))
                state["review"] = review.id
                report.add("comment", name, "retake" if decision == REJECT else "approved",
                           f"{author}: {note}" if note else author)
            except (PermissionError, ReviewError) as error:
                state["refused"] = str(error)
                report.add("comment", name, "skipped", f"{status} by {author}: {error}")
        else:
            report.add("comment", name, "read")
        session.add(models.KitsuLink(host=host, kind="comment", row_id=str(shot_row_id), kitsu_id=comment["id"],
                                     state=state))
        task = session.scalar(select(models.KitsuLink).filter_by(host=host, kind="task", kitsu_id=task_id))
        if task is not None and status:
            task.state = {**task.state, "status": status}
