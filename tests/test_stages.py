"""Each stage on its own, with real ffmpeg and espeak-ng, checked the way an editor would check the result."""

import hashlib
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigms.production.store import media
from aigms.production.generate.generators import animatic
from aigms.production.post.voice import synthesize
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
