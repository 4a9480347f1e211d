"""The edit, checked as an editor would: which clips were re-encoded and which joined untouched, what a dissolve,
a fade and the visible label look like, how loud the result is, whether the music ducks, and what ffprobe and
`aigms verify` read back from the master."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from typer.testing import CliRunner

from aigms.cli import app
from aigms.production.post import edit, labels, subtitles
from aigms.production.store import assets, media
from aigms.production.generate.takes import RenderedTake
from aigms.production.generate.generators import animatic
from aigms.production.post.voice import LineAudio, synthesize
from aigms.schemas.series import MusicBed, Voice
from aigms.schemas.shotlist import Shot, ShotList
from aigms.schemas.timeline import Media
from builders import tiny_series
from test_stages import frame, pcm

FPS = 24


def shot(id: str, transition: str = "cut", **fields) -> Shot:
    values = {"id": id, "scene": 1, "kind": "action", "location": "lab", "text": f"Shot {id}.", "duration": 1.0,
              "transition": transition}
    return Shot(**{**values, **fields})


def takes_for(series, shots: list[Shot], folder: Path) -> dict[str, RenderedTake]:
    takes = {}
    for item in shots:
        clip = folder / f"{item.id}.mp4"
        if not clip.exists():
            animatic.render(item, series, clip, seed=1)
        takes[item.id] = RenderedTake(item.id, 0, "0" * 64, clip, assets.sha256_file(clip), reused=False)
    return takes


def line(folder: Path, shot_id: str, text: str, rate: int = 48000) -> LineAudio:
    wav = folder / f"line-{shot_id}.wav"
    seconds = synthesize(text, "en", Voice(), wav, rate)
    return LineAudio(shot_id, "scratch", wav, seconds, assets.sha256_file(wav))


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Five one-second shots: the label over the first half second, a plain cut, a dissolve into 040, a fade in
    on 050; one line of dialogue over 020."""
    folder = tmp_path_factory.mktemp("edit")
    series = tiny_series(folder / "series")
    series.labels.visible.seconds = 0.5
    shots = [shot("010"), shot("020", kind="dialogue", speaker="lin", characters=["lin"], duration=2.0),
             shot("030"), shot("040", "dissolve"), shot("050", "fade_in")]
    takes = takes_for(series, shots, folder)
    shotlist = ShotList(series="tiny", episode="e1", language="en", fps=FPS, shots=shots)
    lines = {"020": line(folder, "020", "Now we go.")}
    timeline, warnings = edit.build_timeline(series, shotlist, takes, lines)
    picture, sound = folder / "picture.mp4", folder / "sound.m4a"
    segments = edit.render_picture(timeline, picture)
    edit.render_sound(timeline.sound, sound)
    checks = subtitles.check_lines(timeline, None)
    cues, _ = subtitles.make_cues(timeline, checks)
    srt = folder / "episode.srt"
    subtitles.write_srt(cues, srt)
    aigc = labels.aigc_label(timeline, media.picture_sha256(picture))
    master = folder / "episode.mp4"
    edit.master(picture, sound, srt, "en", labels.file_tags(timeline, aigc), master)
    return {"folder": folder, "series": series, "shotlist": shotlist, "lines": lines, "timeline": timeline,
            "segments": segments, "takes": takes,
            "picture": picture, "sound": sound, "master": master, "srt": srt, "aigc": aigc, "warnings": warnings}


def test_only_the_gops_under_the_label_and_the_transitions_are_re_encoded(cut: dict) -> None:
    """Clips start at frames 0, 24, 72, 96 and 120, a keyframe every 15 frames of each: the label (frames 0–11), the
    dissolve (90–101) and the fade (120–131) are each widened to the keyframes around them."""
    assert [(segment.start, segment.end, segment.render) for segment in cut["segments"]] == [
        (0, 15, True), (15, 24, False), (24, 72, False), (72, 87, False), (87, 111, True), (111, 120, False),
        (120, 135, True), (135, 144, False)]


def test_a_clip_joined_untouched_decodes_to_the_same_frames(cut: dict) -> None:
    clip = cut["takes"]["020"].clip
    for index in (0, 23, 47):
        assert np.array_equal(frame(cut["picture"], 24 + index), frame(clip, index))


def test_the_picture_has_every_frame_of_the_timeline(cut: dict) -> None:
    info = media.probe(cut["picture"])
    assert (info.frames, info.width, info.height, info.fps) == (cut["timeline"].frames, 320, 180, FPS) == (
        144, 320, 180, FPS)


