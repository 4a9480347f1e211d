"""A remote model call as a durable job, the one way every remote camera (Kling's API, a studio's ComfyUI) calls
out. The job is written to the `model_calls` ledger before its request leaves the machine, under an idempotency key
made of the take's recipe hash and the segment's index; the provider's task id is written the moment it is known;
the task is polled with backoff until a deadline (or woken early by a backend that listens, as ComfyUI's websocket
does); the result is downloaded into the asset store and the job closed. A render killed at any point and run
again finds the job by its key and re-attaches to the same task — by its task id, or, when the kill came between
sending and hearing back, by asking the provider for the task under the id we chose for it — so a segment is never
paid for twice.

The provider's refusals are told apart: a busy provider (Kling's 1303, HTTP 429) is waited out; no credit, a wrong
key or a server that cannot be reached stops the render (`StopRender`, one line) and loses nothing; a content
refusal fails the take with its reason and is not asked again until its prompt changes (a new recipe, a new key)."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import ffmpeg
import httpx
from sqlalchemy.engine import Engine

from aigms.db import ledger, models
from aigms.db.session import session_scope
from aigms.production.generate import footage
from aigms.production.generate.generators import CallContext, GenerationFailed, load_backend
from aigms.production.store import assets, media
from aigms.production.store.files import atomic_path

REFUSED = "refused by the provider: "
POLL_ENV, BACKOFF_ENV = "AIGMS_REMOTE_POLL", "AIGMS_REMOTE_BACKOFF"
UNREACHABLE_TRIES = 4  # consecutive failures to reach the provider before the render stops


class StopRender(RuntimeError):
    """The provider will refuse every call until a person acts (no credit left, a wrong key, a server that cannot
    be reached): the render stops with this one line, every finished take kept, every open job resumable."""


class OutOfCredit(StopRender):
    pass


class NotAuthorised(StopRender):
    pass


class Unreachable(StopRender):
    pass


class ProviderBusy(Exception):
    """Too many tasks or requests at once (Kling 1302/1303, HTTP 429, a 5xx): wait and ask again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(Exception):
    """The provider will not make this request: content moderation, or a request it calls invalid. Another seed
    does not change its mind; another prompt may."""


@dataclass(frozen=True)
class Job:
    """One call as the ledger keeps it: what was asked of whom, under which idempotency key."""

    backend: str
    provider: str
    model: str
    kind: str  # keyframe | segment | lipsync
    segment_index: int | None
    endpoint: str
    request: dict[str, Any]  # as sent, without secrets or image bytes: what the ledger and the recipe keep
    key: str
    label: str = ""  # what a person reads on the progress bar: "shot 010 · segment 2/3"
    body: Any = field(default=None, compare=False, repr=False)  # what is sent, images and all


@dataclass
class Status:
    """What the provider says of a task."""

    state: str  # submitted | running | succeeded | failed
    task_id: str
    message: str = ""
    refused: bool = False
    response: dict[str, Any] = field(default_factory=dict)
    step: int | None = None  # progress inside the task, where the provider tells it (ComfyUI: sampler steps)
    steps: int | None = None
    node: str | None = None
    billed_units: float | None = None  # as the provider reports them (Kling's units)
    unit: str | None = None
    billed_seconds: float | None = None  # seconds of video made, what a price table per second multiplies
    cost: float | None = None
    currency: str | None = None
    device: str | None = None
    device_seconds: float | None = None

    @property
    def over(self) -> bool:
        return self.state in (models.CALL_SUCCEEDED, models.CALL_FAILED)


class Watch(Protocol):
    """A backend's live line to a task (ComfyUI's websocket): `wait` returns early when the task may have
    changed, so polling can be slow without a finished task waiting for the next poll."""

    def wait(self, seconds: float) -> None: ...

    def close(self) -> None: ...


