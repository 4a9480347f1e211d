"""Enhancement to delivery: a clip made at a model's native size and frame rate becomes a clip at the delivery
spec — frame rate first (duplicated or motion-interpolated frames, while the picture is still small), then a
lanczos scale, then padding or cropping to the delivery's aspect ratio — encoded like every other delivered clip."""

from pathlib import Path
from typing import Literal

import ffmpeg

from aigms.production.store import media
from aigms.schemas.series import Delivery

Fit = Literal["pad", "crop"]
Motion = Literal["duplicate", "interpolate"]


def conform(native: Path, delivery: Delivery, frames: int, out: Path, fit: Fit = "crop",
            motion: Motion = "duplicate", gop: int = media.DEFAULT_GOP) -> None:
    """Write `out` at the delivery size and fps with exactly `frames` frames.

    `fit="crop"` fills the frame and loses the edges; `"pad"` keeps the whole picture inside black bars.
    `motion="interpolate"` makes in-between frames with ffmpeg's motion-compensated interpolation (smoother, slower);
    `"duplicate"` repeats frames (exact, fast). The last frame is held if rounding leaves the clip a frame short.
    A keyframe every `gop` frames (the series' `edit.gop`) is where the edit can cut the clip without re-encoding it.
    """
    if fit not in ("pad", "crop"):
        raise ValueError(f"fit must be 'pad' or 'crop', not {fit!r}")
    if motion not in ("duplicate", "interpolate"):
        raise ValueError(f"motion must be 'duplicate' or 'interpolate', not {motion!r}")
    width, height = delivery.width, delivery.height
    stream = ffmpeg.input(str(native)).video
    if motion == "interpolate":
        stream = stream.filter("minterpolate", fps=delivery.fps, mi_mode="mci", mc_mode="aobmc", vsbmc=1)
    else:
        stream = stream.filter("fps", fps=delivery.fps)
    aspect = "decrease" if fit == "pad" else "increase"
    stream = stream.filter("scale", width, height, force_original_aspect_ratio=aspect, force_divisible_by=2,
                           flags="lanczos")
    if fit == "pad":
        stream = stream.filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2", color="black")
    else:
        stream = stream.filter("crop", width, height)
    stream = stream.filter("setsar", 1).filter("tpad", stop_mode="clone", stop=frames)
    media.run(stream.output(str(out), vframes=frames, r=delivery.fps, **media.house_encode(gop)))
