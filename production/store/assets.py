"""The content-addressed asset store: every file the pipeline makes lives under its sha256, with an `Asset` row,
so identical work is found instead of redone and nothing in a manifest can silently change under its name."""

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db.models import Asset
from aigms.production.store.files import atomic_path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_sha256(data: Any) -> str:
    """A hash of JSON-able data that does not depend on key order or whitespace."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_path(store: Path, sha256: str, suffix: str) -> Path:
    """Two levels of fan-out keep folders small when a season holds hundreds of thousands of files."""
    return store / sha256[:2] / f"{sha256}{suffix}"


def scratch_dir(store: Path) -> Path:
    """Work files are made inside the store's filesystem so moving them in is a rename, not a copy."""
    folder = store / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def derived_dir(store: Path, kind: str) -> Path:
    """Where work made from assets is kept under the hash of what made it (what a line was heard to say, takes
    conformed for the edit and its rendered runs, the sound, the frames QC compares): found instead of made again,
    but no asset itself, so it has no rows and deleting it loses nothing but time."""
    return store / "derived" / kind


def put_file(
    session: Session, store: Path, source: Path, kind: str, media: dict[str, Any] | None = None, *, move: bool = True
) -> Asset:
    """Bring a finished file into the store and return its `Asset` row (the existing one if the bytes are known).

    The file lands before the row: a crash in between leaves a file the next run adopts, never a row without a file.
    """
    sha256 = sha256_file(source)
    target = store_path(store, sha256, source.suffix)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                os.replace(source, target)
            except OSError:
                with atomic_path(target) as temporary:
                    shutil.copyfile(source, temporary)
        else:
            with atomic_path(target) as temporary:
                shutil.copyfile(source, temporary)
    elif move:
        source.unlink(missing_ok=True)
    asset = session.scalar(select(Asset).where(Asset.sha256 == sha256))
    if asset is None:
        asset = Asset(
            sha256=sha256, kind=kind, path=str(target.relative_to(store)), size=target.stat().st_size,
            media=media or {},
        )
        session.add(asset)
        session.flush()
    return asset


def asset_file(store: Path, asset: Asset) -> Path:
    return store / asset.path


def has_file(store: Path, asset: Asset) -> bool:
    """A row whose file vanished (a wiped disk, a partial copy) must not count as done work."""
    path = asset_file(store, asset)
    return path.is_file() and path.stat().st_size == asset.size