class Client(Protocol):
    """What a remote backend tells the job loop; every method may raise `ProviderBusy`, `StopRender` or `Refused`."""

    def task_name(self, job: Job, attempt: int) -> str | None:
        """The id we give the task before sending it (Kling's `external_task_id`, ComfyUI's `prompt_id`), or None."""

    def submit(self, job: Job, attempt: int) -> Status: ...

    def find(self, job: Job, attempt: int, task_id: str | None) -> Status | None:
        """The task an interrupted submission may have created, or None if the provider never got it."""

    def status(self, job: Job, task_id: str) -> Status: ...

    def download(self, job: Job, status: Status, out: Path) -> None: ...

    def watch(self, job: Job, task_id: str, report: Callable[[Status], None]) -> Watch | None:
        """A live line to the task, which tells `report` of its progress as it comes, or None."""


@dataclass(frozen=True)
class Timing:
    """How often to ask (seconds): polls start at `poll` and grow by half up to `poll_max`; a busy provider is
    asked again after `backoff`, doubling up to `backoff_max`; after `deadline` the take gives up waiting (the job
    stays open, and the next render picks it up). Tests set `AIGMS_REMOTE_POLL`/`AIGMS_REMOTE_BACKOFF` to
    `first:max` in fractions of a second."""

    poll: float = 2.0
    poll_max: float = 15.0
    backoff: float = 1.0  # Kling asks for at least a second before a retry after 1303
    backoff_max: float = 60.0
    deadline: float = 3600.0


def timing(options: dict[str, Any]) -> Timing:
    import os

    def pair(variable: str, default: tuple[float, float]) -> tuple[float, float]:
        first, _, last = os.environ.get(variable, "").partition(":")
        return (float(first), float(last or first)) if first else default

    poll, poll_max = pair(POLL_ENV, (2.0, 15.0))
    backoff, backoff_max = pair(BACKOFF_ENV, (1.0, 60.0))
    return Timing(poll, poll_max, backoff, backoff_max, float(options.get("timeout_minutes", 60)) * 60)


# Progress: the CLI draws it; a stage only reports.


@dataclass(frozen=True)
class Progress:
    job: int
    label: str
    provider: str
    state: str
    step: int | None = None
    steps: int | None = None
    node: str | None = None


_watchers: list[Callable[[Progress], None]] = []


@contextmanager
def reporting(callback: Callable[[Progress], None]) -> Iterator[None]:
    """Send every job's progress to `callback` (from whichever thread runs the job) while the block runs."""
    _watchers.append(callback)
    try:
        yield
    finally:
        _watchers.remove(callback)


def _report(call_id: int, job: Job, status: Status | None, state: str) -> None:
    event = Progress(call_id, job.label or job.endpoint, job.provider, state,
                     status.step if status else None, status.steps if status else None, status.node if status else None)
    for callback in list(_watchers):
        callback(event)


# The job


@dataclass(frozen=True)
class Result:
    """A finished call: its output in the asset store, and what the take's recipe records of it."""

    path: Path
    call: dict[str, Any]
    response: dict[str, Any]
    media: dict[str, Any]  # the output's `MediaInfo`, as its asset row keeps it


def run(client: Client, job: Job, context: CallContext | None, timing: Timing) -> Result:
    """The call's output, from the asset store if an earlier run finished it, else from the provider: the task in
    flight re-attached, or submitted once. Raises `GenerationFailed` for a take that did not come out, `StopRender`
    for a provider that will not work until a person acts."""
    if context is None:
        raise ValueError(f"{job.backend}: a remote call needs a CallContext (the ledger it is recorded in)")
    engine, started = context.engine, time.monotonic()
    call = ledger.claim(engine, job.key, **_fields(job, context))
    if call.endpoint is None:  # reserved by the cost meter before the job was built: the job says what is sent
        call = ledger.update(engine, call.id, endpoint=job.endpoint, request=job.request)
    if call.state == models.CALL_SUCCEEDED and call.asset_id is not None:
        found = _stored(context, call)
        if found is not None:
            return found
    if call.state == models.CALL_FAILED and (call.error or "").startswith(REFUSED):
        raise GenerationFailed(call.error, retry=False)  # the same prompt, refused before: not asked again
    again = call.state in (models.CALL_FAILED, models.CALL_CANCELLED, models.CALL_INTERRUPTED)
    if again:  # a new attempt, under a new task name: the failed task is not looked for again
        call = ledger.update(engine, call.id, state=models.CALL_PENDING, provider_task_id=None, error=None,
                             response=None)
    status = _attach(client, job, call, context, timing, started, look=not again)
    watch = (client.watch(job, status.task_id, lambda live: _report(call.id, job, live, live.state))
             if not status.over else None)
    try:
        status = _wait(client, job, call.id, status, watch, context, timing, started)
    except KeyboardInterrupt:
        _interrupt(client, job, call.id, status.task_id, context)
        raise
    finally:
        if watch is not None:
            watch.close()
    if status.state == models.CALL_FAILED:
        reason = (REFUSED if status.refused else "") + (status.message or "the task failed")
        ledger.update(engine, call.id, state=models.CALL_FAILED, error=reason, response=status.response,
                      finished_at=models.utcnow(), **_bill(status))
        _report(call.id, job, status, models.CALL_FAILED)
        raise GenerationFailed(f"{job.provider} task {status.task_id}: {reason}", retry=not status.refused)
    return _finish(client, job, call.id, status, context)


