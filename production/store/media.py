"""ffmpeg and ffprobe as the pipeline uses them: which binary, what a file holds, and errors that show ffmpeg's
own last words instead of a bare exit status."""

import hashlib
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import av
import ffmpeg
import imageio_ffmpeg

CJK_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x3000, 0x303F), (0xFF00, 0xFFEF))
# The picture encode every clip is conformed to, so the edit can join clips without re-encoding them: clips that
# share these settings and the delivery size and fps share their H.264 parameter sets (see `Layout`).
# Keyframes come at a fixed interval and nowhere else (no scene-cut keyframes), each an IDR frame that opens a closed
# GOP, so a clip can be cut at any of them; x264's `stitchable` keeps the headers independent of the content, so a
# GOP re-encoded later joins the copied ones.
DEFAULT_GOP = 15


def house_encode(gop: int = DEFAULT_GOP) -> dict[str, Any]:
    """The house encode with a keyframe every `gop` frames."""
    return {
        "vcodec": "libx264", "preset": "veryfast", "crf": 20, "pix_fmt": "yuv420p", "profile:v": "high",
        "g": gop, "bf": 0, "sc_threshold": 0, "x264-params": "open-gop=0:stitchable=1", "threads": 2, "an": None,
        "map_metadata": -1, "fflags": "+bitexact", "flags:v": "+bitexact",
    }


HOUSE_ENCODE = house_encode()


def run_encode(gop: int = DEFAULT_GOP) -> dict[str, Any]:
    """The encode of a few GOPs the edit re-encodes (under a dissolve, a fade, the label): the house encode's
    headers and GOPs, but x264's `superfast` analysis on one thread. Those frames are encoded a second time, next to
    copied frames encoded once; at the house CRF the lighter analysis spends more bits on them (no macroblock tree)
    and so loses less to the second encode, for ~30 % less CPU: on busy 1080p test patterns a GOP re-encoded this
    way stays 44.8 dB from the original pixels where the house encode falls to 43.5 dB (the take itself: 46.1 dB),
    at 1.6x the bits. A few GOPs of a 4-minute episode grow the file a little; a whole picture would grow by half,
    so long runs keep the house encode. `superfast` keeps every header field the house encode sets (same
    reference count, weighted prediction, 8x8 transform, CABAC), so a run joins the copied GOPs."""
    return {**house_encode(gop), "preset": "superfast", "threads": 1}


class MediaError(RuntimeError):
    """ffmpeg refused or failed; the message carries the tail of its log, which is where the reason is."""


@cache
def ffmpeg_exe() -> str:
    """A system ffmpeg is preferred (it comes with ffprobe); the imageio-ffmpeg wheel's is the fallback."""
    return shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()


