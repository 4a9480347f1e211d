"""The project database on real SQLite files and on a real PostgreSQL server: migrations (an older release's
database upgrades with its rows), constraints, cascades and one transaction per change."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from aigms.db import models
from aigms.db.session import alembic_config, open_database, session_scope
from databases import empty_database_url

pytestmark = pytest.mark.database


def newest_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """An empty database: opening it runs every migration."""
    return empty_database_url(tmp_path)


@pytest.fixture
def engine(database_url: str):
    return open_database(database_url)


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


def test_opening_migrates_to_head(engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"series", "seasons", "episodes", "scenes", "characters", "locations", "shots", "takes", "assets",
            "qc_results", "reviews", "render_runs", "dialogue_lines", "alembic_version"} <= tables
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == newest_revision()


def test_sqlite_opens_in_wal_mode(tmp_path: Path) -> None:
    with open_database(f"sqlite:///{tmp_path / 'aigms.db'}").connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_database_made_by_the_first_release_upgrades_with_its_rows(database_url: str) -> None:
    old = create_engine(database_url)
    with old.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with old.begin() as connection:
        connection.execute(text(
            "INSERT INTO series (id, title, language, root, bible, bible_sha256, created_at, updated_at) "
            "VALUES ('show', 'Show', 'en', '/x', '{}', :zero, :now, :now)"), {"zero": "0" * 64, "now": "2026-01-01"})
        connection.execute(text("INSERT INTO seasons (id, series_id, number) VALUES (7, 'show', 1)"))
        connection.execute(text(
            "INSERT INTO episodes (id, series_id, season_id, code, title, language, script_path, script_sha256, "
            "status) VALUES (3, 'show', 7, 's01e01', 'Pilot', 'en', 'e.fountain', :zero, 'draft')"), {"zero": "0" * 64})
        connection.execute(text(
            "INSERT INTO shots (id, episode_id, code, position, kind, spec, spec_sha256, duration, status) "
            "VALUES (5, 3, '010', 0, 'action', '{\"text\": \"The hum deepens.\"}', :zero, 2.5, 'planned')"),
            {"zero": "0" * 64})
        connection.execute(text(
            "INSERT INTO takes (id, shot_id, recipe_sha256, recipe, generator, seed, status, created_at) "
            "VALUES (9, 5, :recipe, '{}', 'animatic', 42, 'ok', :now)"), {"recipe": "a" * 64, "now": "2026-01-01"})
    old.dispose()
    engine = open_database(database_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == newest_revision()
    with session_scope(engine) as session:
        episode = session.get(models.Episode, 3)
        assert (episode.code, episode.title, episode.series.title) == ("s01e01", "Pilot", "Show")
        assert [(shot.code, shot.spec, shot.duration) for shot in episode.shots] == [
            ("010", {"text": "The hum deepens."}, 2.5)]
        take = session.get(models.Take, 9)
        assert (take.shot_id, take.recipe_sha256, take.seed) == (5, "a" * 64, 42)


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


def test_two_changes_that_read_then_write_at_once_both_land(engine) -> None:
    """Two filming tasks in one process: each reads, then writes. The second writer must wait its turn, not fail
    with 'database is locked' because the first committed after it read."""
    import threading

    first_has_read, second_is_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        first_has_read.wait()
        try:
            with session_scope(engine) as session:
                session.add(models.Asset(sha256="b" * 64, kind="clip", path="b", size=1))
        except BaseException as error:
            errors.append(error)
        finally:
            second_is_done.set()

    writer = threading.Thread(target=second)
    writer.start()
    with session_scope(engine) as session:
        session.scalar(select(func.count()).select_from(models.Asset))
        first_has_read.set()
        second_is_done.wait(timeout=2)
        session.add(models.Asset(sha256="a" * 64, kind="clip", path="a", size=1))
    writer.join()
    assert errors == []
    with session_scope(engine) as session:
        assert sorted(session.scalars(select(models.Asset.sha256))) == ["a" * 64, "b" * 64]