def _fields(job: Job, context: CallContext) -> dict[str, Any]:
    episode_id = series_id = None
    if context.shot_row_id is not None:
        with session_scope(context.engine) as session:
            shot = session.get(models.Shot, context.shot_row_id)
            if shot is not None:
                episode_id = shot.episode_id
                series_id = session.get(models.Episode, shot.episode_id).series_id
    return {"take_id": context.take_id, "shot_id": context.shot_row_id, "episode_id": episode_id,
            "series_id": series_id, "kind": job.kind, "segment_index": job.segment_index, "backend": job.backend,
            "model": job.model, "provider": job.provider, "endpoint": job.endpoint, "request": job.request,
            "retake": context.retake}


def _stored(context: CallContext, call: models.ModelCall) -> Result | None:
    with session_scope(context.engine) as session:
        asset = session.get(models.Asset, call.asset_id)
        if asset is None or not assets.has_file(context.store, asset):
            return None
        path = assets.asset_file(context.store, asset)
        return Result(path, describe(call), call.response or {}, asset.media or media.probe(path).as_dict())


def _attach(client: Client, job: Job, call: models.ModelCall, context: CallContext, timing: Timing,
            started: float, look: bool = True) -> Status:
    """The task this call is waiting on: the one recorded, the one an interrupted or unanswered submission made
    (asked of the provider before anything is sent again), or a new one."""
    engine = context.engine
    if call.provider_task_id and call.state in (models.CALL_SUBMITTED, models.CALL_RUNNING):
        return Status(call.state, call.provider_task_id)
    backoff, unreachable = timing.backoff, 0
    while True:
        try:
            if call.attempts and look:
                found = client.find(job, call.attempts, call.provider_task_id)
                if found is not None:
                    ledger.update(engine, call.id, provider_task_id=found.task_id, state=models.CALL_SUBMITTED,
                                  error=None)
                    return found
            look, attempt = True, call.attempts + 1
            if not ledger.begin_submission(engine, call.id, call.attempts, client.task_name(job, attempt)):
                time.sleep(timing.poll)  # a render beside this one is sending it: wait for its task
                call = ledger.get(engine, call.id)
                if call.provider_task_id and call.state in (models.CALL_SUBMITTED, models.CALL_RUNNING):
                    return Status(call.state, call.provider_task_id)
                continue
            status = client.submit(job, attempt)
        except ProviderBusy as busy:
            ledger.update(engine, call.id, error=f"waiting: {busy}")
            _report(call.id, job, None, "waiting")
            backoff = _pause(busy.retry_after or backoff, timing, started, job, "the provider stayed busy")
            call = ledger.get(engine, call.id)
            continue
        except Unreachable as error:
            unreachable += 1
            ledger.update(engine, call.id, error=str(error))
            if unreachable >= UNREACHABLE_TRIES:
                raise
            backoff = _pause(backoff, timing, started, job, "the provider could not be reached")
            call = ledger.get(engine, call.id)
            continue
        except StopRender as error:
            ledger.update(engine, call.id, error=str(error))
            raise
        except Refused as refusal:
            ledger.update(engine, call.id, state=models.CALL_FAILED, error=REFUSED + str(refusal),
                          finished_at=models.utcnow())
            raise GenerationFailed(f"{job.provider}: {REFUSED}{refusal}", retry=False) from None
        ledger.update(engine, call.id, provider_task_id=status.task_id, state=models.CALL_SUBMITTED, error=None)
        _report(call.id, job, status, models.CALL_SUBMITTED)
        return status


