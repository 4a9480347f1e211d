"""The walking skeleton end to end: a series folder in, playable subtitled episodes out, and nothing rendered twice."""

import json
from collections.abc import Iterator
import shutil
from pathlib import Path

import pysubs2
import pytest
from databases import fresh_database_url
from sqlalchemy import func, select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production import settings
from aigms.flows.episode import render_episode
from aigms.production.bible import load_series
from aigms.production.storyboard.board import filmed_clips, write_board
from aigms.production.storyboard.ingest import load_shotlist
from aigms.production.store.media import probe
from aigms.schemas.errors import InputError
from aigms.schemas.manifest import Manifest

pytestmark = pytest.mark.database

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"


def small_copy(destination: Path) -> Path:
    """The example series at a small delivery size, so pipeline behaviour is tested in seconds."""
    shutil.copytree(EXAMPLE, destination)
    bible = destination / "series.yaml"
    bible.write_text(bible.read_text().replace("width: 1920", "width: 320").replace("height: 1080", "height: 180"))
    return destination


def take_count(database_url: str) -> int:
    with session_scope(open_database(database_url)) as session:
        return session.scalar(select(func.count()).select_from(models.Take))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, prefect: None) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("pipeline")
    series = small_copy(root / "series")
    home, out = root / "home", root / "out"
    database_url = fresh_database_url(home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        result = render_episode(str(series), "s01e02", str(out), str(home), force=True)
        yield {"series": series, "home": home, "out": out, "result": result, "database": database_url}


def test_episode_has_picture_and_sound_at_the_delivery_spec(rendered: dict) -> None:
    manifest = Manifest.model_validate_json(rendered["result"].manifest.read_text())
    info = probe(rendered["result"].video)
    assert (info.video_codec, info.width, info.height, info.fps) == ("h264", 320, 180, 30)
    assert info.audio_codec == "aac"
    assert abs(info.duration - manifest.duration) <= 0.1
    assert manifest.duration == pytest.approx(sum(shot.duration for shot in manifest.shots))


def test_subtitles_carry_the_scripts_lines_inside_the_video(rendered: dict) -> None:
    subs = pysubs2.load(str(rendered["result"].subtitles))
    duration = probe(rendered["result"].video).duration
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


def test_manifest_lists_every_shot_with_the_hashes_of_its_files(rendered: dict) -> None:
    result = rendered["result"]
    manifest = json.loads(result.manifest.read_text())
    assert [shot["id"] for shot in manifest["shots"]] == [f"{10 * n:03d}" for n in range(1, 12)]
    import hashlib

    for name in ("video", "subtitles"):
        entry = manifest["outputs"][name]
        data = (result.folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_uncast_extra_is_a_warning_with_its_line(rendered: dict) -> None:
    assert any("s01e02.fountain:30" in warning and "GUARD" in warning for warning in rendered["result"].warnings)


def test_second_render_regenerates_no_clip(rendered: dict) -> None:
    before = take_count(rendered["database"])
    again = render_episode(str(rendered["series"]), "s01e02", str(rendered["out"]), str(rendered["home"]),
                           force=True)
    assert (again.rendered, again.reused) == (0, 11)
    assert take_count(rendered["database"]) == before


def test_changing_one_line_regenerates_only_its_shot(rendered: dict) -> None:
    script = rendered["series"] / "episodes" / "s01e02.fountain"
    text = script.read_text()
    script.write_text(text.replace("Then it is counting.", "Then it is keeping time."))
    before = take_count(rendered["database"])
    try:
        again = render_episode(str(rendered["series"]), "s01e02", str(rendered["out"]), str(rendered["home"]),
                           force=True)
    finally:
        script.write_text(text)
    assert (again.rendered, again.reused) == (1, 10)
    assert take_count(rendered["database"]) == before + 1
    subs = pysubs2.load(str(again.subtitles))
    assert "Then it is keeping time." in [line.plaintext for line in subs]


def test_render_runs_are_recorded(rendered: dict) -> None:
    with session_scope(open_database(rendered["database"])) as session:
        runs = session.scalars(select(models.RenderRun).order_by(models.RenderRun.id)).all()
        assert runs[0].status == models.RUN_COMPLETED
        assert (runs[0].shots_total, runs[0].shots_rendered) == (11, 11)


def test_an_unapproved_shot_list_is_not_rendered(rendered: dict) -> None:
    before = take_count(rendered["database"])
    with pytest.raises(InputError, match="shot list of s01e02 is not approved"):
        render_episode(str(rendered["series"]), "s01e02", str(rendered["out"]), str(rendered["home"]))
    assert take_count(rendered["database"]) == before


def test_inserting_a_line_films_only_the_new_shot_and_numbers_it_between(rendered: dict) -> None:
    script = rendered["series"] / "episodes" / "s01e02.fountain"
    text = script.read_text()
    script.write_text(text.replace("Then it is counting.\n", "Then it is counting.\n\nThe hum deepens.\n"))
    try:
        again = render_episode(str(rendered["series"]), "s01e02", str(rendered["out"]), str(rendered["home"]),
                               force=True)
    finally:
        script.write_text(text)
    assert (again.rendered, again.reused) == (1, 11)
    manifest = json.loads(again.manifest.read_text())
    assert [shot["id"] for shot in manifest["shots"]][4:7] == ["050", "055", "060"]


def test_storyboard_panels_show_the_filmed_takes(rendered: dict, tmp_path: Path) -> None:
    home = rendered["home"]
    series = load_series(rendered["series"])
    with session_scope(open_database(settings.database(home))) as session:
        episode = session.scalar(select(models.Episode).filter_by(code="s01e02"))
        shotlist = load_shotlist(session, episode)
        clips = filmed_clips(session, settings.store(home), episode)
    html = write_board(series, shotlist, tmp_path / "board.html", clips, None).read_text()
    assert len(clips) == len(shotlist.shots) >= 11
    assert html.count("(take)") == len(shotlist.shots) and "(animatic)" not in html
