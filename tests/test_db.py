"""The project database on real SQLite files: migrations, constraints, cascades and one transaction per change."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from aigms.db import models
from aigms.db.session import alembic_config, open_database, session_scope


def newest_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@pytest.fixture
def engine(tmp_path: Path):
    return open_database(f"sqlite:///{tmp_path / 'aigms.db'}")


def episode_with_shots(session, shots: int = 2) -> models.Episode:
    session.add(models.Series(id="show", title="Show", language="en", root="/x", bible={}, bible_sha256="0" * 64))
    session.flush()
    season = models.Season(series_id="show", number=1)
    session.add(season)
    session.flush()
    episode = models.Episode(series_id="show", season_id=season.id, code="s01e01", language="en",
                             script_path="e.fountain", script_sha256="0" * 64)
    session.add(episode)
    session.flush()
    scene = models.Scene(episode_id=episode.id, index=1, heading="INT. LAB", line=1)
    session.add(scene)
    session.flush()
    for number in range(shots):
        session.add(models.Shot(episode_id=episode.id, scene_id=scene.id, code=f"{10 * (number + 1):03d}",
                                position=number, kind="action", spec={}, spec_sha256="0" * 64, duration=2.0))
    session.flush()
    return episode


def test_opening_migrates_to_head_in_wal_mode(engine, tmp_path: Path) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"series", "seasons", "episodes", "scenes", "characters", "locations", "shots", "takes", "assets",
            "qc_results", "reviews", "render_runs", "dialogue_lines", "alembic_version"} <= tables
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == newest_revision()


def test_migration_matches_the_models(engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), models.Base.metadata) == []


def test_same_recipe_cannot_be_two_takes(engine) -> None:
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            for _ in range(2):
                session.add(models.Take(recipe_sha256="a" * 64, recipe={}, generator="animatic", seed=1))
            session.flush()


def test_a_failed_change_leaves_nothing_behind(engine) -> None:
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            episode_with_shots(session)
            raise RuntimeError("the render died")
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Series)) == 0


def test_deleting_an_episode_removes_its_scenes_and_shots(engine) -> None:
    with session_scope(engine) as session:
        episode_id = episode_with_shots(session, shots=3).id
    with session_scope(engine) as session:
        assert len(session.get(models.Episode, episode_id).shots) == 3
        session.delete(session.get(models.Episode, episode_id))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Shot)) == 0
        assert session.scalar(select(func.count()).select_from(models.Scene)) == 0


def test_a_take_outlives_its_deleted_shot(engine) -> None:
    with session_scope(engine) as session:
        episode = episode_with_shots(session, shots=1)
        take = models.Take(shot_id=episode.shots[0].id, recipe_sha256="b" * 64, recipe={}, generator="animatic",
                           seed=1, status=models.TAKE_OK)
        session.add(take)
        session.flush()
        episode.shots[0].selected_take_id = take.id
    with session_scope(engine) as session:
        session.delete(session.scalars(select(models.Shot)).one())
    with session_scope(engine) as session:
        survivor = session.scalars(select(models.Take)).one()
        assert (survivor.recipe_sha256, survivor.shot_id) == ("b" * 64, None)
