"""ffmpeg and ffprobe as the pipeline uses them: which binary, what a file holds, and errors that show ffmpeg's
own last words instead of a bare exit status."""

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import ffmpeg
import imageio_ffmpeg

CJK_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x3000, 0x303F), (0xFF00, 0xFFEF))
# Every delivered clip is encoded alike, so the edit joins them without re-encoding; bit-exact, so the same
# frames make the same bytes.
CLIP_ENCODE = {
    "vcodec": "libx264", "preset": "veryfast", "crf": 20, "pix_fmt": "yuv420p", "profile:v": "high",
    "g": 30, "bf": 0, "threads": 2, "an": None, "map_metadata": -1, "fflags": "+bitexact",
    "flags:v": "+bitexact",
}


class MediaError(RuntimeError):
    """ffmpeg refused or failed; the message carries the tail of its log, which is where the reason is."""


@cache
def ffmpeg_exe() -> str:
    """A system ffmpeg is preferred (it comes with ffprobe); the imageio-ffmpeg wheel's is the fallback."""
    return shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()


@cache
def ffprobe_exe() -> str | None:
    return shutil.which("ffprobe")


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None
    height: int | None
    fps: float | None
    frames: int | None
    video_codec: str | None
    audio_codec: str | None
    audio_rate: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(path: Path) -> MediaInfo:
    executable = ffprobe_exe()
    if executable is None:
        raise MediaError("ffprobe not found; install it with `apt-get install ffmpeg`")
    done = subprocess.run(
        [executable, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True,
    )
    if done.returncode:
        raise MediaError(f"{path}: ffprobe failed: {done.stderr.strip()[-500:]}")
    data = json.loads(done.stdout)
    video = next((s for s in data["streams"] if s["codec_type"] == "video"), None)
    audio = next((s for s in data["streams"] if s["codec_type"] == "audio"), None)
    fps = float(Fraction(video["r_frame_rate"])) if video and video.get("r_frame_rate", "0/0") != "0/0" else None
    return MediaInfo(
        duration=float(data["format"].get("duration", 0.0)),
        width=video["width"] if video else None,
        height=video["height"] if video else None,
        fps=round(fps, 3) if fps else None,
        frames=int(video["nb_frames"]) if video and video.get("nb_frames", "").isdigit() else None,
        video_codec=video["codec_name"] if video else None,
        audio_codec=audio["codec_name"] if audio else None,
        audio_rate=int(audio["sample_rate"]) if audio else None,
    )


def run(stream: Any) -> None:
    """Run an ffmpeg-python graph quietly, overwriting its output."""
    try:
        stream.overwrite_output().run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as error:
        tail = "\n".join(error.stderr.decode(errors="replace").strip().splitlines()[-8:])
        raise MediaError(f"ffmpeg failed:\n{tail}") from None


def run_args(arguments: list[str]) -> None:
    """For command lines ffmpeg-python cannot express (the concat demuxer's `-f concat -safe 0`)."""
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *arguments], capture_output=True)
    if done.returncode:
        tail = "\n".join(done.stderr.decode(errors="replace").strip().splitlines()[-8:])
        raise MediaError(f"ffmpeg failed:\n{tail}")


def has_cjk(text: str) -> bool:
    return any(low <= ord(char) <= high for char in text for low, high in CJK_RANGES)


@cache
def font_path(cjk: bool) -> str | None:
    """A font file that has the glyphs; without a CJK font Chinese renders as empty boxes."""
    if shutil.which("fc-match") is None:
        return None
    pattern = ":lang=zh-cn" if cjk else "sans-serif"
    done = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True)
    return done.stdout.strip() or None
