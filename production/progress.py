"""How far a long job has got, told as it goes. The stages call `report` at each step a person waits on (a shot's
take, a segment of it, its checks, the cut); whoever runs the job may listen — the episode flow writes what it hears
to its render run, where the dashboard reads it. With no one listening a report costs a context-variable lookup.

The listener travels in a context variable, so it follows the work into the threads Prefect's task runner starts
(each task runs in a copy of the context it was submitted from) and never crosses into another job's."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]

KEYFRAME, TAKE, SEGMENT, QC, FILMED, CUT = "keyframe", "take", "segment", "qc", "filmed", "cut"

_listener: ContextVar[Listener | None] = ContextVar("aigms_progress_listener", default=None)
_log = logging.getLogger(__name__)


def report(step: str, **detail: Any) -> None:
    """Tell the listener, if any, that `step` is starting (`shot`, `take`, `segment`… say where). A listener that
    fails is logged and forgotten: progress is for people watching, never a reason to stop the work."""
    listener = _listener.get()
    if listener is None:
        return
    try:
        listener(step, detail)
    except Exception:  # noqa: BLE001 — see the docstring
        _log.warning("progress report %s %s not recorded", step, detail, exc_info=True)


def listen(listener: Listener) -> Callable[[], None]:
    """Start listening in this context (and the tasks it starts); returns what stops it."""
    token = _listener.set(listener)
    return lambda: _listener.reset(token)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    stop = listen(listener)
    try:
        yield
    finally:
        stop()
