"""Filming a shot: keyframe → segments (t2v | i2v | extend) → the joined native clip → the clip conformed to the
delivery spec. A take is identified by the hash of everything that made it (shot, generator, model and revision,
seed, the bytes of every reference image and of the keyframe), so the same inputs find the existing take instead
of rendering again; its row keeps the full recipe, every model call included, so it can be made again exactly.

A take that fails (out of memory, NaN or black frames, a model that cannot be found) is recorded with its reason
and retried with another seed per policy (`generator.options.retries`, default 1); a shot whose every take failed
is stood in for by its animatic, so the episode goes on. A take that comes out but fails its consistency checks
(`aigms.production.qc.checks`) is filmed again with a new seed, up to `qc.retakes` takes a shot.

"Already made" has one answer: `find_take`, the asset store's lookup by recipe. A recipe is built once per take
(its reference images hashed once per shot) and its hash passed along to whatever makes the take. Two renders that
need the same recipe at once (two workers, a dashboard film job beside a CLI render) do not both film it: the first
holds it (`claimed`) while the other waits, then finds the take made."""

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from aigms.db import models, status
from aigms.db.session import session_scope
from aigms.production import progress, qc
from aigms.production.bible import shot_references
from aigms.production.generate import footage
from aigms.production.generate.conform import conform
from aigms.production.generate.costs import Meter, RetakeCapReached
from aigms.production.render_lock import held
from aigms.production.generate.generators import (CallContext, Capabilities, GenerationFailed, Generator,
                                                  KeyframeRequest, SegmentRequest, generator_for, load_backend)
from aigms.production.store import assets, media
from aigms.production.store.assets import canonical_sha256
from aigms.production.store.files import atomic_path, atomic_write_text
from aigms.production.storyboard import previs
from aigms.schemas.errors import BudgetExceeded
from aigms.schemas.series import GeneratorSettings, Series
from aigms.schemas.shotlist import Segment, Shot, ShotList

MAX_SHOT_SECONDS = 180.0
KIND_CLIP, KIND_KEYFRAME = models.TAKE_CLIP, models.TAKE_KEYFRAME


@dataclass(frozen=True)
class RenderedTake:
    shot_id: str
    take_id: int
    recipe_sha256: str
    clip: Path
    clip_sha256: str
    reused: bool
    seed: int = 0
    generator: str = ""
    calls: int = 1  # model calls the clip was made of (the QC looks for seams between them)


@dataclass
class ShotResult:
    """The takes one render made or found for a shot, the one selected for the edit, and why others failed."""

    selected: RenderedTake
    takes: list[RenderedTake] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


# Seeds and segments


