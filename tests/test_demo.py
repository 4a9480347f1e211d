"""`aigms demo` as `make demo` runs it: both example episodes at full delivery size, from a real process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pysubs2
import pytest

from aigms.production.store.media import probe


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "aigms", "demo", "--out", str(out)], capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=1200, env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(out / "bronze-echoes" / "s01e01" / "episode.mp4") in done.stdout.replace("\n", "")
    return out / "bronze-echoes"


@pytest.mark.parametrize("episode", ["s01e01", "s01e02"])
def test_demo_episode_plays_at_1080p30_with_subtitles(demo: Path, episode: str) -> None:
    folder = demo / episode
    manifest = json.loads((folder / "manifest.json").read_text())
    info = probe(folder / "episode.mp4")
    assert (info.video_codec, info.width, info.height, info.fps, info.audio_codec) == ("h264", 1920, 1080, 30, "aac")
    assert 30 <= info.duration <= 60
    assert abs(info.duration - manifest["duration"]) <= 0.1
    subs = pysubs2.load(str(folder / "episode.srt"))
    assert len(subs) == sum(shot["kind"] == "dialogue" for shot in manifest["shots"])
    assert all(0 <= line.start < line.end <= info.duration * 1000 for line in subs)


def test_chinese_episode_subtitles_are_the_scripts_chinese_lines(demo: Path) -> None:
    subs = pysubs2.load(str(demo / "s01e01" / "episode.srt"))
    assert subs[0].plaintext == "凯，你看这个纹路。"
    assert (demo / "s01e01" / "episode.srt").read_bytes().decode("utf-8").count("-->") == 5
