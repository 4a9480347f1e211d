"""The `animatic` backend: previs built from the series' own reference images — the location as a plate, the
characters composited in, the action or line as a caption (`aigms.production.storyboard.previs`), a slow push-in —
at the delivery size and frame rate. It needs no GPU and no weights, so a director can judge timing and coverage
before any model time is spent.

Steps: 1. compose one still a little larger than the frame from the checked references, 2. let ffmpeg push in on
it and encode. The still is decoded and turned to YUV 4:2:0 once, then repeated in memory: decoding the PNG and
converting every frame again (`-loop 1`) was half a shot's CPU. Every clip is encoded with the same settings so the
edit can join them without re-encoding."""

from pathlib import Path
from typing import Any

import ffmpeg

from aigms.production.generate.generators import Capabilities, SegmentRequest
from aigms.production.store import media
from aigms.production.storyboard import previs
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

NAME = "animatic"
VERSION = "3"


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    """Any length in one call, at the delivery's own size and frame rate; it reads the reference images itself."""
    return Capabilities(reference_images=True)


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {}


def release(model: str | None = None) -> None:
    """Nothing is kept warm."""


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    _render(request.shot, request.series, out, request.seed, request.frames, request.width, request.height,
            request.fps)
    return {"frames": request.frames, "width": request.width, "height": request.height, "fps": request.fps}


def render(shot: Shot, series: Series, out: Path, seed: int) -> None:
    """Write `out`: H.264, the delivery size and fps, exactly round(duration × fps) frames, no audio."""
    delivery = series.delivery
    frames = max(1, round(shot.duration * delivery.fps))
    _render(shot, series, out, seed, frames, delivery.width, delivery.height, delivery.fps)


def _render(shot: Shot, series: Series, out: Path, seed: int, frames: int, width: int, height: int, fps: int) -> None:
    # 1. Compose the still
    still, rng, zoom = previs.composed(shot, series, seed, width, height)
    still_path = out.with_name(out.stem + ".still.png")
    still.save(still_path, compress_level=1)
    # 2. Push in and encode
    progress = f"(n/{max(frames - 1, 1)})"
    scale = f"(1+{zoom:.4f}*{progress})/(1+{zoom:.4f})"
    drift_x, drift_y = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5)
    try:
        stream = (
            ffmpeg.input(str(still_path), framerate=fps)
            .filter("format", "yuv420p")
            .filter("loop", loop=frames - 1, size=1)
            .filter("setpts", f"N/{fps}/TB")
            .filter("scale", w=f"max({width},ceil(iw*{scale}/2)*2)", h=f"max({height},ceil(ih*{scale}/2)*2)", eval="frame",
                    flags="bicubic")
            .filter("crop", width, height, x=f"(iw-{width})*(0.5+{drift_x:.3f}*{progress})",
                    y=f"(ih-{height})*(0.5+{drift_y:.3f}*{progress})")
            .filter("setsar", 1)
            .output(str(out), vframes=frames, r=fps, **media.HOUSE_ENCODE)
        )
        media.run(stream)
    finally:
        still_path.unlink(missing_ok=True)
