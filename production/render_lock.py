"""One render of an episode at a time, across processes and machines sharing the project database: a row of
`render_locks` names the holder (host, pid) and carries its heartbeat. A second render is refused with who holds
the episode, or waits for it; a holder whose heartbeat stopped for `missed` beats (a lost machine), or whose
process is gone on this very host (a killed render), loses the lock to the next render.

The holder also owns the episode's scratch folder in the store (`store/tmp/episode-<series>-<episode>/`), which
is emptied when the lock is taken: whatever a killed render left there goes with the next render. The same rows,
keyed `take-<recipe hash>`, hold a take while one render films it (`held`), so two renders of episodes that share
a recipe film it once."""

import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from aigms.db.models import RenderLock, utcnow
from aigms.db.session import session_scope
from aigms.production.store import assets

HEARTBEAT_SECONDS = 10.0
MISSED_BEATS = 6
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime
    heartbeat_seconds: float

    def __str__(self) -> str:
        beat = (utcnow() - self.heartbeat_at).total_seconds()
        return (f"{self.host} pid {self.pid} since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC "
                f"(last heartbeat {beat:.0f} s ago)")


class RenderLocked(RuntimeError):
    """Another render holds the episode; the message names it and what to do."""

    def __init__(self, series_id: str, episode_code: str, holder: Holder) -> None:
        self.holder = holder
        super().__init__(f"{series_id} {episode_code} is being rendered by {holder}: wait for it to finish, "
                         "or run again with --wait")


def scratch(store: Path, series_id: str, episode_code: str) -> Path:
    """The episode's scratch folder; only the holder of its lock writes there."""
    if not (SAFE_NAME.match(series_id) and SAFE_NAME.match(episode_code)):
        raise ValueError(f"not a series and episode id: {series_id!r} {episode_code!r}")
    return assets.scratch_dir(store) / f"episode-{series_id}-{episode_code}"


@contextmanager
def episode_lock(engine: Engine, store: Path, series_id: str, episode_code: str, *, wait: bool = False,
                 heartbeat: float = HEARTBEAT_SECONDS, missed: int = MISSED_BEATS,
                 on_wait: Callable[[Holder], None] | None = None) -> Iterator[Path]:
    """Hold the episode for the block and yield its emptied scratch folder, beating every `heartbeat` seconds.
    Refuses with `RenderLocked` when another render holds it, unless `wait`, in which case `on_wait` is told once
    who is being waited for. A holder is judged lost after `missed` of its own beats."""
    with held(engine, series_id, episode_code, wait=wait, heartbeat=heartbeat, missed=missed, on_wait=on_wait):
        folder = scratch(store, series_id, episode_code)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def held(engine: Engine, series_id: str, episode_code: str, *, wait: bool = False,
         heartbeat: float = HEARTBEAT_SECONDS, missed: int = MISSED_BEATS,
         on_wait: Callable[[Holder], None] | None = None) -> Iterator[None]:
    """Hold the row (`series_id`, `episode_code`) for the block, beating every `heartbeat` seconds; refused
    (`RenderLocked`) or, with `wait`, waiting while a live holder has it. An episode's render, or a take being
    filmed (`aigms.production.generate.takes.claimed`)."""
    token = secrets.token_hex(16)
    told = False
    while (holder := _acquire(engine, series_id, episode_code, token, heartbeat, missed)) is not None:
        if not wait:
            raise RenderLocked(series_id, episode_code, holder)
        if on_wait is not None and not told:
            on_wait(holder)
            told = True
        time.sleep(min(heartbeat, 1.0))
    stop = threading.Event()
    beating = threading.Thread(target=_beat, args=(engine, series_id, episode_code, token, heartbeat, stop),
                               name=f"render-lock {series_id} {episode_code}", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()
        with session_scope(engine) as session:
            session.execute(delete(RenderLock).where(*_this(series_id, episode_code), RenderLock.token == token))


def _this(series_id: str, episode_code: str) -> tuple:
    return RenderLock.series_id == series_id, RenderLock.episode_code == episode_code


def _acquire(engine: Engine, series_id: str, episode_code: str, token: str, heartbeat: float,
             missed: int) -> Holder | None:
    """None when the lock is now ours; else who holds it. Two renders inserting at once: the database keeps one
    row, and the other reads it again."""
    now = utcnow()
    mine = {"token": token, "host": socket.gethostname(), "pid": os.getpid(), "acquired_at": now, "heartbeat_at": now,
            "heartbeat_seconds": heartbeat}
    try:
        with session_scope(engine) as session:
            row = session.get(RenderLock, (series_id, episode_code))
            if row is None:
                session.add(RenderLock(series_id=series_id, episode_code=episode_code, **mine))
                return None
            holder = Holder(row.host, row.pid, _aware(row.acquired_at), _aware(row.heartbeat_at),
                            row.heartbeat_seconds)
            if not _lost(holder, now, missed):
                return holder
            taken = session.execute(update(RenderLock).where(*_this(series_id, episode_code),
                                                             RenderLock.token == row.token).values(**mine))
            if taken.rowcount == 1:
                log.warning("took over the render lock of %s %s from %s", series_id, episode_code, holder)
                return None
            return holder
    except IntegrityError:
        return _acquire(engine, series_id, episode_code, token, heartbeat, missed)


def _lost(holder: Holder, now: datetime, missed: int) -> bool:
    """A holder is gone when it missed `missed` of its beats, or when it ran here and its process is not."""
    if now - holder.heartbeat_at > timedelta(seconds=holder.heartbeat_seconds * missed):
        return True
    return holder.host == socket.gethostname() and holder.pid != os.getpid() and not _alive(holder.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _aware(moment: datetime) -> datetime:
    """SQLite gives back the UTC time it was given without its zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _beat(engine: Engine, series_id: str, episode_code: str, token: str, every: float,
          stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            with session_scope(engine) as session:
                beat = session.execute(update(RenderLock).where(*_this(series_id, episode_code),
                                                                RenderLock.token == token)
                                       .values(heartbeat_at=utcnow()))
        except Exception as error:  # a busy or unreachable database: the next beat tries again
            log.warning("render lock heartbeat of %s %s failed: %s", series_id, episode_code, error)
            continue
        if beat.rowcount == 0:
            log.error("the render lock of %s %s was taken over by another render: this render no longer holds "
                      "the episode", series_id, episode_code)
            return
