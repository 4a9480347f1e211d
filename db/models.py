"""The project database: series, episodes, scenes, shots and the takes, assets, QC results and reviews they
collect. Real tables for real studio things, so a query reads like the question a producer asks."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy import UniqueConstraint, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TAKE_RUNNING, TAKE_OK, TAKE_FAILED = "running", "ok", "failed"
TAKE_CLIP, TAKE_KEYFRAME = "clip", "keyframe"  # a take is a clip of a shot, or the still its clip starts from
RUN_RUNNING, RUN_COMPLETED, RUN_FAILED = "running", "completed", "failed"
RUN_QUEUED = "queued"  # a film job asked for from the dashboard, not yet picked up by its worker
STATUS_TODO = "todo"
STATUS_WIP, STATUS_WAITING, STATUS_RETAKE, STATUS_DONE = "wip", "waiting", "retake", "done"
STATUSES = (STATUS_TODO, STATUS_WIP, STATUS_WAITING, STATUS_RETAKE, STATUS_DONE)
ROLES = ("viewer", "artist", "director", "admin")
CALL_KEYFRAME, CALL_SEGMENT, CALL_LIPSYNC = "keyframe", "segment", "lipsync"  # what a model call made
CALL_PENDING, CALL_SUBMITTED, CALL_RUNNING = "pending", "submitted", "running"  # open: may still cost
CALL_SUCCEEDED, CALL_FAILED, CALL_CANCELLED, CALL_INTERRUPTED = "succeeded", "failed", "cancelled", "interrupted"
CALL_OPEN = (CALL_PENDING, CALL_SUBMITTED, CALL_RUNNING)
COST_PROVIDER, COST_PRICE_TABLE, COST_NONE = "provider", "price_table", "none"  # where a call's cost came from

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


def created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


class Series(Base):
    __tablename__ = "series"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(35))
    root: Mapped[str] = mapped_column(Text)
    bible: Mapped[dict[str, Any]]
    bible_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    episodes: Mapped[list["Episode"]] = relationship(back_populates="series", order_by="Episode.code")


class Season(Base):
    __tablename__ = "seasons"
    __table_args__ = (UniqueConstraint("series_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[str] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]


class Episode(Base):
    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("series_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[str] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    number: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str] = mapped_column(String(35))
    script_path: Mapped[str] = mapped_column(Text)
    script_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(30), default=STATUS_TODO)
    shotlist_sha256: Mapped[str | None] = mapped_column(String(64))
    shotlist_ending: Mapped[str] = mapped_column(String(20), default="cut")
    shotlist_approved_sha256: Mapped[str | None] = mapped_column(String(64))
    shotlist_approved_by: Mapped[str | None] = mapped_column(String(200))
    shotlist_approved_at: Mapped[datetime | None]

    series: Mapped[Series] = relationship(back_populates="episodes")
    scenes: Mapped[list["Scene"]] = relationship(
        back_populates="episode", order_by="Scene.index", cascade="all, delete-orphan", passive_deletes=True
    )
    shots: Mapped[list["Shot"]] = relationship(
        back_populates="episode", order_by="Shot.position", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def shotlist_approved(self) -> bool | None:
        """Signed as it stands now; None while there is no shot list to sign."""
        if self.shotlist_sha256 is None:
            return None
        return self.shotlist_approved_sha256 == self.shotlist_sha256


class BibleEntry:
    """A character or a location: a named entry of the series bible, its full record kept as written."""

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[str] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]]


class Character(BibleEntry, Base):
    __tablename__ = "characters"
    __table_args__ = (UniqueConstraint("series_id", "key"),)


class Location(BibleEntry, Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("series_id", "key"),)


class Scene(Base):
    __tablename__ = "scenes"
    __table_args__ = (UniqueConstraint("episode_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    index: Mapped[int]
    heading: Mapped[str] = mapped_column(Text)
    line: Mapped[int]
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="SET NULL"), index=True)

    episode: Mapped[Episode] = relationship(back_populates="scenes")


class Shot(Base):
    __tablename__ = "shots"
    __table_args__ = (UniqueConstraint("episode_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    scene_id: Mapped[int | None] = mapped_column(ForeignKey("scenes.id", ondelete="SET NULL"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30))
    spec: Mapped[dict[str, Any]]
    spec_sha256: Mapped[str] = mapped_column(String(64))
    duration: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(30), default=STATUS_TODO)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overrides_source_sha256: Mapped[str | None] = mapped_column(String(64))
    conflict: Mapped[str | None] = mapped_column(Text)
    selected_take_id: Mapped[int | None] = mapped_column(
        ForeignKey("takes.id", ondelete="SET NULL", use_alter=True), index=True
    )

    episode: Mapped[Episode] = relationship(back_populates="shots")
    takes: Mapped[list["Take"]] = relationship(back_populates="shot", foreign_keys="Take.shot_id",
                                               passive_deletes=True)
    selected_take: Mapped["Take | None"] = relationship(foreign_keys=[selected_take_id], post_update=True)


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    media: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created()
    # The file's device, inode, size, mtime and ctime when its bytes last hashed to `sha256`: while they are the
    # same, the file is trusted without reading it again (`production.store.assets.has_file`).
    verified_stat: Mapped[str | None] = mapped_column(String(120))


class Take(Base):
    __tablename__ = "takes"

    id: Mapped[int] = mapped_column(primary_key=True)
    shot_id: Mapped[int | None] = mapped_column(ForeignKey("shots.id", ondelete="SET NULL"), index=True)
    recipe_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=TAKE_CLIP, server_default=TAKE_CLIP)
    recipe: Mapped[dict[str, Any]]
    generator: Mapped[str] = mapped_column(String(300))
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default=TAKE_RUNNING)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"), index=True)
    render_seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = created()

    shot: Mapped[Shot | None] = relationship(back_populates="takes", foreign_keys=[shot_id])
    asset: Mapped[Asset | None] = relationship()
    qc_results: Mapped[list["QCResult"]] = relationship(back_populates="take", cascade="all, delete-orphan",
                                                        passive_deletes=True)


class QCResult(Base):
    __tablename__ = "qc_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), index=True)
    check: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    extractor: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = created()

    take: Mapped[Take] = relationship(back_populates="qc_results")


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index(None, "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created()
    frame: Mapped[int | None]  # a note on a take can point at one frame of it
    region: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # and a rectangle on that frame: x, y, w, h in 0–1


class RenderRun(Base):
    __tablename__ = "render_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id", ondelete="SET NULL"), index=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=RUN_RUNNING)
    started_at: Mapped[datetime] = created()
    finished_at: Mapped[datetime | None]
    shots_total: Mapped[int] = mapped_column(default=0)
    shots_rendered: Mapped[int] = mapped_column(default=0)
    shots_reused: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"label", "shots"}: None films every shot
    takes: Mapped[int | None]
    started_by: Mapped[str | None] = mapped_column(String(200))
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    progress_at: Mapped[datetime | None]
    worker_pid: Mapped[int | None]


class User(Base):
    """A person who signs in to the dashboard; the role decides what they may do (only directors approve)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = created()


