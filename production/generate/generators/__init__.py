"""Generator backends are plugins. `series.yaml` names one (`animatic`, `diffusers:<hub id or folder>`, a remote
service such as `kling:<model>` or `comfyui:<workflow>`), and aigms finds it by the part before the colon among the
Python entry points of the group `aigms.generators`. Our own backends are registered there the same way
(pyproject.toml), so a backend in another package needs no edit of aigms:

    # the backend's own pyproject.toml
    [project.entry-points."aigms.generators"]
    kling = "aigms_kling"            # a module that follows the contract below

The stages never ask which backend they hold, only what it can do (`Capabilities`) and which optional functions
its module has.

The contract (`Backend`): a module with

- `NAME: str`, `VERSION: str`: the version changes whenever the same request would make other pixels (it is part
  of every take's recipe, so raising it films every shot again).
- `capabilities(model, options) -> Capabilities`: what it accepts. May load the model (a backend keeps it warm);
  it is asked only when a take is to be made, never to find an existing one.
- `identity(model, options) -> dict`: what a take's recipe must say about the model (id, revision, dtype…). Cheap:
  it never loads weights nor calls a service, so an unchanged shot is found without waking a GPU or paying for a
  call. JSON-serialisable.
- `render_segment(request: SegmentRequest, out: Path) -> dict`: one call of the model. Writes `out` (the suffix
  says the container: `.mkv` lossless, `.mp4` H.264; `aigms.production.generate.footage.write_frames` does both)
  with exactly `request.frames` frames at `request.width` × `request.height` and `request.fps`, and returns the
  call's parameters as the take's recipe records them (JSON-serialisable). `out` is a temporary name, renamed once
  the call returns. Raise `GenerationFailed` for a take that did not come out.
- `release(model=None)`: forget warm models (benchmarks use it to measure a cold start).

and, optionally (probed, never required):

- `render_keyframe(request: KeyframeRequest, out: Path) -> dict`: a shot's first frame as a still (PNG), for a
  generator whose `options.keyframe` names the image model to make it with. Without this function, or without that
  option, shots start from text.
- `software() -> dict[str, str]`: versions of the libraries or service that made the pixels, recorded with every
  take beside its recipe (not part of its identity).

A backend raises `GenerationFailed(reason, retry=...)` for a take that failed (out of memory, NaN or black output,
a model it cannot find, a refused prompt); the stage records the reason on the take's row and, when `retry`, tries
another seed per policy (`options.retries`). Any other exception is a bug: recorded too, and raised.

A segment that is paid for or slow (a remote job) can be made idempotent with `request.take`: the take's recipe
hash and the segment index name the call uniquely, `take.work` is a folder kept until the take is whole (a killed
render resumes with it), and `take.engine` is the project database, for a backend that records its jobs.
"""

from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import Engine

from aigms.schemas.series import GeneratorSettings, Series
from aigms.schemas.shotlist import Shot

ENTRY_POINTS = "aigms.generators"


