"""The content-addressed asset store: every file the pipeline makes lives under its sha256, with an `Asset` row,
so identical work is found instead of redone and nothing in a manifest can silently change under its name.

A file is trusted only while its bytes still hash to its name: it is checked before it is reused (the result kept
on the row with the file's inode, size and times, so an unchanged file is not read again), and a file that fails
is moved to `corrupt/` for the next render to make again, never used."""

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aigms.db.models import Asset
from aigms.production.store.files import atomic_path

CHUNK = 1 << 20
CORRUPT = "corrupt"
OCTET_STREAM = "application/octet-stream"
# What each file the pipeline makes is, by the suffix it gives it; the store never asks a request or the bytes.
MEDIA_TYPES = {
    ".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm", ".mkv": "video/x-matroska",
    ".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".flac": "audio/flac",
    ".ogg": "audio/ogg", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
    ".vtt": "text/vtt", ".srt": "application/x-subrip", ".json": "application/json", ".otio": "application/json",
    ".edl": "text/plain", ".xml": "application/xml", ".pdf": "application/pdf",
}


class StoreError(OSError):
    """A file could not be brought into the store intact; the message says what to do."""


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
    A file already under that name whose bytes do not match it is moved aside and replaced; a copy is hashed as it
    is written, so a source that changes meanwhile cannot land under the old name. The row records what the file is
    (`media["content_type"]`, from its suffix unless the caller knows better).
    """
    sha256 = sha256_file(source)
    target = store_path(store, sha256, source.suffix)
    relative = str(target.relative_to(store))
    asset = session.scalar(select(Asset).where(Asset.sha256 == sha256))
    if target.exists() and not _holds(target, sha256, asset if asset is not None and asset.path == relative else None):
        set_aside(store, target)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (move and _moved(source, target)):
            _copy(source, target, sha256)
    if move:
        source.unlink(missing_ok=True)
    if asset is None:
        asset = Asset(sha256=sha256, kind=kind, path=relative, size=target.stat().st_size,
                      media={"content_type": media_type(target.suffix), **(media or {})})
        session.add(asset)
        session.flush()
    if asset.path == relative:
        asset.verified_stat = _stamp(target.stat())
    return asset


def _moved(source: Path, target: Path) -> bool:
    """A rename within the store's filesystem; False across filesystems, where it must be a copy."""
    try:
        os.replace(source, target)
    except OSError:
        return False
    return True


def _copy(source: Path, target: Path, sha256: str) -> None:
    digest = hashlib.sha256()
    with atomic_path(target) as temporary:
        with open(source, "rb") as reading, open(temporary, "wb") as writing:
            while chunk := reading.read(CHUNK):
                digest.update(chunk)
                writing.write(chunk)
        if digest.hexdigest() != sha256:
            raise StoreError(f"{source} changed while it was copied into the asset store: run the step again")


def _holds(path: Path, sha256: str, asset: Asset | None) -> bool:
    if asset is not None and asset.verified_stat == _stamp(path.stat()):
        return True
    return _file_sha256(path, None) == sha256


def asset_file(store: Path, asset: Asset) -> Path:
    return store / asset.path


def media_type(suffix: str) -> str:
    return MEDIA_TYPES.get(suffix.lower(), OCTET_STREAM)


def content_type(asset: Asset) -> str:
    """What the asset is: as recorded when it was put (a reference image's sniffed type), else from our own
    suffix table; rows from before types were recorded get the same answer they would get today."""
    return (asset.media or {}).get("content_type") or media_type(Path(asset.path).suffix)


def _stamp(found: os.stat_result) -> str:
    """Any write to a file changes its mtime or, when someone puts the mtime back, its ctime."""
    return f"{found.st_dev}:{found.st_ino}:{found.st_size}:{found.st_mtime_ns}:{found.st_ctime_ns}"


def _file_sha256(path: Path, found: os.stat_result | None) -> str | None:
    try:
        return sha256_file(path) if found is None or stat.S_ISREG(found.st_mode) else None
    except (FileNotFoundError, IsADirectoryError):
        return None


def set_aside(store: Path, path: Path) -> Path | None:
    """Move a file whose bytes are not what its name says to `corrupt/`, where a person can look at it; the store
    no longer has it, so whatever needs it is made again."""
    folder = store / CORRUPT
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / f"{path.name}.{time.time_ns()}"
    try:
        os.replace(path, destination)
    except FileNotFoundError:
        return None
    return destination


def has_file(store: Path, asset: Asset) -> bool:
    """Whether the asset's file is there with the bytes its row names. A row whose file vanished (a wiped disk, a
    partial copy) or changed must not count as done work: the file is hashed unless its inode, size and times are
    those it had when it last hashed right (kept on the row as `verified_stat`), and a file that fails is set
    aside, so the next render makes it again instead of cutting it in."""
    path = asset_file(store, asset)
    try:
        found = path.stat()
    except FileNotFoundError:
        return False
    if asset.verified_stat is not None and asset.verified_stat == _stamp(found):
        return True
    if found.st_size != asset.size or _file_sha256(path, found) != asset.sha256:
        set_aside(store, path)
        asset.verified_stat = None
        return False
    asset.verified_stat = _stamp(found)
    return True


def verify_store(session: Session, store: Path) -> Iterator[tuple[Asset, bool | None]]:
    """Every asset's file hashed again, whatever was verified before: (asset, True) when intact, False when corrupt
    (and set aside), None when missing."""
    for asset in session.scalars(select(Asset).order_by(Asset.id)):
        if not asset_file(store, asset).exists():
            yield asset, None
            continue
        asset.verified_stat = None
        yield asset, has_file(store, asset)
