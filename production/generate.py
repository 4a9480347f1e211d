"""Filming a shot: a take is identified by the hash of everything that made it (shot, generator and its version,
seed, the bytes of every reference image), so the same inputs find the existing take instead of rendering again."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production import assets, media
from aigms.production.files import atomic_path
from aigms.production.generators import load_backend
from aigms.production.ingest import canonical_sha256
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot


@dataclass(frozen=True)
class RenderedTake:
    shot_id: str
    take_id: int
    recipe_sha256: str
    clip: Path
    clip_sha256: str
    reused: bool


def take_recipe(shot: Shot, series: Series, seed: int) -> dict[str, Any]:
    """Everything that decides the pixels of a take, and nothing else (not file paths, not the time of day)."""
    backend = load_backend(series.generator.backend)
    references: dict[str, str] = {}
    for key in shot.characters:
        for reference in series.characters[key].references:
            references[f"character:{key}:{reference}"] = assets.sha256_file(series.root / reference)
    if shot.location:
        for reference in series.locations[shot.location].references:
            references[f"location:{shot.location}:{reference}"] = assets.sha256_file(series.root / reference)
    return {
        "generator": series.generator.backend,
        "generator_version": backend.VERSION,
        "options": series.generator.options,
        "seed": seed,
        "style": series.style,
        "delivery": series.delivery.model_dump(mode="json"),
        "shot": shot.filmed(),
        "cast": {key: series.characters[key].model_dump(mode="json") for key in shot.characters},
        "location": series.locations[shot.location].model_dump(mode="json") if shot.location else None,
        "references": references,
    }


def find_take(engine: Engine, store: Path, recipe_sha256: str) -> RenderedTake | None:
    with session_scope(engine) as session:
        take = session.scalar(select(models.Take).where(models.Take.recipe_sha256 == recipe_sha256))
        if take is None or take.status != models.TAKE_OK or take.asset is None:
            return None
        if not assets.has_file(store, take.asset):
            return None
        shot_code = take.recipe["shot"]["id"]
        return RenderedTake(shot_code, take.id, recipe_sha256, assets.asset_file(store, take.asset),
                            take.asset.sha256, reused=True)


def render_take(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None,
                seed: int | None = None) -> RenderedTake:
    """Render the shot unless a take of the same recipe exists; either way it becomes the shot's selected take."""
    seed = series.generator.seed if seed is None else seed
    recipe = take_recipe(shot, series, seed)
    recipe_sha256 = canonical_sha256(recipe)
    found = find_take(engine, store, recipe_sha256)
    if found is None:
        backend = load_backend(series.generator.backend)
        started = time.perf_counter()
        clip = assets.scratch_dir(store) / f"{recipe_sha256}.mp4"
        with atomic_path(clip) as temporary:
            backend.render(shot, series, temporary, seed)
        elapsed = time.perf_counter() - started
        info = media.probe(clip)
        with session_scope(engine) as session:
            asset = assets.put_file(session, store, clip, "clip", info.as_dict())
            take = session.scalar(select(models.Take).where(models.Take.recipe_sha256 == recipe_sha256))
            if take is None:
                take = models.Take(recipe_sha256=recipe_sha256)
                session.add(take)
            take.shot_id, take.recipe, take.generator, take.seed = shot_row_id, recipe, series.generator.backend, seed
            take.status, take.failure_reason, take.asset_id, take.render_seconds = models.TAKE_OK, None, asset.id, elapsed
            session.flush()
            found = RenderedTake(shot.id, take.id, recipe_sha256, assets.asset_file(store, asset), asset.sha256,
                                 reused=False)
            _select(session, shot_row_id, take.id)
        return found
    with session_scope(engine) as session:
        _select(session, shot_row_id, found.take_id)
    return found


def _select(session: Any, shot_row_id: int | None, take_id: int) -> None:
    if shot_row_id is None:
        return
    shot = session.get(models.Shot, shot_row_id)
    if shot.selected_take_id != take_id:
        shot.selected_take_id = take_id