class GenerationFailed(RuntimeError):
    """A take that did not come out; `retry` says whether another seed may succeed (a missing model will not)."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True)
class Capabilities:
    """What a backend accepts. The stage plans segments, sizes and conditioning from these flags alone."""

    modes: frozenset[str] = frozenset({"t2v"})  # t2v, i2v (from a first frame), extend (from a video condition)
    max_segment_seconds: float | None = None  # the longest call; None: a whole shot in one call
    fps: int | None = None  # native frame rate; None: it makes the delivery's
    size: tuple[int, int] | None = None  # the width × height it was trained at; None: the delivery's
    size_step: int = 2  # width and height are multiples of this
    frame_step: int = 1  # frame counts it accepts are frame_step × k + 1
    first_frame: bool = False  # takes an image as the first frame (image-to-video): a keyframe, or a chain's link
    video_condition: int = 0  # how many frames of the previous segment it can continue from; 0: none
    reference_images: bool = False  # reads the cast's and the set's reference images itself (from the request's
    #                                 shot and series): its keyframes get no layout of them


@dataclass(frozen=True, kw_only=True)
class TakeContext:
    """The take a request belongs to, for a backend that must remember work across a crash (a remote job's id, kept
    before the job is paid for) or record it: with `SegmentRequest.index`, `recipe_sha256` is an idempotency key."""

    recipe_sha256: str  # the take's identity
    work: Path  # the take's scratch folder: kept until the take is whole, so a resumed render finds what is in it
    engine: Engine | None = None  # the project database
    store: Path | None = None  # the asset store
    shot_row_id: int | None = None  # the shot's row, when the take is filmed for an episode


@dataclass(frozen=True, kw_only=True)
class SegmentRequest:
    """One call of a model: a segment of a shot with its own prompt, conditioned on what came before it. Fields are
    keyword-only, so new ones can be added (with defaults) without breaking a backend."""

    shot: Shot
    series: Series
    model: str  # the part of the generator's name after the colon
    options: dict[str, Any]  # `generator.options` from series.yaml (part of the recipe)
    index: int  # the segment's place in the take's chain, from 0
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
    take: TakeContext | None = None


@dataclass(frozen=True, kw_only=True)
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
    layout: Path | None = None  # the location's plate with the cast placed in it (`storyboard.previs.layout`)
    negative_prompt: str = ""
    take: TakeContext | None = None


@runtime_checkable
class Backend(Protocol):
    """The module contract every backend follows (see the module docstring); `render_keyframe` and `software` are
    optional and probed with `Generator.keyframes` / `Generator.software`."""

    NAME: str
    VERSION: str

    def capabilities(self, model: str, options: dict[str, Any]) -> Capabilities: ...

    def identity(self, model: str, options: dict[str, Any]) -> dict[str, Any]: ...

    def render_segment(self, request: SegmentRequest, out: Path) -> dict[str, Any]: ...

    def release(self, model: str | None = None) -> None: ...


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

    @property
    def keyframes(self) -> bool:
        """Whether takes start from a still: the backend makes them and the options name the image model."""
        return callable(getattr(self.module, "render_keyframe", None)) and bool(self.options.get("keyframe"))

    def capabilities(self) -> Capabilities:
        return self.module.capabilities(self.model, self.options)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "version": self.module.VERSION, **self.module.identity(self.model, self.options)}

    def software(self) -> dict[str, str] | None:
        report = getattr(self.module, "software", None)
        return report() if callable(report) else None


def backend_name(spec: str) -> str:
    """`diffusers:Wan-AI/Wan2.1-T2V-1.3B` names the backend `diffusers` with a model argument."""
    return spec.split(":", 1)[0]


@cache
def registered() -> dict[str, EntryPoint]:
    """Every backend installed beside aigms, by name; read once per process (scanning the installed packages'
    metadata takes ~80 ms)."""
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINTS)}


def load_backend(spec: str) -> ModuleType:
    """The module registered under the spec's backend name, checked against the contract."""
    name = backend_name(spec)
    found = registered()
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ValueError(f"unknown generator {spec!r}; installed backends: {known} (a backend registers itself "
                         f"under the entry-point group {ENTRY_POINTS!r})")
    module = found[name].load()
    if not isinstance(module, Backend):
        missing = [member for member in ("NAME", "VERSION", "capabilities", "identity", "render_segment", "release")
                   if not hasattr(module, member)]
        raise ValueError(f"generator {name!r} ({found[name].value}) lacks {', '.join(missing)} of the backend "
                         "contract (see aigms.production.generate.generators)")
    return module


def generator_for(shot: Shot, series: Series) -> Generator:
    """The series' generator, unless the shot names its own (a hero shot on a bigger model, an insert as animatic)."""
    settings = shot.generator or series.generator
    return Generator(settings.backend, load_backend(settings.backend), settings)
