"""The `diffusers` backend: any diffusers video pipeline, named by hub id or local folder in `series.yaml`
(`generator: {backend: "diffusers:Wan-AI/Wan2.2-TI2V-5B-Diffusers"}`) — Wan 2.1/2.2, LTX-Video, CogVideoX,
HunyuanVideo, Stable Video Diffusion.

Weights are loaded once per worker process and kept warm across shots; the text-to-video, image-to-video and
condition variants of one family are made from the loaded pipeline with `from_pipe`, which shares the weights.
Frame counts and sizes are read from the loaded pipeline (its VAE's compression and its transformer's patch), so a
new model of a known family needs no table entry.

Options (`generator.options` in `series.yaml`, all optional):
    width, height (int): native size; default: the pipeline's own, reshaped to the delivery's aspect ratio.
    fps (int): native frame rate; default: the pipeline's `frame_rate`, else 16.
    max_frames (int): frames per call; default: the pipeline's `num_frames`.
    steps (int), guidance (float): default: the pipeline's own.
    negative_prompt (str): default "".
    call (dict): further keyword arguments for the pipeline call (e.g. `max_sequence_length`).
    condition_frames (int): frames of the previous segment an LTX condition continues from; default 1 + the VAE's
        temporal compression.
    device ("cpu", "cuda", …), dtype ("float32", "bfloat16", "float16"): default `$AIGMS_DEVICE`, `$AIGMS_DTYPE`,
        else bf16 on CUDA and fp32 on CPU.
    revision (str): hub revision (branch, tag or commit).
    keyframe (str): hub id or folder of a text-to-image pipeline that makes each shot's first frame
        (`render_keyframe`).
    keyframe_steps (int), keyframe_guidance (float), keyframe_strength (float, default 0.75: how far the keyframe
        may move from the layout of the reference images).
"""

import hashlib
import inspect
import json
import math
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from aigms.production.generate import footage
from aigms.production.generate.generators import Capabilities, GenerationFailed, KeyframeRequest, SegmentRequest

NAME = "diffusers"
VERSION = "1"
BLACK = 0.02  # the brightest pixel of an all-black take, on a 0–1 scale
SAMPLE = 1 << 20

# The variants of a family share their weights; `from_pipe` turns the loaded pipeline into the one a mode needs.
FAMILIES: dict[str, dict[str, str]] = {
    "Wan": {"t2v": "WanPipeline", "i2v": "WanImageToVideoPipeline"},
    "LTX": {"t2v": "LTXPipeline", "i2v": "LTXImageToVideoPipeline", "extend": "LTXConditionPipeline"},
    "CogVideoX": {"t2v": "CogVideoXPipeline", "i2v": "CogVideoXImageToVideoPipeline"},
    "HunyuanVideo": {"t2v": "HunyuanVideoPipeline", "i2v": "HunyuanVideoImageToVideoPipeline"},
    "StableVideoDiffusion": {"i2v": "StableVideoDiffusionPipeline"},
}
# What each family's `check_inputs` insists sides are multiples of, whatever its VAE and patch would allow.
SIDE_MULTIPLE = {"Wan": 16, "LTX": 32, "CogVideoX": 8, "HunyuanVideo": 16, "StableVideoDiffusion": 8}
# Families whose every variant runs on the same weights; elsewhere a checkpoint serves only the mode it was
# trained for (CogVideoX's image-to-video transformer takes other inputs than its text-to-video one).
SHARED_WEIGHTS = {"LTX"}


@dataclass
class Warm:
    """A loaded pipeline and the variants made from it. One lock per model: a pipeline's scheduler keeps state,
    so two shots on two threads take turns (as they would on one GPU)."""

    pipeline: Any
    family: str
    device: str
    dtype: Any
    commit: str | None  # the hub snapshot the weights came from; None for a local folder
    variants: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_WARM: dict[tuple[str, ...], Warm] = {}
_LOADING = threading.Lock()
loads: Counter[str] = Counter()  # model → times its weights were read from disk in this process


# 1. Settings: device and dtype


def device_and_dtype(options: dict[str, Any]) -> tuple[str, str]:
    """bf16 on CUDA, fp32 on CPU, unless the options or `$AIGMS_DEVICE` / `$AIGMS_DTYPE` say otherwise."""
    device = options.get("device") or os.environ.get("AIGMS_DEVICE")
    if not device:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = options.get("dtype") or os.environ.get("AIGMS_DTYPE") or ("bfloat16" if device.startswith("cuda")
                                                                       else "float32")
    return device, dtype


