"""A test generator backend (`metered`, an `aigms.generators` entry point in the metadata beside it) that writes one
JSON line per call it makes (index, frames, fps) to the log named in its options: what a provider would bill,
counted by the provider, so a test can check the ledger against it. At most one second per call, continuing from the
last frame, like a Kling-style continuation."""

import json
from pathlib import Path
from typing import Any

import numpy as np

from aigms.production.generate import footage
from aigms.production.generate.generators import Capabilities, SegmentRequest

NAME = "metered"
VERSION = "1"


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    return Capabilities(modes=frozenset({"t2v", "i2v"}), max_segment_seconds=1.0, first_frame=True)


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {}


def release(model: str | None = None) -> None:
    """Nothing is kept warm."""


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    frames = np.full((request.frames, request.height, request.width, 3), 30 * (request.index + 1), dtype=np.uint8)
    footage.write_frames(frames, request.fps, out)
    with Path(request.options["log"]).open("a") as log:
        log.write(json.dumps({"shot": request.shot.id, "index": request.index, "frames": request.frames,
                              "fps": request.fps}) + "\n")
    return {"index": request.index, "mode": request.mode, "frames": request.frames}
