"""The walking skeleton end to end: a series folder in, playable subtitled episodes out, and nothing rendered twice.
The episode is the session's one render (`studio`); rendering it again, and after a one-line edit, works on a
copy, and is followed through Prefect's API task by task."""

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pysubs2
import pytest
from sqlalchemy import func, select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.flows.episode import EpisodeResult
from aigms.production import storyboard
from aigms.production.bible import load_series
from aigms.production.storyboard.board import filmed_clips, write_board
from aigms.production.storyboard.ingest import load_shotlist
from aigms.production.store.media import probe
from aigms.schemas.errors import InputError
from aigms.schemas.manifest import Manifest
from databases import fresh_database_url
from episode import Studio, one_scene_copy


def take_count(database_url: str) -> int:
    with session_scope(open_database(database_url)) as session:
        return session.scalar(select(func.count()).select_from(models.Take))


def test_episode_has_picture_and_sound_at_the_delivery_spec(studio: Studio) -> None:
    manifest = Manifest.model_validate_json(studio.result.manifest.read_text())
    info = probe(studio.result.video)
    assert (info.video_codec, info.width, info.height, info.fps) == ("h264", 320, 180, 30)
    assert info.audio_codec == "aac"
    assert abs(info.duration - manifest.duration) <= 0.1
    assert manifest.duration == pytest.approx(sum(shot.duration for shot in manifest.shots))


def test_subtitles_carry_the_scripts_lines_inside_the_video(studio: Studio) -> None:
    subs = pysubs2.load(str(studio.result.subtitles))
    duration = probe(studio.result.video).duration
    assert [line.plaintext.replace("\n", " ") for line in subs] == [
        "How long has it been doing that?",
        "Four hours and twelve minutes. The pattern repeats every seven seconds.",
        "Then it is counting.",
        "It is answering the mask.",
        "Nobody is allowed in here after dark!",
        "Too late for that.",
    ]
    assert all(0 <= line.start < line.end <= duration * 1000 for line in subs)
    assert all(a.end <= b.start for a, b in zip(subs, subs[1:]))


