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

Optional, probed by name (remote cameras need them):

- `PROVIDER`: the name of the paid service or server a backend calls (`kling`, `comfyui`); its takes hold the
  Prefect tag `remote-<provider>` instead of the GPU's, and each call is a durable job (`generate.remote`).
- `MODEL_IS_FILE`: the model argument is a file relative to the series folder (a ComfyUI workflow); the backend
  receives it resolved, and its bytes' hash joins the take's recipe.
- `FILE_OPTIONS`: option names that hold files relative to the series folder (an end frame); their hashes join the
  recipe too.
- `RUNTIME_OPTIONS`: option names that change where or how fast a take is made but not its pixels (a server's
  address, a timeout): left out of the recipe, so moving a server films nothing again.
- `check(model, options)`: refuse a misconfigured generator (`InputError`) before any shot is filmed.

A backend raises `GenerationFailed` for a take that failed (out of memory, NaN or black output, a model it cannot
find); the stage records the reason and retries per policy.
"""

import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy.engine import Engine

from aigms.schemas.series import GeneratorSettings, Series
from aigms.schemas.shotlist import Shot

BACKENDS = {
    "animatic": "aigms.production.generate.generators.animatic",
    "diffusers": "aigms.production.generate.generators.diffusers",
    "kling": "aigms.production.generate.generators.kling",
    "comfyui": "aigms.production.generate.generators.comfyui",
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
class CallContext:
    """Where a model call is recorded: the project database (the `model_calls` ledger, the durable record of a
    remote job), the asset store its result goes into, and the take it serves, named by its recipe hash so a
    call is found again by a render that resumes the take."""

    engine: Engine
    store: Path
    recipe_sha256: str
    take_id: int | None = None
    shot_row_id: int | None = None
    retake: bool = False


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
    count: int = 1  # segments in the shot's chain; the last one is `count - 1`
    context: CallContext | None = None  # None: a call nobody records (benchmarks, a backend's own tests)


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
    root: Path | None = None  # the series folder, where a file named by the model or an option is found

    @property
    def name(self) -> str:
        return backend_name(self.spec)

    @property
    def model(self) -> str:
        model = self.spec.split(":", 1)[1] if ":" in self.spec else ""
        if getattr(self.module, "MODEL_IS_FILE", False) and self.root is not None and model:
            return str(self.root / model)
        return model

    @property
    def options(self) -> dict[str, Any]:
        return self.settings.options

    @property
    def provider(self) -> str | None:
        """The service a remote backend pays or the server it calls; None for a local model."""
        return getattr(self.module, "PROVIDER", None)

    @property
    def recipe_options(self) -> dict[str, Any]:
        """The options that decide the pixels: all of them but where and how fast the work is done."""
        runtime = getattr(self.module, "RUNTIME_OPTIONS", ())
        return {key: value for key, value in self.options.items() if key not in runtime}

    def capabilities(self) -> Capabilities:
        return self.module.capabilities(self.model, self.options)

    def check(self) -> None:
        if hasattr(self.module, "check"):
            self.module.check(self.model, self.options)

    def identity(self) -> dict[str, Any]:
        identity = {"backend": self.name, "version": self.module.VERSION,
                    **self.module.identity(self.model, self.options)}
        files = self._files()
        if files:
            identity["files"] = files
        return identity

    def _files(self) -> dict[str, str | None]:
        """The hash of each file the model or an option names: a workflow edited in place is another camera."""
        named: dict[str, str] = {}
        if getattr(self.module, "MODEL_IS_FILE", False):
            named["model"] = self.model
        for option in getattr(self.module, "FILE_OPTIONS", ()):
            if self.options.get(option):
                named[option] = str(self.options[option])
        files: dict[str, str | None] = {}
        for key, name in named.items():
            path = Path(name) if self.root is None else self.root / name
            files[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        return files


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
    return Generator(settings.backend, load_backend(settings.backend), settings, series.root)
