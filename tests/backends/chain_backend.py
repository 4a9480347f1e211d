"""A test generator backend, registered the way any backend is (an `aigms.generators` entry point, in the
metadata beside it): a model that makes at most one second per call and continues from the last frame, like a
Kling-style continuation, writing each call it starts and finishes to the log named in its options, and taking
`CHAIN_SECONDS` (an environment variable, not an option: options are part of the recipe) per call, so a test can
kill a render between two segments of one take."""

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from aigms.production.generate import footage
from aigms.production.generate.generators import Capabilities, SegmentRequest

NAME = "chain"
VERSION = "1"


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    return Capabilities(modes=frozenset({"t2v", "i2v"}), max_segment_seconds=1.0, first_frame=True)


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {}


def release(model: str | None = None) -> None:
    """Nothing is kept warm."""


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    log = Path(request.options["log"])
    with log.open("a") as calls:
        calls.write(f"start {request.index}\n")
    time.sleep(float(os.environ.get("CHAIN_SECONDS", "0")))
    frames = np.full((request.frames, request.height, request.width, 3), 40 * (request.index + 1), dtype=np.uint8)
    footage.write_frames(frames, request.fps, out)
    with log.open("a") as calls:
        calls.write(f"done {request.index}\n")
    return {"index": request.index, "mode": request.mode, "frames": request.frames}
