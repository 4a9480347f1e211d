"""Each stage on its own, with real ffmpeg and espeak-ng, checked the way an editor would check the result."""

import hashlib
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from PIL import Image

from aigms.production import media
from aigms.production.edit import PlacedLine, assemble, place_dialogue
from aigms.production.generators import animatic
from aigms.production.subtitles import Cue, cues_from_lines, write_srt, write_vtt
from aigms.production.voice import synthesize
from aigms.schemas.errors import InputError
from aigms.schemas.series import Voice
from aigms.schemas.shotlist import Shot
from builders import tiny_series


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frame(path: Path, index: int) -> np.ndarray:
    """One decoded frame as an RGB array, straight from ffmpeg."""
    data = subprocess.run(
        [media.ffmpeg_exe(), "-v", "error", "-i", str(path), "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
         "-f", "image2pipe", "-vcodec", "png", "-"], capture_output=True, check=True,
    ).stdout
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def pcm(path: Path, rate: int = 8000) -> np.ndarray:
    data = subprocess.run(
        [media.ffmpeg_exe(), "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(data, dtype="<i2").astype(np.float32)


def shot(**fields) -> Shot:
    values = {"id": "010", "scene": 1, "kind": "action", "location": "lab", "text": "Lin waits.", "duration": 1.0}
    return Shot(**{**values, **fields})


@pytest.fixture
def series(tmp_path: Path):
    return tiny_series(tmp_path / "series")


def test_animatic_clip_has_the_delivery_size_fps_and_frame_count(series, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    animatic.render(shot(duration=1.5), series, out, seed=1)
    info = media.probe(out)
    assert (info.video_codec, info.width, info.height, info.fps, info.frames) == ("h264", 320, 180, 24, 36)
    assert info.audio_codec is None


def test_animatic_same_seed_same_bytes_other_seed_other_take(series, tmp_path: Path) -> None:
    paths = [tmp_path / f"{name}.mp4" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (1, 1, 2)):
        animatic.render(shot(), series, path, seed=seed)
    assert sha256(paths[0]) == sha256(paths[1])
    assert sha256(paths[0]) != sha256(paths[2])


def test_animatic_composites_the_characters_over_the_plate(series, tmp_path: Path) -> None:
    alone, cast = tmp_path / "alone.mp4", tmp_path / "cast.mp4"
    animatic.render(shot(), series, alone, seed=1)
    animatic.render(shot(characters=["lin"]), series, cast, seed=1)
    picture = frame(cast, 0)
    red = (picture[..., 0] > 150) & (picture[..., 1] < 90) & (picture[..., 2] < 90)
    assert red.sum() > 500
    plate = frame(alone, 0)
    assert ((plate[..., 0] > 150) & (plate[..., 1] < 90) & (plate[..., 2] < 90)).sum() == 0


def test_animatic_push_in_moves_the_picture(series, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    animatic.render(shot(characters=["lin"], duration=2.0), series, out, seed=3)
    assert np.abs(frame(out, 0) - frame(out, 47)).mean() > 1.0


def test_animatic_draws_chinese_captions(series, tmp_path: Path) -> None:
    outs = {}
    for text in ("林月跪在泥土里。", "面具的眼睛忽然亮起一道微光。"):
        outs[text] = tmp_path / f"{len(text)}.mp4"
        animatic.render(shot(text=text), series, outs[text], seed=1)
    bands = [frame(path, 0)[150:175] for path in outs.values()]
    assert all(band.std() > 10 for band in bands)
    assert np.abs(bands[0] - bands[1]).mean() > 1.0


def test_animatic_refuses_a_missing_reference(series, tmp_path: Path) -> None:
    (series.root / "bible" / "lin.png").unlink()
    out = tmp_path / "clip.mp4"
    with pytest.raises(InputError, match="lin.png"):
        animatic.render(shot(characters=["lin"]), series, out, seed=1)
    assert not out.exists()


@pytest.mark.parametrize(("text", "language"), [("The pattern repeats every seven seconds.", "en"),
                                                 ("检测到未知信号。", "zh")])
def test_scratch_voice_speaks_at_the_delivery_rate(tmp_path: Path, text: str, language: str) -> None:
    out = tmp_path / "line.wav"
    seconds = synthesize(text, language, Voice(variant="f3"), out, 48000)
    with wave.open(str(out)) as audio:
        assert (audio.getframerate(), audio.getnchannels()) == (48000, 1)
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float32)
    assert 0.8 < seconds < 6
    assert np.sqrt(np.mean(samples**2)) > 300


def test_dialogue_is_placed_at_its_shot_and_a_long_line_reported(tmp_path: Path) -> None:
    shots = [shot(id="010", duration=2.0), shot(id="020", kind="dialogue", duration=1.0, speaker="lin")]
    lines, warnings = place_dialogue(shots, {"020": (tmp_path / "x.wav", 1.5)})
    assert (lines[0].start, lines[0].end) == (2.25, 3.0)
    assert len(warnings) == 1 and "shot 020" in warnings[0]


def test_assembled_episode_has_sound_only_where_lines_are(series, tmp_path: Path) -> None:
    shots = [shot(id="010", duration=1.0), shot(id="020", kind="dialogue", speaker="lin", text="Now.",
                                                characters=["lin"], duration=2.0), shot(id="030", duration=1.0)]
    clips = []
    for item in shots:
        clips.append(tmp_path / f"{item.id}.mp4")
        animatic.render(item, series, clips[-1], seed=1)
    seconds = synthesize("Now we go.", "en", Voice(), tmp_path / "line.wav", 48000)
    lines, _ = place_dialogue(shots, {"020": (tmp_path / "line.wav", seconds)})
    out = tmp_path / "episode.mp4"
    assemble(clips, lines, series.delivery, out)
    info = media.probe(out)
    assert (info.video_codec, info.audio_codec, info.audio_rate) == ("h264", "aac", 48000)
    assert abs(info.duration - 4.0) <= 1 / 24 + 0.03
    sound = pcm(out)
    loudness = lambda start, end: np.sqrt(np.mean(sound[int(start * 8000):int(end * 8000)] ** 2))
    assert loudness(0.1, 1.0) < 20 and loudness(3.2, 4.0) < 20
    assert loudness(1.25, 1.25 + min(seconds, 1.7)) > 300


def test_subtitles_never_overlap_and_round_trip(tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    lines = [PlacedLine("010", 0.25, 3.0, 2.0, "凯，你看这个纹路。", "lin", wav),
             PlacedLine("020", 2.25, 1.0, 4.0, "Scanning.", "kai", wav)]
    cues = cues_from_lines(lines)
    assert cues == [Cue(0.25, 2.0, "凯，你看这个纹路。"), Cue(2.25, 3.25, "Scanning.")]
    write_srt(cues, tmp_path / "a.srt")
    write_vtt(cues, tmp_path / "a.vtt")
    srt = (tmp_path / "a.srt").read_bytes().decode("utf-8")
    assert "00:00:00,250 --> 00:00:02,000\n凯，你看这个纹路。" in srt
    assert [(e.start, e.end, e.plaintext) for e in pysubs2.load(str(tmp_path / "a.srt"))] == [
        (250, 2000, "凯，你看这个纹路。"), (2250, 3250, "Scanning.")
    ]
    assert (tmp_path / "a.vtt").read_text().startswith("WEBVTT")