class Retake(Base):
    """A rejected take waiting for the render flow. Its note joins the shot's prompt context for good, so the next
    render makes a new take (a new recipe) and later renders keep finding that take, not the rejected one."""

    __tablename__ = "retakes"

    id: Mapped[int] = mapped_column(primary_key=True)
    shot_id: Mapped[int] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    rejected_take_id: Mapped[int | None] = mapped_column(ForeignKey("takes.id", ondelete="SET NULL"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = created()
    filled_take_id: Mapped[int | None] = mapped_column(ForeignKey("takes.id", ondelete="SET NULL"))
    filled_at: Mapped[datetime | None]
    more_takes: Mapped[int | None]  # "N more takes" of the shot as it stands
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # "retake with changes": field → [before, after]


class EpisodeCut(Base):
    """One edit of an episode as a render delivered it: the picture, its subtitles and manifest, for review."""

    __tablename__ = "episode_cuts"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    render_run_id: Mapped[int | None] = mapped_column(ForeignKey("render_runs.id", ondelete="SET NULL"))
    video_asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    subtitles_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    manifest_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(30), default=STATUS_WAITING)
    created_at: Mapped[datetime] = created()


class AssetPreview(Base):
    """A still made from another asset (a clip's poster frame), kept in the store like everything else."""

    __tablename__ = "asset_previews"

    source_asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))


class DialogueLine(Base):
    """A spoken line as delivered: its audio (a recording or a scratch voice) and what speech recognition heard
    of it, so a producer can ask which lines need re-recording."""

    __tablename__ = "dialogue_lines"
    __table_args__ = (UniqueConstraint("shot_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shot_id: Mapped[int] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    speaker: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"), index=True)
    duration: Mapped[float] = mapped_column(Float)
    overrun: Mapped[float] = mapped_column(Float, default=0.0)
    heard: Mapped[str] = mapped_column(Text, default="")
    wer: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    transcriber: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    asset: Mapped[Asset | None] = relationship()


class ReferenceFaces(Base):
    """The faces an extractor found in a reference image, by the image's sha256: a bible is read again every render,
    its faces are computed once."""

    __tablename__ = "reference_faces"
    __table_args__ = (UniqueConstraint("sha256", "extractor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    extractor: Mapped[str] = mapped_column(String(300))
    faces: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = created()


class TakeFaces(Base):
    """The most confident face of each sampled frame of a take, as VGoT's face-consistency metrics read a shot."""

    __tablename__ = "take_faces"

    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), primary_key=True)
    extractor: Mapped[str] = mapped_column(String(300))
    frames: Mapped[list[Any]] = mapped_column(JSON)
    faces: Mapped[list[Any]] = mapped_column(JSON)
    unknown: Mapped[int] = mapped_column(default=0)


