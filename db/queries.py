"""The questions asked of the project database, one function per page, API answer or command. Each runs a fixed
handful of queries whatever the size of the season (no query per row), and returns plain dataclasses that both the
HTML pages and the JSON API serialise; a row asked for by id that is not there raises `NotFound`."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session

from aigms.db import ledger, models

NOT_DECISIONS = ("note", "circled")


class NotFound(LookupError):
    """A row asked for that is not in the database (the dashboard answers 404 with the message). Its own type, so
    that a `KeyError` from a bug is never mistaken for it."""


@dataclass(frozen=True)
class ReviewView:
    id: int
    target_type: str
    target_id: int
    status: str
    note: str
    author: str
    created_at: datetime
    frame: int | None = None
    region: dict[str, float] | None = None


@dataclass(frozen=True)
class EpisodeSummary:
    id: int
    series_id: str
    code: str
    title: str
    status: str
    shots: int
    by_status: dict[str, int]
    planned_seconds: float
    cut_seconds: float | None
    target_seconds: float | None
    shotlist_approved: bool | None
    open_retakes: int


@dataclass(frozen=True)
class SeriesSummary:
    id: str
    title: str
    language: str
    episodes: list[EpisodeSummary]


@dataclass(frozen=True)
class ShotCard:
    id: int
    code: str
    position: int
    scene: int | None
    kind: str
    text: str
    speaker: str | None
    duration: float
    status: str
    takes: int
    take_id: int | None
    clip_asset_id: int | None
    qc_checks: int
    qc_failed: int
    conflict: str | None


@dataclass(frozen=True)
class CutView:
    id: int
    video_asset_id: int
    subtitles_asset_id: int | None
    manifest_asset_id: int | None
    duration: float
    status: str
    created_at: datetime


@dataclass(frozen=True)
class SceneView:
    index: int
    heading: str
    line: int


@dataclass(frozen=True)
class EpisodeDetail:
    id: int
    series_id: str
    series_title: str
    code: str
    title: str
    language: str
    status: str
    script_path: str
    target_seconds: float | None
    planned_seconds: float
    shotlist_sha256: str | None
    shotlist_approved_sha256: str | None
    shotlist_approved_by: str | None
    shotlist_approved_at: datetime | None
    scenes: list[SceneView]
    shots: list[ShotCard]
    cut: CutView | None
    reviews: list[ReviewView]


@dataclass(frozen=True)
class QCView:
    check: str
    score: float
    threshold: float
    passed: bool
    reason: str


@dataclass(frozen=True)
class CallView:
    """A model call of a take, as the shot page lists it: who made what, under which task, for how much."""

    kind: str
    segment: int | None
    backend: str
    model: str
    provider: str | None
    task_id: str | None
    state: str
    wall_seconds: float | None
    billed: str
    cost: str


@dataclass(frozen=True)
class TakeView:
    id: int
    status: str
    generator: str
    seed: int
    recipe_sha256: str
    recipe: dict[str, Any]
    clip_asset_id: int | None
    media: dict[str, Any]
    render_seconds: float | None
    failure_reason: str | None
    created_at: datetime
    selected: bool
    review_status: str | None
    qc: list[QCView]
    calls: list[CallView] = field(default_factory=list)
    circled: bool = False
    cost: str = ""


@dataclass(frozen=True)
class RetakeView:
    id: int
    rejected_take_id: int | None
    note: str
    requested_by: str
    requested_at: datetime
    filled_take_id: int | None
    more_takes: int | None = None
    changes: dict[str, list[Any]] | None = None


@dataclass(frozen=True)
class ShotDetail:
    id: int
    episode_id: int
    episode_code: str
    series_id: str
    series_root: str
    script_path: str
    code: str
    kind: str
    status: str
    duration: float
    spec: dict[str, Any]
    conflict: str | None
    previous_id: int | None
    next_id: int | None
    takes: list[TakeView]
    reviews: list[ReviewView]
    retakes: list[RetakeView]
    fps: int = 30
    shotlist_approved: bool | None = None


@dataclass(frozen=True)
class ShotRef:
    id: int
    episode_code: str
    code: str


@dataclass(frozen=True)
class LibraryEntry:
    kind: str
    key: str
    name: str
    description: str
    references: list[str]
    shots: list[ShotRef] = field(default_factory=list)


@dataclass(frozen=True)
class Library:
    series_id: str
    series_title: str
    series_root: str
    characters: list[LibraryEntry]
    locations: list[LibraryEntry]


@dataclass(frozen=True)
class RunView:
    id: int
    series_id: str | None
    episode_id: int | None
    episode_code: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    shots_total: int
    shots_rendered: int
    shots_reused: int
    message: str | None
    flow_run_id: str | None
    scope: str | None = None
    shots: list[str] | None = None
    takes: int | None = None
    started_by: str | None = None
    progress: dict[str, Any] | None = None
    progress_at: datetime | None = None


@dataclass(frozen=True)
class ShotListRow:
    """A shot as the shot list editor shows it: its spec (people's edits applied) and any conflict."""

    id: int
    code: str
    spec: dict[str, Any]
    edited: list[str]
    conflict: str | None


@dataclass(frozen=True)
class PlaylistSummary:
    id: int
    name: str
    created_by: str
    created_at: datetime
    takes: int


@dataclass(frozen=True)
class DailiesItem:
    position: int
    take_id: int
    shot_id: int | None
    shot_code: str | None
    episode_id: int | None
    episode_code: str | None
    clip_asset_id: int | None
    generator: str
    seed: int
    created_at: datetime
    selected: bool
    circled: bool
    review_status: str | None
    qc_checks: int
    qc_failed: int
    notes: list[ReviewView]


@dataclass(frozen=True)
class PlaylistView:
    id: int
    name: str
    created_by: str
    created_at: datetime
    fps: int
    items: list[DailiesItem]


def _fps(bible: dict[str, Any]) -> int:
    return int((bible.get("delivery") or {}).get("fps", 30))


def _target_seconds(bible: dict[str, Any]) -> float | None:
    """The runtime an episode is planned towards, when the bible sets one (`storyboard.target_seconds`)."""
    storyboard = bible.get("storyboard") or {}
    return storyboard.get("target_seconds")


def review_view(row: models.Review) -> ReviewView:
    return ReviewView(row.id, row.target_type, row.target_id, row.status, row.note, row.author, row.created_at,
                      row.frame, row.region)


def retake_view(row: models.Retake) -> RetakeView:
    return RetakeView(row.id, row.rejected_take_id, row.note, row.requested_by, row.requested_at, row.filled_take_id,
                      row.more_takes, row.changes)


def _latest_decisions(reviews: list[models.Review]) -> dict[int, str]:
    """Each take's latest decision (newest first in `reviews`); remarks and circles decide nothing."""
    latest: dict[int, str] = {}
    for review in reviews:
        if review.status not in NOT_DECISIONS:
            latest.setdefault(review.target_id, review.status)
    return latest


def series_overview(session: Session) -> list[SeriesSummary]:
    """Every series with its episodes: shots by status, planned runtime and the latest cut's against the target."""
    series_rows = session.scalars(select(models.Series).order_by(models.Series.title)).all()
    episodes = session.scalars(select(models.Episode).order_by(models.Episode.series_id, models.Episode.code)).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    planned: dict[int, float] = defaultdict(float)
    for episode_id, status, count, seconds in session.execute(
        select(models.Shot.episode_id, models.Shot.status, func.count(), func.sum(models.Shot.duration))
        .group_by(models.Shot.episode_id, models.Shot.status)
    ):
        counts[episode_id][status] = count
        planned[episode_id] += seconds or 0.0
    latest_cut = (select(models.EpisodeCut.episode_id, func.max(models.EpisodeCut.id).label("cut_id"))
                  .group_by(models.EpisodeCut.episode_id).subquery())
    cut_seconds = dict(session.execute(
        select(latest_cut.c.episode_id, models.EpisodeCut.duration)
        .join(models.EpisodeCut, models.EpisodeCut.id == latest_cut.c.cut_id)
    ).all())
    retakes = dict(session.execute(
        select(models.Shot.episode_id, func.count())
        .join(models.Retake, models.Retake.shot_id == models.Shot.id)
        .where(models.Retake.filled_take_id.is_(None))
        .group_by(models.Shot.episode_id)
    ).all())
    by_series: dict[str, list[EpisodeSummary]] = defaultdict(list)
    targets = {row.id: _target_seconds(row.bible) for row in series_rows}
    for episode in episodes:
        by_series[episode.series_id].append(EpisodeSummary(
            id=episode.id, series_id=episode.series_id, code=episode.code, title=episode.title, status=episode.status,
            shots=sum(counts[episode.id].values()), by_status=dict(counts[episode.id]),
            planned_seconds=round(planned[episode.id], 3), cut_seconds=cut_seconds.get(episode.id),
            target_seconds=targets.get(episode.series_id), shotlist_approved=episode.shotlist_approved,
            open_retakes=retakes.get(episode.id, 0),
        ))
    return [SeriesSummary(row.id, row.title, row.language, by_series[row.id]) for row in series_rows]


def episode_detail(session: Session, episode_id: int) -> EpisodeDetail:
    """The shot grid in story order, each shot with its selected take, take count and QC of the selected take."""
    episode = session.get(models.Episode, episode_id)
    if episode is None:
        raise NotFound(f"no episode {episode_id}")
    series = session.get(models.Series, episode.series_id)
    scenes = session.execute(
        select(models.Scene.id, models.Scene.index, models.Scene.heading, models.Scene.line)
        .where(models.Scene.episode_id == episode_id).order_by(models.Scene.index)
    ).all()
    scene_index = {row.id: row.index for row in scenes}
    shots = session.execute(
        select(models.Shot.id, models.Shot.code, models.Shot.position, models.Shot.scene_id, models.Shot.kind,
               models.Shot.spec, models.Shot.duration, models.Shot.status, models.Shot.selected_take_id,
               models.Shot.conflict, models.Take.asset_id)
        .outerjoin(models.Take, models.Take.id == models.Shot.selected_take_id)
        .where(models.Shot.episode_id == episode_id).order_by(models.Shot.position)
    ).all()
    shot_ids = [row.id for row in shots]
    take_counts = dict(session.execute(
        select(models.Take.shot_id, func.count()).where(models.Take.shot_id.in_(shot_ids))
        .group_by(models.Take.shot_id)
    ).all())
    selected = [row.selected_take_id for row in shots if row.selected_take_id is not None]
    qc: dict[int, tuple[int, int]] = {}
    for take_id, checks, failed in session.execute(
        select(models.QCResult.take_id, func.count(),
               func.sum(case((models.QCResult.passed.is_(False), 1), else_=0)))
        .where(models.QCResult.take_id.in_(selected)).group_by(models.QCResult.take_id)
    ):
        qc[take_id] = (checks, int(failed or 0))
    cut = session.scalars(
        select(models.EpisodeCut).where(models.EpisodeCut.episode_id == episode_id)
        .order_by(models.EpisodeCut.id.desc()).limit(1)
    ).first()
    reviews = session.scalars(
        select(models.Review).where(
            ((models.Review.target_type == "shotlist") & (models.Review.target_id == episode_id))
            | ((models.Review.target_type == "cut") & models.Review.target_id.in_(
                select(models.EpisodeCut.id).where(models.EpisodeCut.episode_id == episode_id)))
        ).order_by(models.Review.id.desc())
    ).all()
    cards = [
        ShotCard(
            id=row.id, code=row.code, position=row.position, scene=scene_index.get(row.scene_id), kind=row.kind,
            text=row.spec.get("text", ""), speaker=row.spec.get("speaker"), duration=row.duration,
            status=row.status, takes=take_counts.get(row.id, 0), take_id=row.selected_take_id,
            clip_asset_id=row.asset_id, qc_checks=qc.get(row.selected_take_id, (0, 0))[0],
            qc_failed=qc.get(row.selected_take_id, (0, 0))[1], conflict=row.conflict,
        )
        for row in shots
    ]
    return EpisodeDetail(
        id=episode.id, series_id=episode.series_id, series_title=series.title, code=episode.code,
        title=episode.title, language=episode.language, status=episode.status, script_path=episode.script_path,
        target_seconds=_target_seconds(series.bible), planned_seconds=round(sum(c.duration for c in cards), 3),
        shotlist_sha256=episode.shotlist_sha256, shotlist_approved_sha256=episode.shotlist_approved_sha256,
        shotlist_approved_by=episode.shotlist_approved_by, shotlist_approved_at=episode.shotlist_approved_at,
        scenes=[SceneView(row.index, row.heading, row.line) for row in scenes], shots=cards,
        cut=None if cut is None else CutView(cut.id, cut.video_asset_id, cut.subtitles_asset_id,
                                             cut.manifest_asset_id, cut.duration, cut.status, cut.created_at),
        reviews=[review_view(row) for row in reviews],
    )


def shot_detail(session: Session, shot_id: int) -> ShotDetail:
    """Every take of the shot with its QC, its latest review and whether it is the selected one."""
    shot = session.get(models.Shot, shot_id)
    if shot is None:
        raise NotFound(f"no shot {shot_id}")
    episode = session.get(models.Episode, shot.episode_id)
    series = session.get(models.Series, episode.series_id)
    neighbours = session.execute(
        select(models.Shot.id, models.Shot.position).where(
            models.Shot.episode_id == shot.episode_id,
            models.Shot.position.in_([shot.position - 1, shot.position + 1]))
    ).all()
    by_position = {row.position: row.id for row in neighbours}
    takes = session.execute(
        select(models.Take, models.Asset.media).outerjoin(models.Asset, models.Asset.id == models.Take.asset_id)
        .where(models.Take.shot_id == shot_id).order_by(models.Take.id)
    ).all()
    take_ids = [take.id for take, _ in takes]
    qc = take_checks(session, take_ids)
    reviews = session.scalars(
        select(models.Review).where(models.Review.target_type == "take", models.Review.target_id.in_(take_ids))
        .order_by(models.Review.id.desc())
    ).all()
    latest = _latest_decisions(reviews)
    circled = session.scalar(select(models.CircledTake.take_id).where(models.CircledTake.shot_id == shot_id))
    retakes = session.scalars(
        select(models.Retake).where(models.Retake.shot_id == shot_id).order_by(models.Retake.id.desc())
    ).all()
    ledgered = ledger.for_takes(session, take_ids)
    calls = {take_id: [call_view(call) for call in found] for take_id, found in ledgered.items()}
    return ShotDetail(
        id=shot.id, episode_id=episode.id, episode_code=episode.code, series_id=series.id, series_root=series.root,
        script_path=episode.script_path, code=shot.code, kind=shot.kind, status=shot.status,
        duration=shot.duration, spec=shot.spec, conflict=shot.conflict,
        previous_id=by_position.get(shot.position - 1), next_id=by_position.get(shot.position + 1),
        takes=[
            TakeView(
                id=take.id, status=take.status, generator=take.generator, seed=take.seed,
                recipe_sha256=take.recipe_sha256, recipe=take.recipe, clip_asset_id=take.asset_id,
                media=media or {}, render_seconds=take.render_seconds, failure_reason=take.failure_reason,
                created_at=take.created_at, selected=take.id == shot.selected_take_id,
                review_status=latest.get(take.id), qc=qc.get(take.id, []), calls=calls.get(take.id, []),
                circled=take.id == circled, cost=_cost(ledgered.get(take.id, [])),
            )
            for take, media in takes
        ],
        reviews=[review_view(row) for row in reviews],
        retakes=[retake_view(row) for row in retakes],
        fps=_fps(series.bible), shotlist_approved=episode.shotlist_approved,
    )


def take_checks(session: Session, take_ids: Iterable[int]) -> dict[int, list[QCView]]:
    """The QC results of each take, by check name."""
    found: dict[int, list[QCView]] = defaultdict(list)
    for row in session.scalars(
        select(models.QCResult).where(models.QCResult.take_id.in_(list(take_ids))).order_by(models.QCResult.check)
    ):
        found[row.take_id].append(QCView(row.check, row.score, row.threshold, row.passed, row.reason))
    return found


def _cost(calls: list[models.ModelCall]) -> str:
    """What a take's calls cost, by currency ("1.20 USD"), as the ledger priced them; empty when none was priced."""
    totals: dict[str, float] = defaultdict(float)
    for call in calls:
        if call.cost is not None:
            totals[call.currency or ""] += call.cost
    return ", ".join(f"{total:.2f} {currency}".strip() for currency, total in sorted(totals.items()))


def call_view(call: models.ModelCall) -> CallView:
    billed = f"{call.billed_units:g} {call.unit}" if call.billed_units is not None else ""
    cost = f"{call.cost:.2f} {call.currency or ''}".strip() if call.cost is not None else ""
    return CallView(call.kind, call.segment_index, call.backend, call.model, call.provider, call.provider_task_id,
                    call.state, call.wall_seconds, billed, cost)


def library(session: Session, series_id: str) -> Library:
    """Characters and locations with their reference files and the shots each appears in. A location's shots come
    from the scenes set there; a character's from the shots that put them in frame."""
    series = session.get(models.Series, series_id)
    if series is None:
        raise NotFound(f"no series {series_id}")
    shots = session.execute(
        select(models.Shot.id, models.Shot.code, models.Shot.spec, models.Episode.code.label("episode"),
               models.Scene.location_id)
        .join(models.Episode, models.Episode.id == models.Shot.episode_id)
        .outerjoin(models.Scene, models.Scene.id == models.Shot.scene_id)
        .where(models.Episode.series_id == series_id).order_by(models.Episode.code, models.Shot.position)
    ).all()
    by_character: dict[str, list[ShotRef]] = defaultdict(list)
    by_location: dict[int, list[ShotRef]] = defaultdict(list)
    for row in shots:
        ref = ShotRef(row.id, row.episode, row.code)
        for key in row.spec.get("characters", []):
            by_character[key].append(ref)
        if row.location_id is not None:
            by_location[row.location_id].append(ref)

    def entries(model: type[models.Character] | type[models.Location], kind: str) -> list[LibraryEntry]:
        rows = session.scalars(select(model).where(model.series_id == series_id).order_by(model.key)).all()
        return [
            LibraryEntry(kind, row.key, row.name, row.description, [str(p) for p in row.data.get("references", [])],
                         by_character[row.key] if kind == "character" else by_location[row.id])
            for row in rows
        ]

    return Library(series.id, series.title, series.root, entries(models.Character, "character"),
                   entries(models.Location, "location"))


def _runs(session: Session, where: Any, limit: int) -> list[RunView]:
    rows = session.execute(
        select(models.RenderRun, models.Episode.code, models.Episode.series_id)
        .outerjoin(models.Episode, models.Episode.id == models.RenderRun.episode_id)
        .where(where).order_by(models.RenderRun.id.desc()).limit(limit)
    ).all()
    return [
        RunView(run.id, series_id, run.episode_id, code, run.status, run.started_at, run.finished_at,
                run.shots_total, run.shots_rendered, run.shots_reused, run.message, run.flow_run_id,
                (run.scope or {}).get("label"), (run.scope or {}).get("shots"), run.takes, run.started_by,
                run.progress, run.progress_at)
        for run, code, series_id in rows
    ]


def render_runs(session: Session, limit: int = 200) -> list[RunView]:
    return _runs(session, true(), limit)


def render_run(session: Session, run_id: int) -> RunView | None:
    """One run with where it stands: what the dashboard polls while a film job runs."""
    found = _runs(session, models.RenderRun.id == run_id, 1)
    return found[0] if found else None


def active_runs(session: Session, episode_id: int | None = None, shot_code: str | None = None) -> list[RunView]:
    """Runs queued or running (of an episode, and of those the ones that film `shot_code` or cut the episode),
    oldest first."""
    where = models.RenderRun.status.in_((models.RUN_QUEUED, models.RUN_RUNNING))
    if episode_id is not None:
        where = where & (models.RenderRun.episode_id == episode_id)
    runs = _runs(session, where, 100)[::-1]
    return [run for run in runs if shot_code is None or run.shots is None or run.shots == [] or shot_code in run.shots]


def retake_queue(session: Session, episode_id: int | None = None) -> list[RetakeView]:
    query = (select(models.Retake).where(models.Retake.filled_take_id.is_(None)).order_by(models.Retake.id))
    if episode_id is not None:
        query = query.join(models.Shot, models.Shot.id == models.Retake.shot_id).where(
            models.Shot.episode_id == episode_id)
    return [retake_view(row) for row in session.scalars(query)]


def shotlist_rows(session: Session, episode_id: int) -> list[ShotListRow]:
    rows = session.execute(
        select(models.Shot.id, models.Shot.code, models.Shot.spec, models.Shot.conflict)
        .where(models.Shot.episode_id == episode_id).order_by(models.Shot.position))
    return [ShotListRow(row.id, row.code, row.spec, row.spec.get("edited", []), row.conflict) for row in rows]


def takes_filmed_since(session: Session, since: datetime, series_id: str | None = None) -> list[int]:
    """Clips filmed since `since` that still belong to a shot, in story order (episode, shot, take). Compared in UTC,
    as rows are written: SQLite keeps times without their zone."""
    since = since.astimezone(UTC)
    query = (select(models.Take.id).join(models.Shot, models.Shot.id == models.Take.shot_id)
             .join(models.Episode, models.Episode.id == models.Shot.episode_id)
             .where(models.Take.created_at >= since, models.Take.kind == models.TAKE_CLIP,
                    models.Take.status == models.TAKE_OK)
             .order_by(models.Episode.series_id, models.Episode.code, models.Shot.position, models.Take.id))
    if series_id is not None:
        query = query.where(models.Episode.series_id == series_id)
    return list(session.scalars(query))


def retake_takes(session: Session, episode_id: int) -> list[int]:
    """The takes that answer an episode's retakes: clips of a shot filmed after its first retake was asked for."""
    first = (select(models.Retake.shot_id, func.min(models.Retake.requested_at).label("asked"))
             .group_by(models.Retake.shot_id).subquery())
    return list(session.scalars(
        select(models.Take.id).join(models.Shot, models.Shot.id == models.Take.shot_id)
        .join(first, first.c.shot_id == models.Shot.id)
        .where(models.Shot.episode_id == episode_id, models.Take.created_at >= first.c.asked,
               models.Take.kind == models.TAKE_CLIP, models.Take.status == models.TAKE_OK)
        .order_by(models.Shot.position, models.Take.id)))


def playlists(session: Session, limit: int = 100) -> list[PlaylistSummary]:
    counts = (select(models.PlaylistTake.playlist_id, func.count().label("takes"))
              .group_by(models.PlaylistTake.playlist_id).subquery())
    rows = session.execute(
        select(models.Playlist, counts.c.takes).outerjoin(counts, counts.c.playlist_id == models.Playlist.id)
        .order_by(models.Playlist.id.desc()).limit(limit))
    return [PlaylistSummary(row.id, row.name, row.created_by, row.created_at, takes or 0) for row, takes in rows]


def playlist(session: Session, playlist_id: int) -> PlaylistView | None:
    """A dailies playlist in its order, each take with its shot, its clip, its latest decision, its QC and notes."""
    found = session.get(models.Playlist, playlist_id)
    if found is None:
        return None
    rows = session.execute(
        select(models.PlaylistTake.position, models.Take, models.Shot.code, models.Shot.episode_id,
               models.Shot.selected_take_id, models.Episode.code.label("episode"), models.Episode.series_id)
        .join(models.Take, models.Take.id == models.PlaylistTake.take_id)
        .outerjoin(models.Shot, models.Shot.id == models.Take.shot_id)
        .outerjoin(models.Episode, models.Episode.id == models.Shot.episode_id)
        .where(models.PlaylistTake.playlist_id == playlist_id).order_by(models.PlaylistTake.position)).all()
    take_ids = [row.Take.id for row in rows]
    reviews = session.scalars(select(models.Review).where(
        models.Review.target_type == "take", models.Review.target_id.in_(take_ids)).order_by(models.Review.id.desc())
    ).all()
    latest = _latest_decisions(reviews)
    circled = set(session.scalars(select(models.CircledTake.take_id).where(models.CircledTake.take_id.in_(take_ids))))
    qc: dict[int, tuple[int, int]] = {}
    for take_id, checks, failed in session.execute(
        select(models.QCResult.take_id, func.count(), func.sum(case((models.QCResult.passed.is_(False), 1), else_=0)))
        .where(models.QCResult.take_id.in_(take_ids)).group_by(models.QCResult.take_id)
    ):
        qc[take_id] = (checks, int(failed or 0))
    series_ids = {row.series_id for row in rows if row.series_id}
    fps = _fps(session.get(models.Series, next(iter(series_ids))).bible) if series_ids else 30
    items = [
        DailiesItem(
            position=row.position, take_id=row.Take.id, shot_id=row.Take.shot_id, shot_code=row.code,
            episode_id=row.episode_id, episode_code=row.episode, clip_asset_id=row.Take.asset_id,
            generator=row.Take.generator, seed=row.Take.seed, created_at=row.Take.created_at,
            selected=row.selected_take_id == row.Take.id, circled=row.Take.id in circled,
            review_status=latest.get(row.Take.id), qc_checks=qc.get(row.Take.id, (0, 0))[0],
            qc_failed=qc.get(row.Take.id, (0, 0))[1],
            notes=[review_view(review) for review in reviews if review.target_id == row.Take.id][::-1],
        )
        for row in rows
    ]
    return PlaylistView(found.id, found.name, found.created_by, found.created_at, fps, items)


def episode(session: Session, episode_id: int) -> models.Episode | None:
    return session.get(models.Episode, episode_id)


def asset(session: Session, asset_id: int) -> models.Asset:
    found = session.get(models.Asset, asset_id)
    if found is None:
        raise NotFound(f"no asset {asset_id}")
    return found


def user(session: Session, user_id: int) -> models.User | None:
    found = session.get(models.User, user_id)
    return found if found is not None and found.active else None


def episode_of_cut(session: Session, cut_id: int) -> int | None:
    return session.scalar(select(models.EpisodeCut.episode_id).where(models.EpisodeCut.id == cut_id))


def shot_of_take(session: Session, take_id: int) -> int | None:
    return session.scalar(select(models.Take.shot_id).where(models.Take.id == take_id))


def episode_by_code(session: Session, series_id: str, code: str) -> models.Episode | None:
    """An episode as a person names it: its series and its code (`s01e02`)."""
    return session.scalar(select(models.Episode).filter_by(series_id=series_id, code=code))