def test_a_dissolve_blends_both_shots_around_the_cut(cut: dict) -> None:
    before, after = frame(cut["takes"]["030"].clip, 23), frame(cut["takes"]["040"].clip, 0)
    middle = frame(cut["picture"], 4 * FPS)
    assert np.abs(middle - before).mean() > 1 and np.abs(middle - after).mean() > 1
    assert np.abs(middle - (before + after) / 2).mean() < np.abs(before - after).mean() / 2


def test_a_fade_in_starts_from_black(cut: dict) -> None:
    assert frame(cut["picture"], 5 * FPS).mean() < 12
    assert frame(cut["picture"], 5 * FPS + 20).mean() > 40


def test_the_visible_label_is_drawn_at_the_start_only(cut: dict) -> None:
    clip = cut["takes"]["010"].clip
    corner = (slice(0, 30), slice(200, 320))
    assert np.abs(frame(cut["picture"], 0)[corner] - frame(clip, 0)[corner]).mean() > 5
    assert np.abs(frame(cut["picture"], 18)[corner] - frame(clip, 18)[corner]).mean() < 2


def test_sound_is_normalised_to_the_loudness_target(cut: dict) -> None:
    assert media.integrated_loudness(cut["sound"]) == pytest.approx(-16, abs=1.0)
    quieter = cut["timeline"].model_copy(update={"loudness": -23.0})
    out = cut["folder"] / "quieter.m4a"
    edit.render_sound(quieter.sound, out)
    assert media.integrated_loudness(out) == pytest.approx(-23, abs=1.0)


def test_the_sound_is_known_before_any_take_is_filmed(cut: dict) -> None:
    """A render mixes the sound and hears the lines from the shot list and the lines alone, while its shots are
    filmed; the cut finds that sound by its inputs, so they must be the cut's own."""
    sound = edit.episode_sound(cut["series"], cut["shotlist"], cut["lines"])
    assert sound == cut["timeline"].sound
    assert (sound.duration, [line.start for line in sound.dialogue]) == (6.0, [1.25])


def test_the_line_is_heard_only_inside_its_shot(cut: dict) -> None:
    sound = pcm(cut["sound"])
    loudness = lambda start, end: np.sqrt(np.mean(sound[int(start * 8000):int(end * 8000)] ** 2))
    assert loudness(0.05, 0.95) < 20 and loudness(3.1, 3.9) < 20
    assert loudness(1.3, 1.9) > 300


def test_music_ducks_under_dialogue(cut: dict, tmp_path: Path) -> None:
    tone = tmp_path / "tone.wav"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=1000:duration=1.5",
                    str(tone)], check=True)
    series = cut["series"]
    series.root.joinpath("tone.wav").write_bytes(tone.read_bytes())
    series.edit.music = MusicBed(path=Path("tone.wav"), gain_db=-10, duck_ratio=12)
    try:
        timeline = cut["timeline"].model_copy(update={"music": edit.build_timeline(
            series, ShotList(series="tiny", episode="e1", language="en", fps=FPS, shots=[shot("010")]),
            {"010": cut["takes"]["010"]}, {})[0].music})
    finally:
        series.edit.music = None
    out = tmp_path / "mixed.m4a"
    edit.render_sound(timeline.sound, out)
    sound = pcm(out, rate=48000)

    def tone_level(start: float, end: float) -> float:
        window = sound[int(start * 48000):int(end * 48000)]
        spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
        return spectrum[round(1000 * len(window) / 48000)]

    assert tone_level(1.4, 1.8) < 0.5 * tone_level(4.2, 4.6)


def test_a_line_longer_than_its_shot_is_cut_and_reported(cut: dict) -> None:
    series, folder = cut["series"], cut["folder"]
    shots = [shot("010"), shot("020", kind="dialogue", speaker="lin", duration=0.5)]
    long_line = line(folder, "long", "This line is far too long for a half second shot.")
    timeline, warnings = edit.build_timeline(
        series, ShotList(series="tiny", episode="e1", language="en", fps=FPS, shots=shots),
        takes_for(series, shots, folder), {"020": long_line})
    (placed,) = timeline.dialogue
    assert (placed.start, placed.end) == (1.25, 1.5) and placed.overrun > 1
    assert len(warnings) == 1 and "shot 020" in warnings[0]
    assert not cut["warnings"]


