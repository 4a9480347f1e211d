"""Prefect cache keys for the episode's tasks: each key is the content hash of what the task reads (the bytes of
reference images and recordings, the hashes of the takes and lines a cut is made of), never of file paths alone or
of the time, so a re-render redoes exactly the tasks a change touches. Keys also name the database and the asset
store, whose rows and files a cached result points at, the retakes asked of a shot, and the code that made it."""

import hashlib
from functools import cache
from collections.abc import Iterator
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from prefect.context import TaskRunContext
from sqlalchemy import select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.flows import settings
from aigms.production import generate
from aigms.production.generate.generators import generator_for
from aigms.production.post import voice
from aigms.production.store import assets
from aigms.production.store.assets import canonical_sha256
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

CODE_PACKAGES = ("aigms.production", "aigms.flows", "aigms.schemas", "aigms.db")


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


def _retakes(database_url: str, shot_row_id: int) -> list[int]:
    with session_scope(open_database(database_url)) as session:
        return list(session.scalars(select(models.Retake.id).filter_by(shot_id=shot_row_id).order_by(models.Retake.id)))


def _series(series: Series) -> dict[str, Any]:
    """The bible without its episode list, schedules, prices and budgets: none of them changes a picture."""
    return series.model_dump(mode="json", exclude={"episodes", "schedules", "costs", "budget"})


def _file_sha256(path: Path) -> str | None:
    return assets.sha256_file(path) if path.is_file() else None


def _references(series: Series, shot: Shot) -> dict[str, str | None]:
    paths = [reference for key in shot.characters if key in series.characters
             for reference in series.characters[key].references]
    if shot.location in series.locations:
        paths += series.locations[shot.location].references
    return {str(path): _file_sha256(series.root / path) for path in paths}


def film_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    series, shot = parameters["series"], parameters["shot"]
    return "film-" + canonical_sha256({
        "release": _release(), "database": parameters["database_url"], "store": str(parameters["store"]),
        "series": _series(series), "shot": shot.filmed(), "note": shot.note, "row": parameters["shot_row_id"],
        "retakes": _retakes(parameters["database_url"], parameters["shot_row_id"]),
        "takes": parameters["takes"], "references": _references(series, shot),
        "generator": generator_for(shot, series).identity(),  # a workflow file edited in place is another camera
    })


def _recipe_key(kind: str, parameters: dict[str, Any], recipe: dict[str, Any]) -> str:
    """A keyframe and a take are keyed by their recipe, the hash the asset store already finds them by: a code
    upgrade that leaves a recipe alone films nothing again."""
    return f"{kind}-" + canonical_sha256({
        "database": parameters["database_url"], "store": str(parameters["store"]), "recipe": canonical_sha256(recipe)})


def keyframe_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    return _recipe_key("keyframe", parameters, generate.keyframe_recipe(
        parameters["shot"], parameters["series"], parameters["seed"], parameters["generator"]))


def take_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    keyframe = parameters["keyframe"]
    return _recipe_key("take", parameters, generate.take_recipe(
        parameters["shot"], parameters["series"], parameters["seed"], parameters["generator"],
        keyframe.clip_sha256 if keyframe else None))


def check_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """A take's checks read its pixels, the shot it should show (cast, length) and the thresholds."""
    take = parameters["take"]
    return "check-" + canonical_sha256({
        "release": _release(), "database": parameters["database_url"], "series": _series(parameters["series"]),
        "shot": parameters["shot"].filmed(), "take": (take.take_id, take.clip_sha256),
    })


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
