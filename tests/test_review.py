"""Review rules on a real SQLite file: who may decide, what a decision writes, and how a rejection becomes a retake
that the next render answers."""

from pathlib import Path

import pytest
from sqlalchemy import select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production import review
from aigms.production.review.reviews import Reviewer, ReviewError
from aigms.schemas.errors import InputError
from aigms.schemas.shotlist import Segment, Shot, ShotList

pytestmark = pytest.mark.database

DIRECTOR = Reviewer("mei", "director")


@pytest.fixture
def engine(tmp_path: Path, database_url: str):
    engine = open_database(database_url)
    with session_scope(engine) as session:
        session.add(models.Series(id="show", title="Show", language="en", root=str(tmp_path), bible={},
                                  bible_sha256="0" * 64))
        session.flush()
        session.add(models.Season(id=1, series_id="show", number=1))
        session.flush()
        session.add(models.Episode(id=1, series_id="show", season_id=1, code="s01e01", language="en",
                                   script_path="e.fountain", script_sha256="0" * 64))
        session.flush()
        session.add(models.Shot(id=1, episode_id=1, code="010", position=0, kind="action", spec={"text": "x"},
                                spec_sha256="0" * 64, duration=2.0))
        session.flush()
        for take_id in (1, 2):
            session.add(models.Take(id=take_id, shot_id=1, recipe_sha256=str(take_id) * 64, recipe={},
                                    generator="animatic", seed=0, status=models.TAKE_OK))
        session.flush()
        session.get(models.Shot, 1).selected_take_id = 1
    return engine


def shot_status(engine) -> str:
    with session_scope(engine) as session:
        return session.get(models.Shot, 1).status


def test_rejecting_a_take_queues_a_retake_with_the_note(engine) -> None:
    with session_scope(engine) as session:
        review.review_take(session, DIRECTOR, 1, review.REJECT, "  the lantern should be lit  ")
    with session_scope(engine) as session:
        retake = session.scalars(select(models.Retake)).one()
        written = session.get(models.Review, retake.review_id)
        assert (retake.shot_id, retake.rejected_take_id, retake.note, retake.filled_take_id) == (
            1, 1, "the lantern should be lit", None)
        assert (written.target_type, written.target_id, written.status, written.author) == (
            "take", 1, models.STATUS_RETAKE, "mei")
    assert shot_status(engine) == models.STATUS_RETAKE


def test_a_rejection_needs_a_note(engine) -> None:
    with pytest.raises(ReviewError, match="needs a note"):
        with session_scope(engine) as session:
            review.review_take(session, DIRECTOR, 1, review.REJECT, "   ")
    with session_scope(engine) as session:
        assert session.scalars(select(models.Review)).all() == []


@pytest.mark.parametrize("role", ["viewer", "artist"])
def test_only_directors_and_admins_decide(engine, role: str) -> None:
    with pytest.raises(PermissionError, match="only directors and admins"):
        with session_scope(engine) as session:
            review.review_take(session, Reviewer("kai", role), 1, review.APPROVE)
    with session_scope(engine) as session:
        assert session.scalars(select(models.Review)).all() == []
    assert shot_status(engine) == models.STATUS_TODO


def test_approving_a_take_selects_it_and_answers_the_open_retake(engine) -> None:
    with session_scope(engine) as session:
        review.review_take(session, DIRECTOR, 1, review.REJECT, "too dark")
    with session_scope(engine) as session:
        review.review_take(session, Reviewer("ada", "admin"), 2, review.APPROVE)
    with session_scope(engine) as session:
        shot = session.get(models.Shot, 1)
        assert (shot.status, shot.selected_take_id) == (models.STATUS_DONE, 2)
        assert session.scalars(select(models.Retake.filled_take_id)).one() == 2


def test_approving_a_shot_list_records_the_hash_it_approved(engine) -> None:
    with pytest.raises(InputError, match="has no shot list yet"):
        with session_scope(engine) as session:
            review.review_shotlist(session, DIRECTOR, 1, review.APPROVE)
    with session_scope(engine) as session:
        session.get(models.Episode, 1).shotlist_sha256 = "a" * 64
    with session_scope(engine) as session:
        review.review_shotlist(session, DIRECTOR, 1, review.APPROVE, "good coverage")
    with session_scope(engine) as session:
        episode = session.get(models.Episode, 1)
        assert (episode.shotlist_approved_sha256, episode.shotlist_approved_by) == ("a" * 64, "mei")
        assert episode.shotlist_approved_at is not None
        written = session.scalars(select(models.Review)).one()
        assert (written.target_type, written.target_id, written.note) == ("shotlist", 1, "good coverage")


def test_retake_notes_join_the_prompt_of_the_shot_and_its_segments(engine) -> None:
    with session_scope(engine) as session:
        review.review_take(session, DIRECTOR, 1, review.REJECT, "light the lantern")
        review.review_take(session, DIRECTOR, 1, review.REJECT, "slower push-in")
    shot = Shot(id="010", scene=1, kind="action", text="Zhou enters.", duration=2.0, prompt="Zhou enters the lab.",
                segments=[Segment(index=0, start=0, duration=2.0, mode="t2v", prompt="Zhou enters the lab.")])
    untouched = Shot(id="020", scene=1, kind="action", text="Kai hovers.", duration=2.0, prompt="Kai hovers.")
    shotlist = ShotList(series="show", episode="s01e01", language="en", fps=24, shots=[shot, untouched])
    with session_scope(engine) as session:
        planned = review.with_retake_notes(session, shotlist, {"010": 1, "020": 99})
    expected = ("Zhou enters the lab.\nDirector's notes for this retake:\n- light the lantern\n- slower push-in")
    assert planned.shots[0].prompt == expected
    assert planned.shots[0].segments[0].prompt == expected
    assert planned.shots[1] == untouched


def test_a_render_answers_a_retake_only_with_a_new_take(engine) -> None:
    with session_scope(engine) as session:
        review.review_take(session, DIRECTOR, 1, review.REJECT, "too dark")
    with session_scope(engine) as session:
        review.submit_for_approval(session, 1)
    assert shot_status(engine) == models.STATUS_RETAKE
    with session_scope(engine) as session:
        session.get(models.Shot, 1).selected_take_id = 2
    with session_scope(engine) as session:
        assert review.submit_for_approval(session, 1) == 1
    with session_scope(engine) as session:
        assert session.scalars(select(models.Retake.filled_take_id)).one() == 2
    assert shot_status(engine) == models.STATUS_WAITING


def test_an_approved_shot_stays_done_until_its_take_changes(engine) -> None:
    with session_scope(engine) as session:
        review.review_take(session, DIRECTOR, 1, review.APPROVE)
    with session_scope(engine) as session:
        assert review.submit_for_approval(session, 1) == 0
    assert shot_status(engine) == models.STATUS_DONE
    with session_scope(engine) as session:
        session.get(models.Shot, 1).selected_take_id = 2
        review.submit_for_approval(session, 1)
    assert shot_status(engine) == models.STATUS_WAITING