@cache
def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version`: work kept by what made it names the ffmpeg too."""
    done = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True)
    return (done.stdout.splitlines() or ["ffmpeg"])[0]


@cache
def ffprobe_exe() -> str | None:
    return shutil.which("ffprobe")


def local(path: Path | str) -> str:
    """A file as ffmpeg and ffprobe are given it: absolute, so a name starting with `-` is never read as an option,
    nor one with a colon (`take:2.mp4`) as a protocol."""
    return os.path.abspath(path)


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
    """ffprobe's answer for a file, asked once per version of it: a take is probed by the stage that films it, its
    checks and the edit, and the answer only changes when the file is replaced (a new inode, size or time)."""
    try:
        stat = os.stat(path)
    except OSError:
        return _probe.__wrapped__(local(path), 0, 0, 0)  # ffprobe says what is wrong, in its words
    return _probe(local(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _probe(path: str, _inode: int, _size: int, _modified: int) -> MediaInfo:
    executable = ffprobe_exe()
    if executable is None:
        raise MediaError("ffprobe not found; install it with `apt-get install ffmpeg`")
    done = subprocess.run(
        [executable, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", local(path)],
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


def run(stream: Any) -> str:
    """Run an ffmpeg-python graph quietly, overwriting its output; returns ffmpeg's log (filters report there)."""
    try:
        _, log = stream.overwrite_output().run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as error:
        tail = "\n".join(error.stderr.decode(errors="replace").strip().splitlines()[-8:])
        raise MediaError(f"ffmpeg failed:\n{tail}") from None
    return log.decode(errors="replace")


def run_piped(first: Any, second: Any) -> None:
    """Two ffmpeg-python graphs side by side, the first's output (`pipe:`) read by the second (`pipe:`): a filter
    chain and an encoder that one ffmpeg runs one after the other on one core run on two. Both logs are read as
    they come, so neither ffmpeg blocks on a full pipe, and kept in memory (nothing goes to the system's temp
    folder); either failing fails the whole."""
    producer = subprocess.Popen(first.overwrite_output().compile(cmd=ffmpeg_exe()), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    consumer = subprocess.Popen(second.overwrite_output().compile(cmd=ffmpeg_exe()), stdin=producer.stdout,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    producer.stdout.close()
    with ThreadPoolExecutor(max_workers=2) as readers:
        logs = [readers.submit(process.stderr.read) for process in (producer, consumer)]
        failed = [log.result() for process, log in zip((producer, consumer), logs) if process.wait()]
    for process in (producer, consumer):
        process.stderr.close()
    if failed:
        tails = ["\n".join(log.decode(errors="replace").strip().splitlines()[-8:]) for log in failed]
        raise MediaError("ffmpeg failed:\n" + "\n".join(tails))


def run_args(arguments: list[str]) -> None:
    """For command lines ffmpeg-python cannot express (the concat demuxer's `-f concat -safe 0`)."""
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *arguments], capture_output=True)
    if done.returncode:
        tail = "\n".join(done.stderr.decode(errors="replace").strip().splitlines()[-8:])
        raise MediaError(f"ffmpeg failed:\n{tail}")


def ffprobe_json(path: Path, *arguments: str) -> dict[str, Any]:
    executable = ffprobe_exe()
    if executable is None:
        raise MediaError("ffprobe not found; install it with `apt-get install ffmpeg`")
    done = subprocess.run([executable, "-v", "error", "-print_format", "json", *arguments, local(path)],
                          capture_output=True, text=True)
    if done.returncode:
        raise MediaError(f"{path}: ffprobe failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Layout:
    """A clip's picture as a cut sees it: its stream signature (what must be equal for two H.264 files to be joined
    by stream copy: codec, pixel format, frame rate and the parameter sets — SPS/PPS: size, profile, level,
    quantiser setup — compared through their hash), its frames, the frames a decoder can start from (keyframes),
    and whether frame k is stamped exactly k / rate (a constant rate from zero)."""

    signature: tuple[str, ...]
    frames: int
    keyframes: tuple[int, ...]
    regular: bool


def layout(path: Path) -> Layout:
    """Read from the container's index with PyAV (FFmpeg's libraries in process: no packet read, nothing decoded, no
    program started for each of an episode's takes); a file without an index is read packet by packet. The index
    is in decoding order, which for the house encode (no B-frames) is showing order."""
    try:
        container = av.open(str(path))
    except av.FFmpegError as error:
        raise MediaError(f"{path}: cannot read it: {error}") from None
    with container:
        if not container.streams.video:
            return Layout((), 0, (), False)
        stream = container.streams.video[0]
        context = stream.codec_context
        signature = (context.name, context.format.name if context.format else "", str(stream.base_rate),
                     hashlib.sha256(bytes(context.extradata or b"")).hexdigest())
        index = stream.index_entries
        if len(index):
            entries = [index[number] for number in range(len(index))]
            packets = [(entry.timestamp, entry.is_keyframe) for entry in entries if not entry.is_discard]
        else:
            packets = [(packet.pts, packet.is_keyframe) for packet in container.demux(stream) if packet.size]
        base = stream.time_base
    rate = stream.base_rate
    regular = bool(rate) and all(time is not None and time * base == number / Fraction(rate)
                                 for number, (time, _) in enumerate(packets))
    return Layout(signature, len(packets), tuple(number for number, (_, key) in enumerate(packets) if key), regular)


def picture_sha256(path: Path) -> str:
    """The sha256 of the video stream's packets: the picture itself, whatever container, tags or sound it has."""
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", local(path), "-map", "0:v:0", "-c", "copy", "-f", "hash",
         "-hash", "sha256", "-"], capture_output=True, text=True,
    )
    if done.returncode or "=" not in done.stdout:
        raise MediaError(f"{path}: cannot hash the picture: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().split("=", 1)[1]


def loudness_summary(log: str) -> dict[str, float]:
    """What ffmpeg's `ebur128` meter (EBU R128) prints at the end: integrated loudness `i` and its relative gate
    `thresh` (LUFS), loudness range `lra` (LU) and, with `peak=true`, the true peak `tp` (dBTP, 4× oversampled)."""
    summary = log[log.rfind("Summary:"):]
    names = {"I:": "i", "LRA:": "lra", "Peak:": "tp"}
    found: dict[str, float] = {}
    for line in summary.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] in names and names[words[0]] not in found:
            found[names[words[0]]] = float(words[1])
        elif words[0] == "Threshold:" and "thresh" not in found:
            found["thresh"] = float(words[1])
    if "i" not in found:
        raise MediaError("ffmpeg's ebur128 printed no integrated loudness")
    return found


def integrated_loudness(path: Path) -> float:
    """EBU R128 integrated loudness of a file's sound, in LUFS."""
    return loudness_summary(run(ffmpeg.input(local(path)).audio.filter("ebur128", peak="true")
                                .output("-", format="null")))["i"]


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