def test_a_clip_in_another_encode_is_conformed_once_and_kept(cut: dict, tmp_path: Path) -> None:
    odd = tmp_path / "odd.mp4"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=640x360:r=30", "-frames:v",
                    "30", "-c:v", "libx264", "-crf", "30", "-pix_fmt", "yuv420p", str(odd)], check=True)
    timeline = cut["timeline"]
    clips = [clip.model_copy() for clip in timeline.picture]
    clips[1] = clips[1].model_copy(update={"media": Media(path=str(odd), sha256=assets.sha256_file(odd))})
    changed = timeline.model_copy(update={"picture": clips, "dialogue": []})
    cache, out, again = tmp_path / "cache", tmp_path / "picture.mp4", tmp_path / "again.mp4"
    edit.render_picture(changed, out, cache_dir=cache)
    (conformed,) = (cache / "conformed").iterdir()
    made = conformed.stat().st_mtime_ns
    segments = edit.render_picture(changed, again, cache_dir=cache)
    assert [segment.render for segment in segments if segment.clips == (1,)] == [False]
    assert list((cache / "conformed").iterdir()) == [conformed] and conformed.stat().st_mtime_ns == made
    info = media.probe(again)
    assert (info.frames, info.width, info.height, info.fps) == (144, 320, 180, FPS)


def test_ffprobe_reads_the_implicit_label_back(cut: dict) -> None:
    tags = media.ffprobe_json(cut["master"], "-show_format")["format"]["tags"]
    aigc = json.loads(tags["AIGC"])
    assert list(aigc) == list(labels.AIGC_FIELDS)
    assert aigc["Label"] == "1" and aigc["ContentProducer"] == "Tiny"
    assert aigc["ReservedCode1"] == "sha256:" + media.picture_sha256(cut["master"])
    assert aigc["ProduceID"].startswith("aigms:tiny:e1:")
    assert json.loads(tags["aigms"])["visible_label"]["text"] == "AI生成 AI-generated"


def test_ffprobe_reads_the_soft_subtitles_back(cut: dict, tmp_path: Path) -> None:
    streams = media.ffprobe_json(cut["master"], "-show_streams")["streams"]
    (track,) = [stream for stream in streams if stream["codec_type"] == "subtitle"]
    assert (track["codec_name"], track["tags"]["language"]) == ("mov_text", "eng")
    extracted = tmp_path / "back.srt"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-i", str(cut["master"]), "-map", "0:s:0", str(extracted)],
                   check=True)
    assert extracted.read_text().strip() == cut["srt"].read_text().strip()


def aigms(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_verify_reports_a_labelled_master(cut: dict) -> None:
    done = aigms("verify", str(cut["master"]))
    assert done.exit_code == 0, done.stderr
    assert "matches ReservedCode1" in done.stdout and "mov_text (eng)" in done.stdout
    assert "AI生成 AI-generated" in done.stdout


def test_verify_refuses_a_file_without_labels_and_a_relabelled_picture(cut: dict, tmp_path: Path) -> None:
    bare = aigms("verify", str(cut["takes"]["010"].clip))
    assert bare.exit_code == 1 and "no implicit AIGC label" in bare.stderr
    swapped = tmp_path / "swapped.mp4"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-i", str(cut["takes"]["020"].clip), "-i",
                    str(cut["master"]), "-map", "0:v", "-map_metadata", "1", "-c", "copy", "-movflags",
                    "+use_metadata_tags", str(swapped)], check=True)
    done = aigms("verify", str(swapped))
    assert done.exit_code == 1 and "not the one the label was written for" in done.stderr


def test_a_script_ending_on_fade_out_fades_the_last_shot_to_black(cut: dict) -> None:
    folder = cut["folder"]
    shots = [shot("010"), shot("020")]
    ending = ShotList(series="tiny", episode="e1", language="en", fps=FPS, shots=shots, ending="fade_out")
    timeline, _ = edit.build_timeline(cut["series"], ending, takes_for(cut["series"], shots, folder), {})
    picture = folder / "ending.mp4"
    segments = edit.render_picture(timeline, picture)
    assert timeline.ending_frames > 0 and segments[-1].render
    assert frame(picture, 2 * FPS - 1).mean() < 12
    assert frame(picture, 2 * FPS - timeline.ending_frames - 2).mean() > 40
