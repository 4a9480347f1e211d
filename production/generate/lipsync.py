"""Lip sync as a post step of filming (`lipsync: kling` in series.yaml): a dialogue shot's take, its mouth moved
to the shot's line — recorded or scratch, as the edit will play it — by Kling's lip sync, becomes a new take whose
recipe names the original as its parent. The original stays, selectable again from the dashboard."""

import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import Engine

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production.generate.costs import Meter
from aigms.production.generate.generators import CallContext, GenerationFailed, kling
from aigms.production.generate.takes import KIND_CLIP, Recipe, RenderedTake, _record, found_or_made
from aigms.production.store import assets, media
from aigms.production.store.files import atomic_path
from aigms.schemas.errors import BudgetExceeded
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

MIN_AUDIO_SECONDS = 2.0  # Kling's lip sync takes 2–60 s of sound


def lipsync_recipe(shot: Shot, parent: RenderedTake, line_sha256: str, lead_in: float) -> Recipe:
    return Recipe.of({"kind": KIND_CLIP, "lipsync": {"backend": kling.NAME, "version": kling.VERSION},
                      "parent": parent.recipe_sha256, "shot": shot.filmed(), "line": line_sha256, "lead_in": lead_in})


def kling_video(engine: Engine, take: RenderedTake) -> str | None:
    """The one Kling video that holds the whole take: its only call's, or an extension chain's last (Kling
    returns the whole extended video). A chain of separate clips has none."""
    with session_scope(engine) as session:
        row = session.get(models.Take, take.take_id)
        recipe = row.recipe if row is not None else {}
    calls = recipe.get("calls") or []
    if not calls or (recipe.get("generator") or {}).get("backend") != kling.NAME:
        return None
    if len(calls) > 1 and any(call.get("mode") != "extend" for call in calls[1:]):
        return None
    return calls[-1].get("video_id")


def sync_lips(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, take: RenderedTake,
              line: Path, line_sha256: str, lead_in: float) -> RenderedTake:
    """The lip-synced take of `take`, found by its recipe or made. Raises `GenerationFailed` when the take cannot
    be lip-synced (not a single Kling video) or Kling's task fails."""
    video_id = kling_video(engine, take)
    if video_id is None:
        raise GenerationFailed(f"shot {shot.id}: lip sync needs a take Kling made as one video (one call, or an "
                               "extension chain); this one was not", retry=False)
    recipe = lipsync_recipe(shot, take, line_sha256, lead_in)
    return found_or_made(engine, store, recipe.sha256, lambda: _lipsync(engine, store, series, shot, shot_row_id,
                                                                         take, video_id, line, lead_in, recipe))


def _lipsync(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, take: RenderedTake,
             video_id: str, line: Path, lead_in: float, recipe: Recipe) -> RenderedTake:
    spec = f"{kling.NAME}:lipsync"
    take_id = _record(engine, recipe, spec, take.seed, shot_row_id, models.TAKE_RUNNING)
    meter = Meter.for_take(engine, series, spec, kling.NAME, "lip-sync", "kling", take_id, shot_row_id, shot.id,
                           recipe.sha256, kling.PROVIDER)
    context = CallContext(engine, store, recipe.sha256, take_id, shot_row_id, meter.retake)
    started = time.perf_counter()
    work = assets.scratch_dir(store) / f"lipsync-{recipe.sha256}"
    work.mkdir(exist_ok=True)
    delivery = series.delivery
    try:
        sound = _padded(line, lead_in, work / "line.wav")
        clip = work / "clip.mp4"
        with atomic_path(clip) as temporary, meter.call(models.CALL_LIPSYNC, None, shot.duration, {}) as outcome:
            call = outcome["call"] = kling.render_lipsync(kling.LipSyncRequest(
                shot, video_id, sound, max(1, round(shot.duration * delivery.fps)), delivery.width,
                delivery.height, delivery.fps, context), temporary)
        call = {**call, "cost": outcome["cost"], "currency": outcome["currency"]}
        with session_scope(engine) as session:
            asset = assets.put_file(session, store, clip, "clip", media.probe(clip).as_dict())
            asset_id, path, sha256 = asset.id, assets.asset_file(store, asset), asset.sha256
    except GenerationFailed as failure:
        _record(engine, recipe, spec, take.seed, shot_row_id, models.TAKE_FAILED, failure.reason)
        raise
    except BudgetExceeded:
        raise  # not a failed take: a render with budget left makes it
    except Exception as error:
        _record(engine, recipe, spec, take.seed, shot_row_id, models.TAKE_FAILED, f"{type(error).__name__}: {error}")
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    take_id = _record(engine, recipe, spec, take.seed, shot_row_id, models.TAKE_OK, asset_id=asset_id,
                      seconds=time.perf_counter() - started, made={"calls": [call]})
    return RenderedTake(shot.id, take_id, recipe.sha256, path, sha256, reused=False, seed=take.seed, generator=spec)


def _padded(line: Path, lead_in: float, out: Path) -> Path:
    """The line as the edit places it in the shot (after `lead_in` of silence), at least two seconds long."""
    info = media.probe(line)
    total = max(MIN_AUDIO_SECONDS, lead_in + info.duration)
    delay = round(lead_in * 1000)
    subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(line),
                    "-af", f"adelay={delay}:all=1,apad=whole_dur={total:.3f}", "-ac", "1", "-c:a", "pcm_s16le",
                    str(out)], check=True)
    return out