def device(model: str, options: dict[str, Any]) -> str:
    """The device a call holds, by the name a price table knows it by: the GPU's own name, or "cpu"."""
    name, _ = device_and_dtype(options)
    if not name.startswith("cuda"):
        return "cpu"
    import torch

    return torch.cuda.get_device_name(torch.device(name))


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """What a take's recipe says about the model, read from config files only (no weights, no torch)."""
    device, dtype = device_and_dtype(options)
    index = _model_index(model, options.get("revision"))
    return {
        "model": model, "revision": _revision(model, options.get("revision")),
        "pipeline": index.get("_class_name") if index else None, "device": device, "dtype": dtype,
    }


def software() -> dict[str, str]:
    """Versions that change pixels; recorded with every take, not part of its identity (an optional function of
    the backend contract)."""
    import torch

    return {name: version(name) for name in ("diffusers", "transformers", "accelerate")} | {"torch": torch.__version__}


def _model_index(model: str, revision: str | None) -> dict[str, Any] | None:
    folder = Path(model)
    if folder.is_dir():
        path = folder / "model_index.json"
        return json.loads(path.read_text()) if path.is_file() else None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, "model_index.json", revision=revision)
    return json.loads(Path(cached).read_text()) if isinstance(cached, str) else None


def _revision(model: str, revision: str | None) -> str:
    """A hub model is named by its revision; a folder by its files: configs whole, weights by their size and their
    first and last MiB (a fine-tune changes every tensor; reading gigabytes on every lookup would not pay)."""
    folder = Path(model)
    if not folder.is_dir():
        return revision or "main"
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}".encode())
        with open(path, "rb") as handle:
            if path.suffix == ".json" or path.stat().st_size <= 2 * SAMPLE:
                digest.update(handle.read())
            else:
                digest.update(handle.read(SAMPLE))
                handle.seek(-SAMPLE, os.SEEK_END)
                digest.update(handle.read(SAMPLE))
    return "folder:" + digest.hexdigest()[:16]


# 2. Loading, once per worker process


def load(model: str, options: dict[str, Any]) -> Warm:
    """The warm pipeline for `model`, read from disk the first time it is asked for in this process."""
    device, dtype = device_and_dtype(options)
    key = (model, options.get("revision") or "", device, dtype)
    with _LOADING:
        if key in _WARM:
            return _WARM[key]
        import torch
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.set_verbosity_error()
        diffusers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        try:
            local = Path(model).is_dir()
            folder = model if local else DiffusionPipeline.download(model, revision=options.get("revision"))
            pipeline = DiffusionPipeline.from_pretrained(folder, dtype=getattr(torch, dtype))
        except (OSError, ValueError) as error:
            raise GenerationFailed(f"model {model!r} cannot be loaded here: {_first_line(error)}", retry=False) from None
        pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        name = type(pipeline).__name__
        family = next((family for family, variants in FAMILIES.items() if name in variants.values()), None)
        if family is None:
            raise GenerationFailed(f"{name} (from {model!r}) is not a video pipeline this backend knows; known: "
                                   + ", ".join(FAMILIES), retry=False)
        commit = None if local else Path(folder).name
        warm = Warm(pipeline, family, device, dtype, commit, {_mode_of(family, name): pipeline})
        _WARM[key] = warm
        loads[model] += 1
        return warm


def release(model: str | None = None) -> None:
    """Forget the warm pipelines of `model`, or of every model: the next shot reads its weights again."""
    with _LOADING:
        for key in [key for key in _WARM if model is None or model in key]:
            del _WARM[key]


def variant(warm: Warm, mode: str) -> Any:
    """The pipeline for a mode, made from the loaded one without reading weights again."""
    with warm.lock:
        if mode not in warm.variants:
            import diffusers

            if mode not in _modes(warm):
                raise GenerationFailed(f"{type(warm.pipeline).__name__} cannot do {mode}", retry=False)
            cls = getattr(diffusers, FAMILIES[warm.family][mode])
            warm.variants[mode] = cls.from_pipe(warm.pipeline, dtype=warm.pipeline.dtype)
            warm.variants[mode].set_progress_bar_config(disable=True)
        return warm.variants[mode]


def _mode_of(family: str, class_name: str) -> str:
    return next(mode for mode, name in FAMILIES[family].items() if name == class_name)


def _modes(warm: Warm) -> set[str]:
    """LTX's weights serve all its variants; Wan 2.2's TI2V layout (`expand_timesteps`) serves text and image."""
    loaded = _mode_of(warm.family, type(warm.pipeline).__name__)
    if warm.family in SHARED_WEIGHTS:
        return set(FAMILIES[warm.family])
    if warm.family == "Wan" and warm.pipeline.config.get("expand_timesteps"):
        return {"t2v", "i2v"}
    return {loaded}


