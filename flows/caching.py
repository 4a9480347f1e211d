"""Prefect's cache for the tasks the asset store cannot answer for: a line's voice, the cross-shot checks and the
cut. (Takes and keyframes are not cached here: the store finds them by their recipes, `generate.find_take`.) Each
key is the content hash of what the task reads (the bytes of recordings and music, the hashes of the takes and lines
a cut is made of), never of file paths alone or of the time, so a re-render redoes exactly the tasks a change
touches. Keys also name the database and the asset store, whose rows and files a cached result points at, and the
code that made it; a cached result is used only while the files it names are still there (`fresh`)."""

import hashlib
from collections.abc import Iterator
from functools import cache
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from prefect import Task
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture

from aigms.production import settings
from aigms.production.post import voice
from aigms.production.store import assets
from aigms.production.store.assets import canonical_sha256
from aigms.schemas.series import Series

CODE_PACKAGES = ("aigms.production", "aigms.flows", "aigms.schemas", "aigms.db")


class Kept(Protocol):
    def is_there(self) -> bool: ...


Result = TypeVar("Result", bound=Kept)


def fresh(future: PrefectFuture[Result], task: Task[..., Result], *args: Any) -> Result:
    """The task's result; a cached one is used only while the files it names are still there (a wiped store, a
    deleted delivery folder), else the task runs again, with the same arguments."""
    result = future.result()
    if future.state.name == "Cached" and not result.is_there():
        result = task.with_options(refresh_cache=True)(*args)
    return result


def _sources(folder: Traversable) -> Iterator[Traversable]:
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir() and entry.name != "__pycache__":
            yield from _sources(entry)
        elif entry.name.endswith(".py"):
            yield entry


@cache
def _release() -> str:
    """The version and the bytes of the code the tasks run: an upgrade, or an edit in a checkout, is a change."""
    digest = hashlib.sha256(metadata.version("aigms").encode())
    for package in CODE_PACKAGES:
        for source in _sources(resources.files(package)):
            digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()


def _series(series: Series) -> dict[str, Any]:
    """The bible without its episode list, schedules, prices and budgets: none of them changes a picture."""
    return series.model_dump(mode="json", exclude={"episodes", "schedules", "costs", "budget"})


def _file_sha256(path: Path) -> str | None:
    return assets.sha256_file(path) if path.is_file() else None


def across_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """The cross-shot checks read the selected take of every shot, in story order and scene by scene."""
    return "across-" + canonical_sha256({
        "release": _release(), "database": parameters["database_url"], "series": _series(parameters["series"]),
        "shots": [(shot.id, shot.scene) for shot in parameters["shotlist"].shots],
        "takes": {shot_id: (take.take_id, take.clip_sha256) for shot_id, take in parameters["selected"].items()},
    })


def line_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    series, shot = parameters["series"], parameters["shot"]
    recording = voice.recorded_line(series, shot)
    character = series.characters.get(shot.speaker or "")
    return "line-" + canonical_sha256({
        "release": _release(), "database": parameters["database_url"], "store": str(parameters["store"]),
        "language": parameters["language"], "line": voice.line_id(shot), "text": shot.text, "speaker": shot.speaker,
        "voice": character.voice.model_dump(mode="json") if character else None,
        "recording": _file_sha256(recording) if recording else None, "rate": series.delivery.audio_rate,
    })


def cut_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """The cut is keyed by the timeline's inputs (selected takes, lines, shot list, delivery and edit settings), the
    speech recogniser that times the subtitles and people's notes (markers in the OTIO): an unchanged episode is
    neither re-encoded nor re-transcribed."""
    series = parameters["series"]
    music = series.edit.music
    return "cut-" + canonical_sha256({
        "release": _release(), "database": parameters["database_url"], "store": str(parameters["store"]),
        "series": _series(series), "shotlist": parameters["shotlist"].model_dump(mode="json"),
        "takes": {shot_id: take.clip_sha256 for shot_id, take in parameters["takes"].items()},
        "audio": {shot_id: line.sha256 for shot_id, line in parameters["audio"].items()},
        "music": _file_sha256(series.root / music.path) if music else None,
        "folder": str(Path(parameters["folder"]).resolve()), "whisper": settings.whisper(),
        "notes": [vars(note) for note in parameters.get("notes") or []],
    })
