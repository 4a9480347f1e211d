"""An episode's delivery folder as a platform and an editor receive it, from the session's rendered episode (the
real flow): a studio recording that says the wrong sentence, the OTIO timeline and its EDL and FCP XML, a manifest
that validates against its JSON Schema and renders the same picture again."""

import json
from pathlib import Path

import jsonschema
import opentimelineio as otio
import pysubs2
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.deliver import interchange
from aigms.production.store import assets, media
from aigms.schemas.manifest import Manifest
from episode import WRONG_LINE, WRONG_SHOT, Studio

@pytest.fixture(scope="module")
def delivered(studio: Studio) -> dict:
    """The session's rendered episode as it was delivered: its folder and its manifest."""
    manifest = Manifest.model_validate_json(studio.result.manifest.read_text())
    return {"root": studio.out.parent, "home": studio.home, "database": studio.database_url, "result": studio.result,
            "folder": studio.result.folder, "manifest": manifest}


def test_the_wrongly_recorded_line_is_flagged_but_subtitled_as_written(delivered: dict) -> None:
    lines = {check.line: check for check in delivered["manifest"].lines}
    assert lines[WRONG_LINE].source == "recorded" and lines[WRONG_LINE].flagged
    assert [line for line, check in lines.items() if check.flagged] == [WRONG_LINE]
    assert any(f"line {WRONG_LINE}" in warning for warning in delivered["result"].warnings)
    subs = [event.plaintext for event in pysubs2.load(str(delivered["folder"] / "episode.srt"))]
    assert "It is answering the mask." in subs


@pytest.mark.database
def test_each_lines_check_is_a_database_row(delivered: dict) -> None:
    with session_scope(open_database(delivered["database"])) as session:
        rows = session.scalars(select(models.DialogueLine).order_by(models.DialogueLine.code)).all()
        assert [row.code for row in rows] == ["030-1", "040-1", "050-1", "090-1", "100-1", "110-1"]
        wrong = next(row for row in rows if row.code == WRONG_LINE)
        assert (wrong.source, wrong.flagged, wrong.transcriber) == ("recorded", True, "faster-whisper:base")
        assert wrong.wer > 0.5 and wrong.asset is not None
        assert all(row.wer is not None and row.wer < 0.5 for row in rows if row.code != WRONG_LINE)


def test_ffprobe_reads_the_labels_and_the_subtitle_stream(delivered: dict) -> None:
    data = media.ffprobe_json(delivered["folder"] / "episode.mp4", "-show_format", "-show_streams")
    aigc = json.loads(data["format"]["tags"]["AIGC"])
    assert aigc == delivered["manifest"].aigc and aigc["Label"] == "1"
    assert [(s["codec_name"], s["tags"]["language"]) for s in data["streams"] if s["codec_type"] == "subtitle"] == [
        ("mov_text", "eng")]


def test_the_otio_timeline_lasts_as_long_as_the_mp4(delivered: dict) -> None:
    timeline = otio.adapters.read_from_file(str(delivered["folder"] / "timeline.otio"))
    seconds = timeline.duration().to_seconds()
    assert abs(seconds - media.probe(delivered["folder"] / "episode.mp4").duration) <= 1 / 30
    assert [track.name for track in timeline.tracks] == ["Picture", "Dialogue", "Music"]
    picture = timeline.tracks[0]
    clips = list(picture.find_clips())
    assert [clip.name for clip in clips] == [shot.id for shot in delivered["manifest"].shots]
    assert all(Path(clip.media_reference.target_url.removeprefix("file://")).is_file() for clip in clips)
    assert clips[0].metadata["aigms"]["take"] == delivered["manifest"].shots[0].take
    assert timeline.metadata["aigms"]["episode"] == "s01e02"


def test_a_flagged_line_is_a_red_marker_on_its_shot(delivered: dict) -> None:
    timeline = otio.adapters.read_from_file(str(delivered["folder"] / "timeline.otio"))
    marked = {clip.name: clip.markers for clip in timeline.tracks[0].find_clips() if clip.markers}
    assert list(marked) == [WRONG_SHOT]
    assert marked[WRONG_SHOT][0].color == otio.schema.MarkerColor.RED


def test_the_edl_and_the_fcp_xml_parse_with_the_adapters(delivered: dict) -> None:
    edl = otio.adapters.read_from_file(str(delivered["folder"] / "episode.edl"), rate=30)
    assert len(list(edl.find_clips())) == len(delivered["manifest"].shots)
    assert abs(edl.duration().to_seconds() - delivered["manifest"].duration) <= 1 / 30
    xml = otio.adapters.read_from_file(str(delivered["folder"] / "episode.xml"))
    assert len(xml.video_tracks()) == 1 and len(xml.audio_tracks()) >= 1


def test_the_manifest_validates_and_lists_every_file_by_hash(delivered: dict) -> None:
    data = json.loads((delivered["folder"] / "manifest.json").read_text())
    jsonschema.validate(data, Manifest.model_json_schema())
    assert set(data["outputs"]) == {"video", "subtitles", "webvtt", "otio", "edl", "fcp_xml", "aaf"}
    for entry in data["outputs"].values():
        assert assets.sha256_file(delivered["folder"] / entry["path"]) == entry["sha256"]
    assert data["picture_sha256"] == media.picture_sha256(delivered["folder"] / "episode.mp4")


def test_a_manifest_renders_the_same_picture_again(delivered: dict, tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["render", "--from-manifest", str(delivered["folder"] / "manifest.json"),
                                    "--out", str(tmp_path), "--home", str(delivered["home"])],
                              env={"COLUMNS": "200", "AIGMS_DATABASE_URL": delivered["database"]})
    assert done.exit_code == 0, done.output
    again = tmp_path / "bronze-echoes" / "s01e02"
    assert media.picture_sha256(again / "episode.mp4") == delivered["manifest"].picture_sha256
    assert (again / "episode.srt").read_text() == (delivered["folder"] / "episode.srt").read_text()
    assert "identical" in done.stdout


def test_a_manifest_whose_media_is_gone_is_refused_with_the_shot(delivered: dict, tmp_path: Path) -> None:
    manifest = delivered["manifest"].model_copy(deep=True)
    manifest.timeline.picture[2].media.sha256 = "f" * 64
    broken = tmp_path / "manifest.json"
    broken.write_text(manifest.model_dump_json())
    done = CliRunner().invoke(app, ["render", "--from-manifest", str(broken), "--out", str(tmp_path), "--home",
                                    str(delivered["home"])],
                              env={"COLUMNS": "300", "AIGMS_DATABASE_URL": delivered["database"]})
    assert done.exit_code == 1
    assert "the take of shot 030" in done.stderr and "manifest.json" in done.stderr


def test_a_dissolve_survives_in_the_xml_and_the_edl_keeps_every_shot(delivered: dict, tmp_path: Path) -> None:
    timeline = delivered["manifest"].timeline.model_copy(deep=True)
    timeline.picture[3].transition, timeline.picture[3].transition_frames = "dissolve", 15
    files = [tmp_path / name for name in ("t.otio", "t.edl", "t.xml")]
    interchange.write_interchange(interchange.to_otio(timeline, [], []), *files)
    xml = otio.adapters.read_from_file(str(files[2]))
    assert [type(item).__name__ for item in xml.video_tracks()[0]].count("Transition") == 1
    edl = otio.adapters.read_from_file(str(files[1]), rate=30)
    assert len(list(edl.find_clips())) == len(timeline.picture)
    assert edl.duration().to_seconds() == pytest.approx(timeline.duration, abs=1 / 30)