# 3. What the model accepts


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    """Read from the loaded pipeline: frame counts step with the VAE's temporal compression, sides with its
    spatial compression times the transformer's patch, and with what the family checks (Wan 2.1: 4k+1 frames,
    multiples of 16; LTX: 8k+1, 32)."""
    warm = load(model, options)
    pipeline = warm.pipeline
    defaults = _call_defaults(pipeline)
    temporal = _first_attribute(pipeline, ("vae_scale_factor_temporal", "vae_temporal_compression_ratio"), 1)
    spatial = _first_attribute(pipeline, ("vae_scale_factor_spatial", "vae_spatial_compression_ratio",
                                          "vae_scale_factor"), 8)
    fps = int(options.get("fps") or defaults.get("frame_rate") or defaults.get("fps") or 16)
    max_frames = int(options.get("max_frames") or defaults.get("num_frames") or 25)
    width = int(options.get("width") or defaults.get("width") or 832)
    height = int(options.get("height") or defaults.get("height") or 480)
    modes = _modes(warm)
    condition = int(options.get("condition_frames") or temporal + 1) if "extend" in modes else 0
    return Capabilities(
        modes=frozenset(modes), max_segment_seconds=(max_frames - 1) / fps, fps=fps, size=(width, height),
        size_step=math.lcm(spatial * _patch(pipeline), SIDE_MULTIPLE[warm.family]), frame_step=temporal,
        first_frame="i2v" in modes, video_condition=condition,
    )


def _call_defaults(pipeline: Any) -> dict[str, Any]:
    return {
        name: parameter.default for name, parameter in inspect.signature(type(pipeline).__call__).parameters.items()
        if parameter.default is not inspect.Parameter.empty and parameter.default is not None
    }


def _first_attribute(pipeline: Any, names: tuple[str, ...], default: int) -> int:
    return next((int(getattr(pipeline, name)) for name in names if getattr(pipeline, name, None)), default)


def _patch(pipeline: Any) -> int:
    transformer = getattr(pipeline, "transformer", None)
    if transformer is None:
        return 1
    patch = transformer.config.get("patch_size") or 1
    return int(patch[-1] if isinstance(patch, (list, tuple)) else patch)


# 4. Keyframes


def render_keyframe(request: KeyframeRequest, out: Path) -> dict[str, Any]:
    """A still from any diffusers text-to-image pipeline; with a layout of the reference images, image-to-image
    from it, so the cast and the set keep the look of their references."""
    # 1. Load the image pipeline (kept warm like the video ones)
    options = request.options
    model = options["keyframe"]
    warm = _load_image(model, options)
    # 2. Define call parameters
    mode = "image" if request.layout else "text"
    pipeline = _image_variant(warm, mode)
    import torch

    step = int(getattr(pipeline, "vae_scale_factor", 8))
    width, height = _round_to(request.width, step), _round_to(request.height, step)
    defaults = _call_defaults(pipeline)
    steps = int(options.get("keyframe_steps") or defaults.get("num_inference_steps") or 30)
    guidance = float(options.get("keyframe_guidance") or defaults.get("guidance_scale") or 5.0)
    kwargs: dict[str, Any] = {
        "prompt": request.prompt, "negative_prompt": request.negative_prompt or None, "num_inference_steps": steps,
        "guidance_scale": guidance, "output_type": "np",
    }
    if request.layout:
        strength = float(options.get("keyframe_strength", 0.75))
        layout = Image.open(request.layout).convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        kwargs |= {"image": layout, "strength": strength}
    else:
        kwargs |= {"width": width, "height": height}
    # 3. Run
    with warm.lock:
        kwargs["generator"] = torch.Generator(device="cpu").manual_seed(request.seed)
        images = _run(pipeline, kwargs).images
    # 4. Check and write, at the size the video model asked for
    picture = _checked(np.asarray(images)[0:1])[0]
    still = Image.fromarray(picture)
    if still.size != (request.width, request.height):
        still = still.resize((request.width, request.height), Image.Resampling.LANCZOS)
    still.save(out)
    return {"pipeline": type(pipeline).__name__, "model": model, "steps": steps, "guidance": guidance,
            "seed": request.seed, "width": request.width, "height": request.height,
            "strength": kwargs.get("strength")}


