"""Stills made from clips for people to look at: a poster frame per clip, so a grid of fifty shots loads as fifty
small JPEGs instead of fifty videos. Made once, kept in the asset store like every other file."""

import uuid
from pathlib import Path

import ffmpeg
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production.store import assets, media

POSTER = "poster"
POSTER_WIDTH = 480


def poster(session: Session, store: Path, clip: models.Asset) -> models.Asset:
    """The clip's frame at a third of its length (past any fade-in), scaled to POSTER_WIDTH pixels wide."""
    found = session.get(models.AssetPreview, (clip.id, POSTER))
    if found is not None:
        still = session.get(models.Asset, found.asset_id)
        if still is not None and assets.has_file(store, still):
            return still
    duration = float((clip.media or {}).get("duration") or 0.0)
    scratch = assets.scratch_dir(store) / f"poster-{uuid.uuid4().hex}.jpg"
    stream = (
        ffmpeg.input(str(assets.asset_file(store, clip)), ss=round(duration / 3, 3))
        .filter("scale", POSTER_WIDTH, -2)
        .output(str(scratch), vframes=1, **{"q:v": 4})
    )
    media.run(stream)
    still = assets.put_file(session, store, scratch, "still", {"width": POSTER_WIDTH, "source": clip.sha256})
    if found is None:
        session.add(models.AssetPreview(source_asset_id=clip.id, kind=POSTER, asset_id=still.id))
    else:
        found.asset_id = still.id
    session.flush()
    return still