def _pause(seconds: float, timing: Timing, started: float, job: Job, why: str) -> float:
    """Sleep before asking again; the next pause is twice as long, up to the most the timing allows."""
    if time.monotonic() + seconds - started > timing.deadline:
        raise GenerationFailed(f"{job.provider}: {why} for {timing.deadline / 60:.0f} min; render again later",
                               retry=False)
    time.sleep(seconds)
    return min(seconds * 2, timing.backoff_max)


def _wait(client: Client, job: Job, call_id: int, status: Status, watch: Watch | None, context: CallContext,
          timing: Timing, started: float) -> Status:
    """Poll until the task is over, each poll half as far again from the last; with a live line to the task,
    always at the slowest pace, since the line wakes the loop when the task ends."""
    engine, interval, backoff, unreachable, state = context.engine, timing.poll, timing.backoff, 0, status.state
    while not status.over:
        if time.monotonic() - started > timing.deadline:
            raise GenerationFailed(f"{job.provider} task {status.task_id} still running after "
                                   f"{timing.deadline / 60:.0f} min; the job stays open and the next render "
                                   "picks it up", retry=False)
        if watch is not None:
            watch.wait(interval)
        else:
            time.sleep(interval)
        interval = timing.poll_max if watch is not None else min(interval * 1.5, timing.poll_max)
        try:
            status = client.status(job, status.task_id)
            unreachable = 0
        except ProviderBusy as busy:
            backoff = _pause(busy.retry_after or backoff, timing, started, job, "the provider stayed busy")
            continue
        except Unreachable:
            unreachable += 1
            if unreachable >= UNREACHABLE_TRIES:
                raise
            continue
        if ledger.get(engine, call_id).state == models.CALL_CANCELLED:
            raise GenerationFailed(f"{job.provider} task {status.task_id} was cancelled (aigms jobs cancel)",
                                   retry=False)
        if status.state != state and not status.over:
            ledger.update(engine, call_id, state=status.state)
            state = status.state
        _report(call_id, job, status, status.state)
    return status


def _finish(client: Client, job: Job, call_id: int, status: Status, context: CallContext) -> Result:
    """Download the output into the asset store and close the job. A download cut short writes nothing and
    leaves the job open: the next render downloads it again, without paying again."""
    engine, store = context.engine, context.store
    ledger.update(engine, call_id, response=status.response, **_bill(status))
    _report(call_id, job, status, "downloading")
    scratch = assets.scratch_dir(store) / f"call-{call_id}.mp4"
    try:
        with atomic_path(scratch) as temporary:
            client.download(job, status, temporary)
            info = media.probe(temporary)
            if not info.video_codec:
                raise media.MediaError(f"{temporary}: no picture in what {job.provider} sent")
    except (media.MediaError, OSError) as error:
        ledger.update(engine, call_id, error=f"download: {error}")
        raise GenerationFailed(f"{job.provider} task {status.task_id}: the result could not be downloaded "
                               f"({error}); the job stays open and the next render downloads it", retry=False)
    with session_scope(engine) as session:
        asset = assets.put_file(session, store, scratch, "remote", info.as_dict())
        call = session.get(models.ModelCall, call_id)
        finished = models.utcnow()
        call.asset_id, call.state, call.finished_at, call.error = asset.id, models.CALL_SUCCEEDED, finished, None
        if call.submitted_at is not None:
            call.wall_seconds = (finished - _aware(call.submitted_at)).total_seconds()
        path = assets.asset_file(store, asset)
        described = describe(call)
    _report(call_id, job, status, models.CALL_SUCCEEDED)
    return Result(path, described, status.response, info.as_dict())


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bill(status: Status) -> dict[str, Any]:
    """The ledger's account of a call: the provider's own units where it reports them, else the seconds of video
    it made (which a price table can multiply: the cost ledger does)."""
    bill: dict[str, Any] = {}
    if status.billed_units is not None:
        bill.update(billed_units=status.billed_units, unit=status.unit, cost_source=models.COST_PROVIDER)
    elif status.billed_seconds is not None:
        bill.update(billed_units=status.billed_seconds, unit="seconds")
    if status.cost is not None:
        bill.update(cost=status.cost, currency=status.currency, cost_source=models.COST_PROVIDER)
    if status.device is not None:
        bill["device"] = status.device
    if status.device_seconds is not None:
        bill["device_seconds"] = status.device_seconds
    return bill


