"""The `stripes` backend: vertical stripes in the colour named by `options.colour`, drifting one pixel a frame,
made in one call at the size and rate the stage asks for. It follows aigms' backend contract
(`aigms.production.generate.generators.Backend`) and nothing else of aigms."""

from pathlib import Path
from typing import Any

import numpy as np

from aigms.production.generate import footage
from aigms.production.generate.generators import Capabilities, SegmentRequest

NAME = "stripes"
VERSION = "1"


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    return Capabilities()


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"colour": options.get("colour", [200, 40, 40])}


def release(model: str | None = None) -> None:
    """Nothing is kept warm."""


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    colour = np.array(request.options.get("colour", [200, 40, 40]), dtype=np.uint8)
    frames = np.zeros((request.frames, request.height, request.width, 3), dtype=np.uint8)
    columns = np.arange(request.width)
    for index, frame in enumerate(frames):
        frame[:, (columns + index) % 16 < 8] = colour
    footage.write_frames(frames, request.fps, out)
    return {"frames": request.frames, "take": request.context.recipe_sha256 if request.context else None}