class IdentityScore(Base):
    """How well a character's face in a take matches the bible: the points of the series-wide identity chart."""

    __tablename__ = "identity_scores"
    __table_args__ = (UniqueConstraint("take_id", "character"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), index=True)
    character: Mapped[str] = mapped_column(String(100))
    extractor: Mapped[str] = mapped_column(String(300))
    similarity: Mapped[float] = mapped_column(Float)
    matched: Mapped[int]
    seen: Mapped[int]
    sampled: Mapped[int]
    embedding: Mapped[list[Any]] = mapped_column(JSON)


class IdentityMetric(Base):
    """A research metric of identity (VGoT's face consistency, DreamFactory's cross-scene face distance) over an
    episode's cut, or over the whole series when `episode_id` is empty."""

    __tablename__ = "identity_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[str] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(50))
    value: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int] = mapped_column(default=0)
    extractor: Mapped[str] = mapped_column(String(300))
    computed_at: Mapped[datetime] = created()


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token and the row only its sha256, so a copied database
    signs no one in; signing out deletes the row, and a new password or a disabled account deletes them all."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created()
    expires_at: Mapped[datetime]
    address: Mapped[str] = mapped_column(String(100), default="")


class RenderLock(Base):
    """The one render of an episode allowed at a time, and who holds it. The holder beats every `heartbeat_seconds`;
    a lock whose heartbeat has stopped for several of its beats (a lost machine) or whose process is gone on the
    host it names is taken over by the next render."""

    __tablename__ = "render_locks"

    series_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    episode_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    acquired_at: Mapped[datetime] = created()
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_seconds: Mapped[float] = mapped_column(Float)


class ModelCall(Base):
    """One call of a model (a keyframe, a segment, a lip sync; a remote job is one call): the ledger of what filming
    cost and the durable record of a paid request. The row is written before the request is sent and names the
    provider's task the moment it is known, so a render that dies re-attaches to the task instead of paying again;
    `idempotency_key` (the take's recipe hash and the segment index) makes a second submission impossible."""

    __tablename__ = "model_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    take_id: Mapped[int | None] = mapped_column(ForeignKey("takes.id", ondelete="SET NULL"), index=True)
    shot_id: Mapped[int | None] = mapped_column(ForeignKey("shots.id", ondelete="SET NULL"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id", ondelete="SET NULL"), index=True)
    series_id: Mapped[str | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=CALL_SEGMENT)
    segment_index: Mapped[int | None]
    backend: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(300), default="")
    provider: Mapped[str | None] = mapped_column(String(100))  # remote: who is paid (kling, comfyui server)
    device: Mapped[str | None] = mapped_column(String(200))  # local: "cpu" or the GPU's name
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    endpoint: Mapped[str | None] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # as sent, without secrets
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the provider's final answer, as read
    provider_task_id: Mapped[str | None] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20), default=CALL_PENDING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"), index=True)
    submitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created()
    wall_seconds: Mapped[float | None] = mapped_column(Float)
    device_seconds: Mapped[float | None] = mapped_column(Float)  # GPU- or CPU-seconds the call held its device
    video_seconds: Mapped[float | None] = mapped_column(Float)  # seconds of video the call was asked to make
    billed_units: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(30))  # credits, seconds (of video), calls
    cost: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(10))
    cost_source: Mapped[str] = mapped_column(String(20), default=COST_NONE)
    retake: Mapped[bool] = mapped_column(Boolean, default=False)


class KitsuLink(Base):
    """A row of ours and what it is on one Kitsu server (a production, episode, sequence, shot, task, preview or
    comment). Recorded the moment Kitsu answers, so a sync stopped half way resumes where it stopped and a second
    push updates instead of duplicating; `state` is what the last sync sent or read, to tell what changed since."""

    __tablename__ = "kitsu_links"
    __table_args__ = (UniqueConstraint("host", "kind", "kitsu_id"), Index(None, "host", "kind", "row_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    row_id: Mapped[str] = mapped_column(String(100))
    kitsu_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CircledTake(Base):
    """The take a director picked for the cut (circled on the camera report), distinct from approving the shot;
    renders keep it while the shot is filmed as that take was."""

    __tablename__ = "circled_takes"

    shot_id: Mapped[int] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), primary_key=True)
    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), index=True)
    circled_by: Mapped[str] = mapped_column(String(200))
    circled_at: Mapped[datetime] = created()


class Playlist(Base):
    """Dailies: an ordered set of takes to watch and review in one sitting (what was filmed since yesterday, the
    retakes of an episode), kept as it was made so everyone in the room sees the same list."""

    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created()

    items: Mapped[list["PlaylistTake"]] = relationship(order_by="PlaylistTake.position", cascade="all, delete-orphan",
                                                      passive_deletes=True)


class PlaylistTake(Base):
    __tablename__ = "playlist_takes"

    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), index=True)
