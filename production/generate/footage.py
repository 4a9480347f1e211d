"""Frames in and out of clip files while a shot is being made: a model's frames written losslessly, the end of one
segment read back to condition the next, and the segments of a chain joined without their repeated frames.
Intermediate files are FFV1 in Matroska (lossless, bit-exact), so a frame handed on is the frame that was made."""

from pathlib import Path

import ffmpeg
import numpy as np

from aigms.production.store import media

LOSSLESS = {"vcodec": "ffv1", "pix_fmt": "bgr0", "level": 3, "threads": 1, "an": None, "map_metadata": -1,
            "fflags": "+bitexact", "flags:v": "+bitexact"}
REVIEW = {**media.HOUSE_ENCODE, "crf": 12}


def write_frames(frames: np.ndarray, fps: int, out: Path) -> None:
    """`frames` is (count, height, width, 3) uint8 RGB; `.mkv` is written losslessly, `.mp4` as H.264."""
    count, height, width, _ = frames.shape
    settings = LOSSLESS if out.suffix == ".mkv" else media.HOUSE_ENCODE
    stream = (
        ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=fps)
        .output(str(out), vframes=count, r=fps, **settings)
        .overwrite_output()
    )
    try:
        stream.run(cmd=media.ffmpeg_exe(), input=np.ascontiguousarray(frames).tobytes(), capture_stdout=True,
                   capture_stderr=True)
    except ffmpeg.Error as error:
        tail = "\n".join(error.stderr.decode(errors="replace").strip().splitlines()[-8:])
        raise media.MediaError(f"ffmpeg failed:\n{tail}") from None


def read_frames(path: Path, first: int = 0, count: int | None = None) -> np.ndarray:
    """Frames `first` … `first + count - 1` of a clip as (count, height, width, 3) uint8 RGB."""
    info = media.probe(path)
    kept = {"start_frame": first} if count is None else {"start_frame": first, "end_frame": first + count}
    data, _ = (
        ffmpeg.input(str(path))
        .trim(**kept)
        .output("pipe:", format="rawvideo", pix_fmt="rgb24", vsync="passthrough")
        .run(cmd=media.ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    )
    frames = np.frombuffer(data, dtype=np.uint8)
    return frames.reshape(-1, info.height, info.width, 3)


def extract(path: Path, first: int, count: int, out: Path) -> Path:
    """Frames of a segment as the next one's condition: one frame as a PNG, several as a lossless clip."""
    frames = read_frames(path, first, count)
    if len(frames) != count:
        raise media.MediaError(f"{path}: wanted frames {first}–{first + count - 1}, found {len(frames)}")
    if out.suffix == ".png":
        from PIL import Image

        Image.fromarray(frames[0]).save(out)
    else:
        write_frames(frames, int(media.probe(path).fps or 1), out)
    return out


def join(pieces: list[tuple[Path, int, int]], fps: int, out: Path) -> None:
    """Join segments, each given as (file, first frame kept, frames kept): the frames a segment repeats from the
    one before it, and any the model made beyond what was asked, are left out."""
    streams = [
        ffmpeg.input(str(path)).video.trim(start_frame=first, end_frame=first + count).setpts("PTS-STARTPTS")
        for path, first, count in pieces
    ]
    joined = streams[0] if len(streams) == 1 else ffmpeg.concat(*streams, v=1, a=0)
    total = sum(count for _, _, count in pieces)
    settings = LOSSLESS if out.suffix == ".mkv" else REVIEW
    media.run(joined.output(str(out), vframes=total, r=fps, **settings))
