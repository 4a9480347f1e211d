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
- `device(model, options) -> str`: the device a call holds, by the name a price table knows (a GPU's own name, or
  "cpu"); a backend without it runs on the CPU. Each call is priced and checked against the budgets by the stage
  (`aigms.production.generate.costs`); a remote backend that is billed reports the bill as `cost` in what
  `render_segment` returns.
- `check(model, options)`: refuse a misconfigured generator (`InputError`) before any shot is filmed.
- `PROVIDER`: the name of the paid service or server a backend calls (`kling`, `comfyui`); its takes hold the
  Prefect tag `remote-<provider>` instead of the GPU's, and each call is a durable job (`generate.remote`).
- `MODEL_IS_FILE`: the model argument is a file relative to the series folder (a ComfyUI workflow); the backend
  receives it resolved, and its bytes' hash joins the take's recipe.
- `FILE_OPTIONS`: option names that hold files relative to the series folder (an end frame); their hashes join the
  recipe too.
- `RUNTIME_OPTIONS`: option names that change where or how fast a take is made but not its pixels (a server's
  address, a timeout): left out of the recipe, so moving a server films nothing again.

A backend raises `GenerationFailed(reason, retry=...)` for a take that failed (out of memory, NaN or black output,
a model it cannot find, a refused prompt); the stage records the reason on the take's row and, when `retry`, tries
another seed per policy (`options.retries`). Any other exception is a bug: recorded too, and raised.

A segment that is paid for or slow (a remote job) is made idempotent with `request.context` (`CallContext`): the
take's recipe hash and the segment index name the call uniquely, and the project database holds the `model_calls`
ledger where a remote job is recorded before it is sent (`generate.remote`).
"""

import hashlib
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


@dataclass(frozen=True)
class CallContext:
    """Where a model call is recorded: the project database (the `model_calls` ledger, the durable record of a
    remote job), the asset store its result goes into, and the take it serves, named by its recipe hash so a
    call is found again by a render that resumes the take (with `SegmentRequest.index`, an idempotency key)."""

    engine: Engine
    store: Path
    recipe_sha256: str
    take_id: int | None = None
    shot_row_id: int | None = None
    retake: bool = False


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
    count: int = 1  # segments in the shot's chain; the last one is `count - 1`
    context: CallContext | None = None  # None: a call nobody records (benchmarks, a backend's own tests)


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
    context: CallContext | None = None


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
    def keyframes(self) -> bool:
        """Whether takes start from a still: the backend makes them and the options name the image model."""
        return callable(getattr(self.module, "render_keyframe", None)) and bool(self.options.get("keyframe"))

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
    return Generator(settings.backend, load_backend(settings.backend), settings, series.root)
