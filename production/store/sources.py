"""The series' own files as the dashboard shows them: reference images brought into the asset store (so they are
served by id like everything else), and the script lines a shot covers."""

import shutil
import tempfile
from pathlib import Path

import pysubs2
from sqlalchemy.orm import Session

from aigms.production.store import assets
from aigms.production.user_files import image_type, inside


def _inside(root: Path, relative: str) -> Path | None:
    """A path named in the bible, refused if it leads out of the series folder (or nowhere: a link loop)."""
    try:
        path = inside(root, relative)
        return path if path is not None and path.is_file() else None
    except (OSError, RuntimeError):
        return None


def store_references(session: Session, store: Path, series_root: str, references: list[str]) -> dict[str, int]:
    """Each reference image that exists and is an image, copied into the store once (by its hash) under the suffix
    of what its bytes are, its media type recorded, so it is served as that image and never as the page or script
    its name might claim; mapped to its asset id."""
    found: dict[str, int] = {}
    for relative in references:
        path = _inside(Path(series_root), relative)
        if path is None:
            continue
        try:
            kind = image_type(path)
        except ValueError:
            continue
        with tempfile.TemporaryDirectory(dir=assets.scratch_dir(store)) as scratch:
            named = Path(scratch) / f"reference{kind.suffix}"
            shutil.copyfile(path, named)
            asset = assets.put_file(session, store, named, "reference")
        if asset.media.get("content_type") != kind.content_type:
            asset.media = {**asset.media, "content_type": kind.content_type, "width": kind.width,
                           "height": kind.height}
        found[relative] = asset.id
    return found


def script_lines(series_root: str, script_path: str, numbers: list[int]) -> list[tuple[int, str]]:
    """The paragraphs of the script that hold the numbered lines (a cue line brings its dialogue), as the file
    stands now; none if the file has gone."""
    path = _inside(Path(series_root), script_path)
    if path is None or not numbers:
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    wanted: set[int] = set()
    for number in numbers:
        while 0 < number <= len(lines) and lines[number - 1].strip():
            wanted.add(number)
            number += 1
    return [(number, lines[number - 1]) for number in sorted(wanted)]


def subtitles_as_webvtt(path: Path) -> str:
    """A browser's <track> reads WebVTT; the pipeline delivers SRT."""
    return pysubs2.load(str(path), encoding="utf-8").to_string("vtt")