def test_manifest_lists_every_shot_with_the_hashes_of_its_files(studio: Studio) -> None:
    manifest = json.loads(studio.result.manifest.read_text())
    assert [shot["id"] for shot in manifest["shots"]] == [f"{10 * n:03d}" for n in range(1, 12)]
    for name in ("video", "subtitles"):
        entry = manifest["outputs"][name]
        data = (studio.result.folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_uncast_extra_is_a_warning_with_its_line(studio: Studio) -> None:
    assert any("s01e02.fountain:30" in warning and "GUARD" in warning for warning in studio.result.warnings)


@pytest.mark.database
def test_render_runs_are_recorded(studio: Studio) -> None:
    with session_scope(open_database(studio.database_url)) as session:
        runs = session.scalars(select(models.RenderRun).order_by(models.RenderRun.id)).all()
        assert runs[0].status == models.RUN_COMPLETED
        assert (runs[0].shots_total, runs[0].shots_rendered) == (11, 11)


@pytest.mark.database
def test_an_unapproved_shot_list_is_not_filmed(studio: Studio) -> None:
    """The gate before any GPU time; `aigms render` refusing it, with exit status 1, is in test_cli."""
    before = take_count(studio.database_url)
    with pytest.raises(InputError, match="shot list of s01e02 is not approved"):
        storyboard.plan_episode(open_database(studio.database_url), load_series(studio.series), "s01e02")
    assert take_count(studio.database_url) == before


def test_storyboard_panels_show_the_filmed_takes(studio: Studio, tmp_path: Path) -> None:
    series = load_series(studio.series)
    with session_scope(open_database(studio.database_url)) as session:
        episode = session.scalar(select(models.Episode).filter_by(code="s01e02"))
        shotlist = load_shotlist(session, episode)
        clips = filmed_clips(session, studio.store, episode)
    html = write_board(series, shotlist, tmp_path / "board.html", clips, None).read_text()
    assert len(clips) == len(shotlist.shots) >= 11
    assert html.count("(take)") == len(shotlist.shots) and "(animatic)" not in html


# Rendering again: one copy of the studio, rendered once on its own database and store by the fixture, then again
# as each test says.


def task_runs(flow_run_id: object, expected: int) -> list:
    """Every task run of a flow run as Prefect's API (and its UI) shows it; task run states reach the server as
    events, so this waits until all `expected` have arrived in a final state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        for _ in range(600):
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            if len(runs) >= expected and all(run.state and run.state.is_final() for run in runs):
                break
            time.sleep(0.1)
    return runs


def states(runs: list) -> dict[str, list[str]]:
    by_task: dict[str, list[str]] = {}
    for run in runs:
        by_task.setdefault(run.name.rsplit("-", 1)[0], []).append(run.state.name)
    return {name: sorted(names) for name, names in by_task.items()}


def render_states(studio: Studio, expected: int) -> tuple[EpisodeResult, dict[str, list[str]]]:
    """Render s01e02 of the studio again; its result and the final state of each of its task runs, by task."""
    from aigms.flows.episode import render_episode

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", studio.database_url)
        patch.setenv("AIGMS_WHISPER", "none")
        state = render_episode(str(studio.series), "s01e02", str(studio.out), str(studio.home), force=True,
                               return_state=True)
    return state.result(_sync=True), states(task_runs(state.state_details.flow_run_id, expected))


@dataclass(frozen=True)
class Again:
    studio: Studio
    takes_before: int
    result: EpisodeResult
    ran: dict[str, list[str]]


@pytest.fixture(scope="module")
def again(pristine: Studio, tmp_path_factory: pytest.TempPathFactory, prefect: None) -> Again:
    studio = pristine.copy(tmp_path_factory.mktemp("again"))
    before = take_count(studio.database_url)
    return Again(studio, before, *render_states(studio, 1 + 6 + 2 + 1 + 1))


@pytest.mark.database
def test_a_second_render_films_no_shot(again: Again) -> None:
    assert (again.result.rendered, again.result.reused) == (0, 11)
    assert take_count(again.studio.database_url) == again.takes_before
    assert "film_take" not in again.ran and "check_take" not in again.ran


def test_an_unchanged_render_runs_no_task_that_makes_anything(again: Again) -> None:
    """Near-instant: the takes are found by their recipes, without a task; the lines, the checks and the cut are
    Prefect's cache; the sound and what was heard of the lines are found in the store."""
    video = again.result.video.stat()
    result, ran = render_states(again.studio, 1 + 6 + 2 + 1 + 1)
    assert ran == {"plan_episode": ["Completed"], "record_line": ["Cached"] * 6, "mix_sound": ["Completed"],
                   "hear_dialogue": ["Completed"], "check_across_shots": ["Cached"], "cut_episode": ["Cached"]}
    assert (result.video.stat().st_ino, result.video.stat().st_mtime_ns) == (video.st_ino, video.st_mtime_ns)


def test_changing_one_line_films_only_its_shot(again: Again) -> None:
    script = again.studio.series / "episodes" / "s01e02.fountain"
    script.write_text(script.read_text().replace("Then it is counting.", "Then it is keeping time."))
    before = take_count(again.studio.database_url)
    result, ran = render_states(again.studio, 1 + 3 + 6 + 2 + 1 + 1)
    assert (result.rendered, result.reused) == (1, 10)
    assert take_count(again.studio.database_url) == before + 1
    assert ran == {"plan_episode": ["Completed"], "film_shot": ["Completed"], "film_take": ["Completed"],
                   "check_take": ["Completed"], "record_line": ["Cached"] * 5 + ["Completed"],
                   "mix_sound": ["Completed"], "hear_dialogue": ["Completed"], "check_across_shots": ["Completed"],
                   "cut_episode": ["Completed"]}
    assert "Then it is keeping time." in [line.plaintext for line in pysubs2.load(str(result.subtitles))]


def test_inserting_a_line_films_only_the_new_shot_and_numbers_it_between(again: Again) -> None:
    script = again.studio.series / "episodes" / "s01e02.fountain"
    script.write_text(re.sub(r"(Then it is (counting|keeping time)\.\n)", r"\1\nThe hum deepens.\n",
                             script.read_text(), count=1))
    result = again.studio.render()
    assert (result.rendered, result.reused) == (1, 11)
    manifest = json.loads(result.manifest.read_text())
    assert [shot["id"] for shot in manifest["shots"]][4:7] == ["050", "055", "060"]


def test_a_render_of_some_shots_of_an_episode_never_filmed_whole_delivers_nothing_and_says_why(
        tmp_path: Path, prefect: None) -> None:
    from aigms.flows.episode import render_episode

    database_url = fresh_database_url(tmp_path / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        patch.setenv("AIGMS_WHISPER", "none")
        result = render_episode(str(one_scene_copy(tmp_path / "series")), "s01e02", str(tmp_path / "out"),
                                str(tmp_path / "home"), force=True, shots=["010"])
    why = "no cut of s01e02 yet: shots 020, 030, 040, 050, 060 have no take to cut in"
    assert (result.video, result.subtitles, result.manifest, result.rendered) == (None, None, None, 1)
    assert result.warnings[-1] == why
    assert not (tmp_path / "out" / "bronze-echoes" / "s01e02").exists()
    with session_scope(open_database(database_url)) as session:
        run = session.scalars(select(models.RenderRun)).one()
        assert (run.status, run.message, run.shots_rendered) == (models.RUN_COMPLETED, why, 1)
        assert session.scalar(select(func.count()).select_from(models.Take)) == 1