def _interrupt(client: Client, job: Job, call_id: int, task_id: str, context: CallContext) -> None:
    """Ctrl-C during a call: a provider that can stop the task does (ComfyUI's `/interrupt`); one that cannot
    (Kling) keeps it, and the next render picks it up."""
    cancel = getattr(client, "cancel", None)
    if cancel is not None and cancel(task_id):
        ledger.update(context.engine, call_id, state=models.CALL_INTERRUPTED, finished_at=models.utcnow())


def cancel(engine: Engine, call_id: int) -> models.ModelCall:
    """`aigms jobs cancel`: close an open job in the ledger — a render waiting on it gives its take up at its next
    poll — and stop its task where the provider allows (the backend's `cancel_job`). A provider that cannot
    cancel says so (`StopRender` carries its words) and the job is left open, as it was."""
    call = ledger.get(engine, call_id)
    if call is None:
        raise KeyError(f"no job {call_id}; `aigms jobs` lists them")
    if call.state not in models.CALL_OPEN:
        raise ValueError(f"job {call_id} is already {call.state}")
    before = call.state
    cancelled = ledger.update(engine, call_id, state=models.CALL_CANCELLED, finished_at=models.utcnow(),
                              error="cancelled by a person")
    if call.provider_task_id and before != models.CALL_PENDING:
        try:
            load_backend(call.backend).cancel_job(call)
        except StopRender:
            ledger.update(engine, call_id, state=before, finished_at=None, error=None)
            raise
    return cancelled


def describe(call: models.ModelCall) -> dict[str, Any]:
    """What a take's recipe says of one of its calls."""
    return ledger.as_dict(call)


def download(http: httpx.Client, url: str, out: Path) -> None:
    """Stream `url` to `out`; a body shorter than its Content-Length is an error, not a file."""
    try:
        with http.stream("GET", url) as answer:
            if answer.status_code != 200:
                raise OSError(f"GET {url} answered HTTP {answer.status_code}")
            expected = int(answer.headers.get("content-length", 0)) or None
            with open(out, "wb") as handle:
                for chunk in answer.iter_bytes():
                    handle.write(chunk)
            written = answer.num_bytes_downloaded
    except httpx.HTTPError as error:
        raise OSError(f"GET {url} was cut short ({type(error).__name__}: {error})") from None
    if expected is not None and written != expected:
        raise OSError(f"GET {url} was cut short: {written} of {expected} bytes")


# Fitting a provider's output to what the stage asked for


def frame_count(info: dict[str, Any]) -> int:
    """Frames in a video as `MediaInfo.as_dict()` describes it."""
    return int(info.get("frames") or round(info["duration"] * (info.get("fps") or 1)))


def fit(source: Path, info: dict[str, Any], out: Path, width: int, height: int, fps: int, frames: int,
        first: int = 0) -> int:
    """Write `frames` frames of `source` (described by `info`, its `MediaInfo` as a dict) from its frame `first`
    to `out` at `width`×`height` and `fps` (filling the frame, cropping the edges), losslessly for `.mkv`; returns
    how many frames at the end had to be held because the provider made fewer than asked."""
    source_fps = info.get("fps") or fps
    available = max(0, round((frame_count(info) - first) * fps / source_fps))
    stream = (ffmpeg.input(str(source)).video.trim(start_frame=first).setpts("PTS-STARTPTS")
              .filter("fps", fps=fps)
              .filter("scale", width, height, force_original_aspect_ratio="increase", flags="lanczos")
              .filter("crop", width, height).filter("setsar", 1)
              .filter("tpad", stop_mode="clone", stop=frames))
    settings = footage.LOSSLESS if out.suffix == ".mkv" else media.HOUSE_ENCODE
    media.run(stream.output(str(out), vframes=frames, r=fps, **settings))
    return max(0, frames - available)

