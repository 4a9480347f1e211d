"""A test generator backend, registered the way any backend is (an `aigms.generators` entry point, in the
metadata beside it): a moving colour bar on grey, all black unless the seed is the one named in its options
(`good_seed`), so a test knows which take passes QC."""

from pathlib import Path
from typing import Any

import numpy as np

from aigms.production.generate import footage
from aigms.production.generate.generators import Capabilities, SegmentRequest

NAME = "testcard"
VERSION = "1"


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    return Capabilities()


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"good_seed": options.get("good_seed")}


def release(model: str | None = None) -> None:
    """Nothing is kept warm."""


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    frames = np.full((request.frames, request.height, request.width, 3), 128, dtype=np.uint8)
    for index, frame in enumerate(frames):
        left = (index * 4) % max(1, request.width - 20)
        frame[:, left:left + 20] = (200, 60, 40)
    if request.seed != request.options.get("good_seed"):
        frames[:] = 0
    footage.write_frames(frames, request.fps, out)
    return {"frames": request.frames, "seed": request.seed}