def take_seed(base: int, shot_id: str, take: int, attempt: int = 0) -> int:
    """Unrelated noise for every shot, take and retry, all moved together by the series' seed."""
    digest = hashlib.sha256(f"{base}:{shot_id}:{take}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def split_segments(shot: Shot, max_seconds: float | None) -> list[Segment]:
    """The storyboard's segments (or the whole shot as one, with its prompt), each longer than the model can make
    in one call cut into equal parts that keep its prompt; the first continues nothing, the others extend."""
    planned = shot.segments or [Segment(index=0, start=0.0, duration=shot.duration, mode="t2v",
                                        prompt=shot.prompt or shot.text)]
    segments: list[Segment] = []
    for segment in planned:
        parts = 1 if max_seconds is None else max(1, math.ceil(segment.duration / max_seconds - 1e-9))
        for part in range(parts):
            segments.append(Segment(
                index=len(segments), start=round(segment.start + part * segment.duration / parts, 6),
                duration=round(segment.duration / parts, 6), mode="extend" if segments else segment.mode,
                prompt=segment.prompt or shot.prompt or shot.text,
            ))
    return segments


def snap_frames(frames: int, step: int) -> int:
    """The smallest count the model accepts (step × k + 1) that holds `frames`."""
    return step * math.ceil(max(frames - 1, 0) / step) + 1


def native_size(caps: Capabilities, width: int, height: int) -> tuple[int, int]:
    """The model's own number of pixels in the delivery's shape, each side a multiple of what it accepts."""
    if caps.size is None:
        return width, height
    area, aspect = caps.size[0] * caps.size[1], width / height
    step = caps.size_step
    return (max(step, round(math.sqrt(area * aspect) / step) * step),
            max(step, round(math.sqrt(area / aspect) / step) * step))


# Recipes


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the pixels of a take, and nothing else (not file paths, not the time of day), with
    its hash: the take's identity, built once and passed to whatever finds or makes the take."""

    data: dict[str, Any]
    sha256: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> "Recipe":
        return cls(data, canonical_sha256(data))


def reference_hashes(series: Series, shot: Shot) -> dict[str, str]:
    """The bytes of every reference image of the shot, hashed: once per shot, however many takes it gets."""
    return {reference.label: assets.sha256_file(series.root / reference.path)
            for reference in shot_references(series, shot)}


def take_recipe(shot: Shot, series: Series, seed: int, generator: Generator | None = None,
                keyframe_sha256: str | None = None, references: dict[str, str] | None = None) -> Recipe:
    generator = generator or generator_for(shot, series)
    return Recipe.of({
        "kind": KIND_CLIP,
        "generator": generator.identity(),
        "options": generator.recipe_options,
        "seed": seed,
        "style": series.style,
        "delivery": series.delivery.model_dump(mode="json"),
        "shot": shot.filmed(),
        "cast": {key: series.characters[key].model_dump(mode="json") for key in shot.characters},
        "location": series.locations[shot.location].model_dump(mode="json") if shot.location else None,
        "references": reference_hashes(series, shot) if references is None else references,
        "keyframe": keyframe_sha256,
    })


def keyframe_recipe(shot: Shot, series: Series, seed: int, generator: Generator,
                    references: dict[str, str] | None = None) -> Recipe:
    return Recipe.of({
        "kind": KIND_KEYFRAME, "generator": generator.identity(), "options": generator.recipe_options, "seed": seed,
        "style": series.style, "prompt": _first_prompt(shot), "shot": shot.id,
        "cast": {key: series.characters[key].model_dump(mode="json") for key in shot.characters},
        "references": reference_hashes(series, shot) if references is None else references,
    })


def _first_prompt(shot: Shot) -> str:
    return shot.segments[0].prompt if shot.segments else (shot.prompt or shot.text)


# Finding and recording takes


def find_take(engine: Engine, store: Path, recipe_sha256: str) -> RenderedTake | None:
    """The take made from this recipe, while its row says it came out and its file is in the store: the one
    answer to "is it already made?" for keyframes, takes, resumed and re-run renders alike."""
    with session_scope(engine) as session:
        take = session.scalar(select(models.Take).where(models.Take.recipe_sha256 == recipe_sha256))
        if take is None or take.status != models.TAKE_OK or take.asset is None:
            return None
        if not assets.has_file(store, take.asset):
            return None
        shot_code = take.recipe["shot"]["id"] if take.kind == KIND_CLIP else take.recipe["shot"]
        return RenderedTake(shot_code, take.id, recipe_sha256, assets.asset_file(store, take.asset),
                            take.asset.sha256, reused=True, seed=take.seed, generator=take.generator,
                            calls=len(take.recipe.get("calls") or [None]))


@contextmanager
def claimed(engine: Engine, recipe_sha256: str) -> Iterator[None]:
    """Hold the recipe while finding or making its take: a render beside this one that needs the same recipe waits
    here, then finds the take this one made (`find_take`) rather than filming it again into the same work folder and
    paying twice. A claim whose render was killed is taken over like an episode's (`render_lock`)."""
    with held(engine, f"take-{recipe_sha256}", "-", wait=True):
        yield


class NotMade(Exception):
    """A take `found_shot` would have had to make: it only looks."""


def found_or_made(engine: Engine, store: Path, recipe_sha256: str,
                  make: Callable[[], RenderedTake] | None) -> RenderedTake:
    """The take of the recipe, found, or made by `make` under the recipe's claim (looked for again once held: the
    render that held it before may have made it); `NotMade`, without a claim, where there is no `make`."""
    found = find_take(engine, store, recipe_sha256)
    if found is not None:
        return found
    if make is None:
        raise NotMade(recipe_sha256)
    with claimed(engine, recipe_sha256):
        return find_take(engine, store, recipe_sha256) or make()


def _record(engine: Engine, recipe: Recipe, spec: str, seed: int, shot_row_id: int | None, state: str,
            reason: str | None = None, asset_id: int | None = None, seconds: float | None = None,
            made: dict[str, Any] | None = None) -> int:
    """The take's row, its recipe with what making it added (`made`: the model calls, the native clip, the
    software); a take starting to be filmed puts its shot in progress (`wip`) in the same transaction. Two renders
    writing the first row of a recipe at once: the database keeps one, and the other writes to it."""
    try:
        return _write(engine, recipe, spec, seed, shot_row_id, state, reason, asset_id, seconds, made)
    except IntegrityError:
        return _write(engine, recipe, spec, seed, shot_row_id, state, reason, asset_id, seconds, made)


def _write(engine: Engine, recipe: Recipe, spec: str, seed: int, shot_row_id: int | None, state: str,
           reason: str | None, asset_id: int | None, seconds: float | None, made: dict[str, Any] | None) -> int:
    with session_scope(engine) as session:
        take = session.scalar(select(models.Take).where(models.Take.recipe_sha256 == recipe.sha256))
        if take is None:
            take = models.Take(recipe_sha256=recipe.sha256)
            session.add(take)
        take.kind, take.shot_id, take.recipe, take.generator, take.seed = (
            recipe.data["kind"], shot_row_id, {**recipe.data, **(made or {})}, spec, seed)
        take.status, take.failure_reason, take.asset_id, take.render_seconds = state, reason, asset_id, seconds
        if state == models.TAKE_RUNNING and shot_row_id is not None:
            status.filming(session.get(models.Shot, shot_row_id))
        session.flush()
        return take.id


def _select(engine: Engine, shot_row_id: int | None, take_id: int) -> None:
    if shot_row_id is None:
        return
    with session_scope(engine) as session:
        shot = session.get(models.Shot, shot_row_id)
        if shot.selected_take_id != take_id:
            shot.selected_take_id = take_id


def check_generators(series: Series, shots: list[Shot]) -> None:
    """Refuse a misconfigured generator (a workflow without its bindings, a Kling account without keys) before any
    shot is filmed, rather than at the first shot that uses it."""
    seen: set[str] = set()
    for shot in shots:
        generator = generator_for(shot, series)
        key = canonical_sha256([generator.spec, generator.options])
        if key not in seen:
            seen.add(key)
            generator.check()


def _meter(engine: Engine, series: Series, generator: Generator, take_id: int, shot_row_id: int | None,
           shot_code: str, recipe: Recipe) -> Meter:
    device = generator.module.device(generator.model, generator.options) if hasattr(generator.module, "device") \
        else "cpu"
    return Meter.for_take(engine, series, generator.spec, generator.name, generator.model, device, take_id,
                          shot_row_id, shot_code, recipe.sha256, generator.provider)


# Keyframes


def make_keyframe(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, recipe: Recipe,
                  seed: int, generator: Generator) -> RenderedTake:
    """Make the shot's first frame as a reviewable still (`find_take` first: this makes it, whatever is stored),
    from the reference images laid out (location plate, cast) when the shot has any and the backend does not read
    them itself. Its call is priced and checked against the budgets like any other."""
    keyframe_id = _record(engine, recipe, generator.spec, seed, shot_row_id, models.TAKE_RUNNING)
    progress.report(progress.KEYFRAME, shot=shot.id)
    meter = _meter(engine, series, generator, keyframe_id, shot_row_id, shot.id, recipe)
    started = time.perf_counter()
    caps = generator.capabilities()
    width, height = native_size(caps, series.delivery.width, series.delivery.height)
    work = assets.scratch_dir(store) / f"keyframe-{recipe.sha256}"
    work.mkdir(exist_ok=True)
    try:
        layout = None
        if recipe.data["references"] and not caps.reference_images:
            layout = work / "layout.png"
            previs.layout(shot, series, width, height, seed).save(layout)
        request = KeyframeRequest(
            shot=shot, series=series, model=generator.model, options=generator.options, prompt=_first_prompt(shot),
            seed=seed, width=width, height=height, layout=layout,
            negative_prompt=generator.options.get("negative_prompt", ""),
            context=CallContext(engine, store, recipe.sha256, keyframe_id, shot_row_id, meter.retake))
        still = work / "keyframe.png"
        with meter.call(models.CALL_KEYFRAME, None, 0.0, {"prompt": request.prompt, "seed": seed, "width": width,
                                                          "height": height}) as outcome:
            outcome["call"] = generator.module.render_keyframe(request, still)
        call = {**outcome["call"], "cost": outcome["cost"], "currency": outcome["currency"]}
        with session_scope(engine) as session:
            asset = assets.put_file(session, store, still, "keyframe", {"width": width, "height": height})
            asset_id, path, sha256 = asset.id, assets.asset_file(store, asset), asset.sha256
    except GenerationFailed as failure:
        _record(engine, recipe, generator.spec, seed, shot_row_id, models.TAKE_FAILED, f"keyframe: {failure.reason}")
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    take_id = _record(engine, recipe, generator.spec, seed, shot_row_id, models.TAKE_OK,
                      asset_id=asset_id, seconds=time.perf_counter() - started, made={"call": call})
    return RenderedTake(shot.id, take_id, recipe.sha256, path, sha256, reused=False, seed=seed,
                        generator=generator.spec)


def current_keyframes(engine: Engine, store: Path, series: Series, shotlist: ShotList) -> dict[str, Path]:
    """Keyframes made for the shots exactly as they now stand (the still the first take will start from)."""
    stills = {}
    for shot in shotlist.shots:
        generator = generator_for(shot, series)
        if generator.keyframes:
            seed = take_seed(generator.settings.seed, shot.id, 0)
            found = find_take(engine, store, keyframe_recipe(shot, series, seed, generator).sha256)
            if found is not None:
                stills[shot.id] = found.clip
    return stills


# Filming


def film(generator: Generator, shot: Shot, series: Series, seed: int, keyframe: Path | None, work: Path,
         out: Path, context: CallContext | None = None,
         meter: Meter | None = None) -> tuple[Path | None, list[dict[str, Any]]]:
    """Write the delivered clip to `out`; return the native clip (None when the backend films at the delivery
    spec) and the parameters of every model call. `context` names the take each call serves, for the ledger;
    `meter` prices each call and checks it against the budgets before it is made.

    A chain: segment k+1 starts from the end of segment k — its last frames as a video condition where the model
    takes one, else its last frame as the first image — and the frames it repeats are dropped when joining."""
    # 1. What the model accepts
    if shot.duration > MAX_SHOT_SECONDS:
        raise GenerationFailed(f"shot {shot.id} runs {shot.duration:.0f} s; a shot is at most "
                               f"{MAX_SHOT_SECONDS:.0f} s — split it in the shot list", retry=False)
    caps = generator.capabilities()
    delivery = series.delivery
    fps = caps.fps or delivery.fps
    width, height = native_size(caps, delivery.width, delivery.height)
    extend = caps.video_condition > 0 and "extend" in caps.modes
    overlap = caps.video_condition if extend else (1 if caps.first_frame else 0)
    max_seconds = None
    if caps.max_segment_seconds is not None:
        max_frames = round(caps.max_segment_seconds * fps) + 1
        max_seconds = (max_frames - overlap) / fps
    # 2. Plan the segments in frames of the native clip
    segments = split_segments(shot, max_seconds)
    if overlap == 0 and len(segments) > 1 and caps.max_segment_seconds is None:
        segments = split_segments(shot.model_copy(update={"segments": []}), None)
    total = max(1, round(shot.duration * fps))
    ends = [round(sum(s.duration for s in segments[: k + 1]) / shot.duration * total) for k in range(len(segments))]
    ends[-1] = total
    delivered_frames = max(1, round(shot.duration * delivery.fps))
    direct = caps.size is None and caps.fps is None and len(segments) == 1
    # 3. Film the chain
    calls: list[dict[str, Any]] = []
    pieces: list[tuple[Path, int, int]] = []
    start = 0
    for k, segment in enumerate(segments):
        progress.report(progress.SEGMENT, shot=shot.id, segment=k + 1, segments=len(segments))
        keep = max(1, ends[k] - start)
        start += keep
        image = video = None
        if k == 0:
            mode, skip, image = ("i2v", 0, keyframe) if keyframe and caps.first_frame else ("t2v", 0, None)
        elif extend:
            previous, first, count = pieces[-1]
            skip = min(caps.video_condition, first + count)
            skip = (skip - 1) // caps.frame_step * caps.frame_step + 1
            mode, video = "extend", footage.extract(previous, first + count - skip, skip, work / f"condition-{k}.mkv")
        elif caps.first_frame:
            previous, first, count = pieces[-1]
            mode, skip, image = "i2v", 1, footage.extract(previous, first + count - 1, 1, work / f"last-{k}.png")
        else:
            mode, skip = "t2v", 0
        frames = delivered_frames if direct else snap_frames(keep + skip, caps.frame_step)
        path = out if direct else work / f"segment-{k:03d}.mkv"
        request = SegmentRequest(
            shot=shot, series=series, model=generator.model, options=generator.options, index=k, mode=mode,
            prompt=segment.prompt, seed=seed, frames=frames, width=delivery.width if direct else width,
            height=delivery.height if direct else height, fps=delivery.fps if direct else fps, image=image,
            video=video, negative_prompt=generator.options.get("negative_prompt", ""), count=len(segments),
            context=context,
        )
        calls.append(_call(generator, request, path, meter) if direct else _segment(generator, request, path, meter))
        pieces.append((path, skip, keep))
    if direct:
        return None, calls
    # 4. Join, keep the native clip, conform to the delivery spec
    joined, native = work / "native.mkv", work / "native.mp4"
    footage.join(pieces, fps, joined)
    footage.join([(joined, 0, total)], fps, native)
    conform(joined, delivery, delivered_frames, out, generator.options.get("fit", "crop"),
            generator.options.get("motion", "duplicate"), series.edit.gop)
    return native, calls


def _call(generator: Generator, request: SegmentRequest, path: Path, meter: Meter | None) -> dict[str, Any]:
    """One model call, priced and checked against the budgets when metered; its cost joins what it returns."""
    if meter is None:
        return generator.module.render_segment(request, path)
    asked = {"mode": request.mode, "prompt": request.prompt, "seed": request.seed, "frames": request.frames,
             "width": request.width, "height": request.height, "fps": request.fps}
    with meter.call(models.CALL_SEGMENT, request.index, request.frames / request.fps, asked) as outcome:
        outcome["call"] = generator.module.render_segment(request, path)
    return {**outcome["call"], "cost": outcome["cost"], "currency": outcome["currency"]}


def _segment(generator: Generator, request: SegmentRequest, path: Path, meter: Meter | None) -> dict[str, Any]:
    """One model call of a chain, kept in the take's work folder (named for its recipe) with the parameters it was
    called with: a render killed or interrupted half way through a three-minute continuation starts again at the
    segment it stopped in, from the same frames, not at the first."""
    called = path.with_suffix(".json")
    if path.is_file() and called.is_file():
        return json.loads(called.read_text())
    with atomic_path(path) as temporary:
        call = _call(generator, request, temporary, meter)
    atomic_write_text(called, json.dumps(call))
    return call


def film_take(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, recipe: Recipe,
              seed: int, generator: Generator, keyframe: RenderedTake | None) -> RenderedTake:
    """Film the take of this recipe (`find_take` first: this films it, whatever is stored), every segment
    chained, each call priced and checked against the budgets (`costs.Meter`). Raises `GenerationFailed` after
    recording it; a budget reached leaves the take running, its finished segments kept, until a render may go on."""
    take_id = _record(engine, recipe, generator.spec, seed, shot_row_id, models.TAKE_RUNNING)
    meter = _meter(engine, series, generator, take_id, shot_row_id, shot.id, recipe)
    context = CallContext(engine, store, recipe.sha256, take_id, shot_row_id, meter.retake)
    started = time.perf_counter()
    work = assets.scratch_dir(store) / f"take-{recipe.sha256}"
    work.mkdir(exist_ok=True)
    clip = work / "clip.mp4"
    made: dict[str, Any] = {}
    try:
        with atomic_path(clip) as temporary:
            native, calls = film(generator, shot, series, seed, keyframe.clip if keyframe else None, work, temporary,
                                 context, meter)
        info = media.probe(clip)
        with session_scope(engine) as session:
            if native is not None:
                made["native"] = assets.put_file(session, store, native, "clip-native",
                                                 media.probe(native).as_dict()).sha256
            asset = assets.put_file(session, store, clip, "clip", info.as_dict())
            asset_id, path, sha256 = asset.id, assets.asset_file(store, asset), asset.sha256
    except GenerationFailed as failure:
        _record(engine, recipe, generator.spec, seed, shot_row_id, models.TAKE_FAILED, failure.reason)
        shutil.rmtree(work, ignore_errors=True)
        raise
    except BudgetExceeded:
        raise  # not a failed take: it stays running, its finished segments kept, until a render may go on
    except Exception as error:
        _record(engine, recipe, generator.spec, seed, shot_row_id, models.TAKE_FAILED,
                f"{type(error).__name__}: {error}")
        raise
    shutil.rmtree(work, ignore_errors=True)
    made["calls"] = calls
    software = generator.software()
    if software is not None:
        made["software"] = software
    take_id = _record(engine, recipe, generator.spec, seed, shot_row_id, models.TAKE_OK, asset_id=asset_id,
                      seconds=time.perf_counter() - started, made=made)
    return RenderedTake(shot.id, take_id, recipe.sha256, path, sha256, reused=False, seed=seed,
                        generator=generator.spec, calls=len(calls))


# A shot: its takes, retakes and checks


@dataclass(frozen=True)
class Steps:
    """The three steps of making a take, as `render_shot` calls them: the functions themselves by default; the
    episode flow passes the same functions as Prefect tasks, so each is tagged for the GPU (keyframe, film) or not
    (QC) and shown on its own, while finding what is already made and the retake policy stay here, in one place."""

    keyframe: Callable[..., RenderedTake] = make_keyframe
    film: Callable[..., RenderedTake] = film_take
    check: Callable[..., qc.Verdict] = qc.check_take
    make: bool = True  # False: find takes and keyframes only (`found_shot`)


def keyframe_for(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, seed: int,
                 generator: Generator, references: dict[str, str] | None = None,
                 steps: Steps = Steps()) -> RenderedTake | None:
    """The still a take of this seed starts from, found by its recipe or made; None when the generator makes no
    keyframes."""
    if not generator.keyframes:
        return None
    recipe = keyframe_recipe(shot, series, seed, generator, references)
    make = partial(steps.keyframe, engine, store, series, shot, shot_row_id, recipe, seed, generator)
    return found_or_made(engine, store, recipe.sha256, make if steps.make else None)


def _find_or_film(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, seed: int,
                  generator: Generator, references: dict[str, str], steps: Steps) -> RenderedTake:
    """One take: its keyframe and its clip each found by recipe, or made by the step."""
    keyframe = keyframe_for(engine, store, series, shot, shot_row_id, seed, generator, references, steps)
    recipe = take_recipe(shot, series, seed, generator, keyframe.clip_sha256 if keyframe else None, references)
    make = partial(steps.film, engine, store, series, shot, shot_row_id, recipe, seed, generator, keyframe)
    return found_or_made(engine, store, recipe.sha256, make if steps.make else None)


def render_take(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None,
                seed: int | None = None, generator: Generator | None = None) -> RenderedTake:
    """One take of the shot, found or filmed (with its keyframe when the generator makes one), unchecked."""
    generator = generator or generator_for(shot, series)
    seed = take_seed(generator.settings.seed, shot.id, 0) if seed is None else seed
    return _find_or_film(engine, store, series, shot, shot_row_id, seed, generator, reference_hashes(series, shot),
                         Steps())


def _check(engine: Engine, store: Path, series: Series, shot: Shot, take: RenderedTake,
           steps: Steps) -> qc.Verdict:
    """A take found again keeps its scores and is judged on them at once; a new one is checked by the step. The
    frames the checks across shots compare are kept as the take is decoded, in the store's QC folder."""
    samples = qc.samples_file(assets.derived_dir(store, "qc"), take.clip_sha256)
    if take.reused:
        return qc.check_take(engine, series, shot, take.take_id, take.clip, take.calls, reused=True,
                             samples=samples)
    return steps.check(engine, series, shot, take.take_id, take.clip, take.calls, samples=samples)


def render_shot(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, takes: int = 1,
                seed: int | None = None, steps: Steps = Steps()) -> ShotResult:
    """`takes` takes of the shot, each retried with a fresh seed when it fails (up to `options.retries` times,
    never for a model that cannot be found). Seeds derive from the shot id unless `seed` is given (then take k's
    first attempt uses seed + k).

    Retake policy: every take is checked (`aigms.production.qc.checks`) as soon as it is made; while none passes, more
    takes with new seeds follow, up to `qc.retakes` takes in all. The best-scoring take is selected; a shot none of
    whose takes passes keeps its best take and is flagged (a warning here, failed checks on the dashboard)."""
    generator = generator_for(shot, series)
    references = reference_hashes(series, shot)
    retries = int(generator.options.get("retries", 1))
    cap = max(takes, series.qc.retakes) if series.qc.enabled else takes
    made: list[RenderedTake] = []
    verdicts: dict[int, qc.Verdict] = {}
    failures: list[str] = []
    capped = False
    for take in range(cap):
        if capped or take >= takes and (not verdicts or any(verdict.passed for verdict in verdicts.values())):
            break  # retakes answer takes that came out and failed QC, not a generator that cannot film the shot
        for attempt in range(retries + 1):
            chosen = (take_seed(generator.settings.seed, shot.id, take, attempt) if seed is None
                      else seed + take + attempt * cap)
            progress.report(progress.TAKE, shot=shot.id, take=take + 1, takes=max(takes, take + 1))
            try:
                made.append(_find_or_film(engine, store, series, shot, shot_row_id, chosen, generator, references,
                                          steps))
            except RetakeCapReached as reached:
                if not made:
                    raise
                failures.append(f"shot {shot.id}: {reached}")
                capped = True
                break
            except GenerationFailed as failure:
                failures.append(f"shot {shot.id} take {take + 1} (seed {chosen}): {failure.reason}")
                if not failure.retry:
                    break
                continue
            if series.qc.enabled:
                progress.report(progress.QC, shot=shot.id, take=take + 1)
                verdicts[made[-1].take_id] = _check(engine, store, series, shot, made[-1], steps)
            break
    if not made:
        stand_in = Generator("animatic", load_backend("animatic"), GeneratorSettings(seed=generator.settings.seed))
        made.append(_find_or_film(engine, store, series, shot, shot_row_id,
                                  take_seed(stand_in.settings.seed, shot.id, 0), stand_in, references, steps))
        failures.append(f"shot {shot.id}: every take failed; its animatic stands in")
        if series.qc.enabled:
            verdicts[made[-1].take_id] = _check(engine, store, series, shot, made[-1], steps)
    selected = made[0]
    if verdicts:
        best = max(verdicts.values(), key=lambda verdict: (verdict.passed, verdict.score))
        selected = next(take for take in made if take.take_id == best.take_id)
        if not best.passed:
            failures.append(f"shot {shot.id}: no take passed QC in {len(verdicts)} take(s); take {best.take_id} "
                            f"(seed {selected.seed}) is cut in and flagged for a person — {best.failed()}")
    _select(engine, shot_row_id, selected.take_id)
    return ShotResult(selected, made, failures)


def found_shot(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None,
               takes: int = 1) -> ShotResult | None:
    """The shot as `render_shot` leaves it when every take it needs is in the store (found by recipe, judged on
    the scores it kept), or None, having made nothing, where a take or a keyframe would have to be made. The
    episode flow looks for each shot this way before it gives the shot a task: finding costs a few queries,
    where a task run costs Prefect's bookkeeping in this process and on its server."""
    try:
        return render_shot(engine, store, series, shot, shot_row_id, takes, steps=Steps(make=False))
    except NotMade:
        return None
