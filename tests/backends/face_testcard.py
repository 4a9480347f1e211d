"""A test generator backend (`faces-testcard`, an `aigms.generators` entry point in the metadata beside it) that
films real people: Grace Hopper standing where the astronaut should, unless the seed is the one named in its
options (`good_seed`), so a test knows which take shows the right face."""

from pathlib import Path
from typing import Any

from aigms.production.generate import footage
from aigms.production.generate.generators import Capabilities, SegmentRequest
from portraits import Standing, astronaut_head, frames, hopper_head

NAME = "faces-testcard"
VERSION = "1"


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    return Capabilities()


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"good_seed": options.get("good_seed")}


def release(model: str | None = None) -> None:
    """Nothing is kept warm."""


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    head = astronaut_head() if request.seed == request.options.get("good_seed") else hopper_head()
    footage.write_frames(frames([Standing(head, 0.3)], request.frames, request.width, request.height), request.fps,
                         out)
    return {"frames": request.frames, "seed": request.seed}