def _load_image(model: str, options: dict[str, Any]) -> Warm:
    device, dtype = device_and_dtype(options)
    key = ("image", model, device, dtype)
    with _LOADING:
        if key not in _WARM:
            import torch
            from diffusers import AutoPipelineForText2Image

            try:
                pipeline = AutoPipelineForText2Image.from_pretrained(model, dtype=getattr(torch, dtype))
            except (OSError, ValueError) as error:
                raise GenerationFailed(f"keyframe model {model!r} cannot be loaded here: {_first_line(error)}",
                                       retry=False) from None
            pipeline.to(device)
            pipeline.set_progress_bar_config(disable=True)
            _WARM[key] = Warm(pipeline, "image", device, dtype, None, {"text": pipeline})
            loads[model] += 1
        return _WARM[key]


def _image_variant(warm: Warm, mode: str) -> Any:
    with warm.lock:
        if mode not in warm.variants:
            from diffusers import AutoPipelineForImage2Image

            warm.variants[mode] = AutoPipelineForImage2Image.from_pipe(warm.pipeline, dtype=warm.pipeline.dtype)
            warm.variants[mode].set_progress_bar_config(disable=True)
        return warm.variants[mode]


# 5. A segment


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    """One call of the video pipeline, written losslessly to `out` with exactly `request.frames` frames."""
    # 1. Check inputs
    options = request.options
    warm = load(request.model, options)
    pipeline = variant(warm, request.mode)
    caps = capabilities(request.model, options)
    if request.width % caps.size_step or request.height % caps.size_step or (request.frames - 1) % caps.frame_step:
        raise ValueError(f"{request.width}×{request.height}, {request.frames} frames: not a size and length "
                         f"{type(pipeline).__name__} accepts (sides × {caps.size_step}, frames {caps.frame_step}k+1)")
    # 2. Define call parameters
    import torch

    defaults = _call_defaults(pipeline)
    steps = int(options.get("steps") or defaults.get("num_inference_steps") or 30)
    guidance = float(options.get("guidance") or defaults.get("guidance_scale") or 5.0)
    kwargs: dict[str, Any] = {
        "prompt": request.prompt, "negative_prompt": request.negative_prompt or options.get("negative_prompt") or None,
        "height": request.height, "width": request.width, "num_frames": request.frames,
        "num_inference_steps": steps, "guidance_scale": guidance, "frame_rate": request.fps, "fps": request.fps,
        "output_type": "np", **options.get("call", {}),
    }
    # 3. Conditioning: a first frame, or the end of the previous segment as a video condition
    conditioning: dict[str, Any] = {}
    if request.mode == "i2v":
        kwargs["image"] = _image(request.image, request.width, request.height)
        conditioning["image"] = _sha256(request.image)
    elif request.mode == "extend":
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        frames = [Image.fromarray(frame) for frame in footage.read_frames(request.video)]
        kwargs["conditions"] = [LTXVideoCondition(video=frames, frame_index=0)]
        conditioning["video"] = _sha256(request.video)
    accepted = inspect.signature(type(pipeline).__call__).parameters
    kwargs = {key: value for key, value in kwargs.items() if key in accepted}
    # 4. Denoise and decode (one shot at a time on a warm pipeline)
    with warm.lock:
        kwargs["generator"] = torch.Generator(device="cpu").manual_seed(request.seed)
        video = _run(pipeline, kwargs).frames
    # 5. Check the output, and write it
    frames = _checked(np.asarray(video[0]))
    footage.write_frames(frames, request.fps, out)
    return {
        "index": request.index, "mode": request.mode, "pipeline": type(pipeline).__name__, "prompt": request.prompt,
        "negative_prompt": kwargs.get("negative_prompt"), "seed": request.seed, "steps": steps,
        "guidance": guidance, "frames": request.frames, "width": request.width, "height": request.height,
        "fps": request.fps, "conditioning": conditioning, "call": options.get("call", {}), "commit": warm.commit,
    }


def _run(pipeline: Any, kwargs: dict[str, Any]) -> Any:
    import torch

    try:
        with torch.inference_mode():
            return pipeline(**kwargs)
    except (torch.OutOfMemoryError, MemoryError) as error:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise GenerationFailed(f"out of memory: {_first_line(error)}") from None


def _checked(frames: np.ndarray) -> np.ndarray:
    """A take of NaNs or of black frames is a failed take, not a clip."""
    if not np.isfinite(frames).all():
        raise GenerationFailed("the model returned NaN (try another seed, or float32 instead of float16)")
    if frames.max() < BLACK:
        raise GenerationFailed("the model returned all-black frames")
    return (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)


def _image(path: Path | None, width: int, height: int) -> Image.Image:
    if path is None:
        raise ValueError("image-to-video needs an image")
    image = Image.open(path).convert("RGB")
    return image if image.size == (width, height) else image.resize((width, height), Image.Resampling.LANCZOS)


def _sha256(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def _round_to(value: int, step: int) -> int:
    return max(step, round(value / step) * step)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
