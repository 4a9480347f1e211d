"""An episode's latest delivered cut read back from the project database and the asset store, for the exports
that hand it to other tools (OTIO bundle, Jianying draft): its timeline with every file found by hash, its
subtitles, and each shot's good takes."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production.deliver.delivery import alternate_takes, read_manifest, stored_timeline
from aigms.production.deliver.interchange import Alternate, QCFailure, line_failures
from aigms.production.store import assets
from aigms.schemas.errors import InputError
from aigms.schemas.manifest import LineCheck
from aigms.schemas.timeline import Timeline


@dataclass(frozen=True)
class DeliveredCut:
    timeline: Timeline
    checks: list[LineCheck]
    failures: list[QCFailure]
    subtitles: Path | None
    alternates: dict[str, list[Alternate]]


def latest_cut(session: Session, store: Path, series_id: str, episode_code: str, series_file: Path) -> DeliveredCut:
    """The cut the newest render delivered, with its media found in the store by hash (not where the render left
    them), so it is the same cut whatever moved since."""
    episode = session.scalar(select(models.Episode).filter_by(series_id=series_id, code=episode_code))
    cut = None if episode is None else session.scalar(
        select(models.EpisodeCut).where(models.EpisodeCut.episode_id == episode.id,
                                        models.EpisodeCut.manifest_asset_id.is_not(None))
        .order_by(models.EpisodeCut.id.desc()).limit(1))
    if cut is None:
        raise InputError(series_file, None, f"episode {episode_code} has no delivered cut",
                         f"render it first: `aigms render {episode_code} --series {series_file.parent}`")
    manifest_path = assets.asset_file(store, session.get(models.Asset, cut.manifest_asset_id))
    manifest = read_manifest(manifest_path)
    timeline = stored_timeline(manifest, store, manifest_path)
    subtitles = session.get(models.Asset, cut.subtitles_asset_id) if cut.subtitles_asset_id else None
    return DeliveredCut(timeline, manifest.lines, _take_failures(session, timeline) + line_failures(manifest.lines),
                        assets.asset_file(store, subtitles) if subtitles else None,
                        alternate_takes(session, store, episode.id))


def _take_failures(session: Session, timeline: Timeline) -> list[QCFailure]:
    """Failed checks of the takes this cut holds, as its delivery marked them."""
    shot_of = {clip.take: clip.shot for clip in timeline.picture}
    rows = session.execute(select(models.Take.recipe_sha256, models.QCResult)
                           .join(models.QCResult, models.QCResult.take_id == models.Take.id)
                           .where(models.Take.recipe_sha256.in_(shot_of), models.QCResult.passed.is_(False)))
    return [QCFailure(shot_of[recipe], row.check, row.score, row.threshold, row.reason) for recipe, row in rows]
