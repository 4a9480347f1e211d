"""Two renders that need the same recipe at the same moment (two workers of a pool, a dashboard film job beside a CLI
render): the database keeps one take, both renders use it, and the take is filmed once. Real threads on a real
database file (or PostgreSQL), started together at a barrier."""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.generate.takes import Recipe, _record, render_take
from aigms.production.store import assets
from aigms.schemas.shotlist import Shot
from builders import tiny_series

Result = TypeVar("Result")


def at_once(work: Callable[[], Result], renders: int = 2) -> list[Result]:
    """`work` run by `renders` threads released together; every thread's error raised here."""
    barrier = threading.Barrier(renders)
    results: list[Result] = []
    errors: list[BaseException] = []

    def render() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=render) for _ in range(renders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return results


@pytest.mark.database
def test_two_renders_recording_the_same_recipe_at_once_share_one_take(database_url: str) -> None:
    engine = open_database(database_url)
    for attempt in range(12):  # a race is a matter of timing: several rounds, each a fresh recipe
        recipe = Recipe.of({"kind": models.TAKE_CLIP, "shot": {"id": "010"}, "seed": attempt})
        ids = at_once(lambda: _record(engine, recipe, "animatic", attempt, None, models.TAKE_RUNNING))
        assert len(ids) == 2 and ids[0] == ids[1]
        with session_scope(engine) as session:
            rows = session.scalars(select(models.Take).where(models.Take.recipe_sha256 == recipe.sha256)).all()
            assert [(row.id, row.status) for row in rows] == [(ids[0], models.TAKE_RUNNING)]


@pytest.mark.database
def test_two_renders_filming_the_same_shot_at_once_film_it_once(tmp_path: Path, database_url: str) -> None:
    series = tiny_series(tmp_path / "series", 160, 90)
    shot = Shot(id="010", scene=1, kind="action", location="lab", characters=["lin"], text="Lin waits.",
                duration=1.0)
    engine, store = open_database(database_url), tmp_path / "store"
    first, second = at_once(lambda: render_take(engine, store, series, shot, None))
    assert first.take_id == second.take_id
    assert sorted([first.reused, second.reused]) == [False, True]  # one filmed it, the other waited and found it
    assert first.clip == second.clip and assets.sha256_file(first.clip) == first.clip_sha256
    with session_scope(engine) as session:
        take = session.scalars(select(models.Take)).one()
        assert (take.id, take.status, take.asset.sha256) == (first.take_id, models.TAKE_OK, first.clip_sha256)
        assert session.scalar(select(func.count()).select_from(models.ModelCall)) == 1
        assert session.scalars(select(models.RenderLock)).all() == []  # the claim is let go
