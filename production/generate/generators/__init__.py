"""Generator backends are plugins: `series.yaml` names one (`animatic`, `diffusers:<hub id or folder>`, later a
remote service such as Kling's API or ComfyUI), and adding a backend means adding one module here and one line to
`BACKENDS`. The stages never ask which backend they hold, only what it can do (`Capabilities`).

A backend module provides:

- `NAME`, `VERSION`: the version changes whenever the same request would make other pixels.
- `capabilities(model, options) -> Capabilities`: what it accepts; may load the model (a backend keeps it warm).
- `identity(model, options) -> dict`: what a take's recipe must say about the model (id, revision, dtype…); cheap,
  never loads weights, so an unchanged shot is found without waking a GPU.
- `render_segment(request, out) -> dict`: one call of the model, written to `out` at its native size and fps with
  exactly `request.frames` frames; returns the call's parameters as the take records them.
- `render_keyframe(request, out) -> dict` (only with `Capabilities.keyframes`): a shot's first frame as a still.
- `release(model=None)`: forget warm models (benchmarks use it to measure a cold start).
- `device(model, options) -> str` (optional): the device a call holds, by the name a price table knows (a GPU's own
  name, or "cpu"); a backend without it runs on the CPU. Each call is priced and checked against the budgets by
  the stage (`aigms.production.generate.costs`); a remote backend that is billed reports the bill as `cost` in
  what `render_segment` returns.

A backend raises `GenerationFailed` for a take that failed (out of memory, NaN or black output, a model it cannot
find); the stage records the reason and retries per policy.
"""

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from aigms.schemas.series import GeneratorSettings, Series
from aigms.schemas.shotlist import Shot

BACKENDS = {
    "animatic": "aigms.production.generate.generators.animatic",
    "diffusers": "aigms.production.generate.generators.diffusers",
}


class GenerationFailed(RuntimeError):
    """A take that did not come out; `retry` says whether another seed may succeed (a missing model will not)."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True)
class Capabilities:
    """What a backend accepts. The stage plans segments, sizes and conditioning from these flags alone."""

    modes: frozenset[str] = frozenset({"t2v"})
    max_segment_seconds: float | None = None  # None: a whole shot in one call
    fps: int | None = None  # native frame rate; None: it makes the delivery's
    size: tuple[int, int] | None = None  # the width × height it was trained at; None: the delivery's
    size_step: int = 2  # width and height are multiples of this
    frame_step: int = 1  # frame counts it accepts are frame_step × k + 1
    first_frame: bool = False  # takes an image as the first frame (image-to-video)
    last_frame: bool = False  # takes an image as the last frame
    video_condition: int = 0  # how many frames of the previous segment it can continue from; 0: none
    reference_images: bool = False  # composes the characters' and location's reference images itself
    keyframes: bool = False  # can make a still keyframe (`render_keyframe`)


@dataclass(frozen=True)
class SegmentRequest:
    """One call of a model: a segment of a shot with its own prompt, conditioned on what came before it."""

    shot: Shot
    series: Series
    model: str
    options: dict[str, Any]
    index: int
    mode: str  # t2v | i2v | extend
    prompt: str
    seed: int
    frames: int
    width: int
    height: int
    fps: int
    image: Path | None = None  # the first frame: a keyframe, or the last frame of the previous segment
    video: Path | None = None  # the end of the previous segment, for a video condition
    negative_prompt: str = ""


@dataclass(frozen=True)
class KeyframeRequest:
    """A shot's first frame as a still, from its prompt and, when given, a layout of its reference images."""

    shot: Shot
    series: Series
    model: str
    options: dict[str, Any]
    prompt: str
    seed: int
    width: int
    height: int
    layout: Path | None = None
    negative_prompt: str = ""


@dataclass(frozen=True)
class Generator:
    """A backend module with the model and options it was named with in `series.yaml` (or a shot's override)."""

    spec: str
    module: ModuleType
    settings: GeneratorSettings = field(default_factory=GeneratorSettings)

    @property
    def name(self) -> str:
        return backend_name(self.spec)

    @property
    def model(self) -> str:
        return self.spec.split(":", 1)[1] if ":" in self.spec else ""

    @property
    def options(self) -> dict[str, Any]:
        return self.settings.options

    def capabilities(self) -> Capabilities:
        return self.module.capabilities(self.model, self.options)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "version": self.module.VERSION, **self.module.identity(self.model, self.options)}


def backend_name(spec: str) -> str:
    """`diffusers:Wan-AI/Wan2.1-T2V-1.3B` names the backend `diffusers` with a model argument."""
    return spec.split(":", 1)[0]


def load_backend(spec: str) -> ModuleType:
    name = backend_name(spec)
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown generator {spec!r}; known backends: {known}")
    return importlib.import_module(BACKENDS[name])


def generator_for(shot: Shot, series: Series) -> Generator:
    """The series' generator, unless the shot names its own (a hero shot on a bigger model, an insert as animatic)."""
    settings = shot.generator or series.generator
    return Generator(settings.backend, load_backend(settings.backend), settings)
