"""The series' own files as the dashboard shows them: reference images brought into the asset store (so they are
served by id like everything else), and the script lines a shot covers."""

from pathlib import Path

import pysubs2
from sqlalchemy.orm import Session

from aigms.production.store import assets


def _inside(root: Path, relative: str) -> Path | None:
    """A path named in the bible, refused if it leads out of the series folder."""
    path = (root / relative).resolve()
    return path if path.is_relative_to(root.resolve()) and path.is_file() else None


def store_references(session: Session, store: Path, series_root: str, references: list[str]) -> dict[str, int]:
    """Each reference image that exists, copied into the store once (by its hash), mapped to its asset id."""
    found: dict[str, int] = {}
    for relative in references:
        path = _inside(Path(series_root), relative)
        if path is not None:
            found[relative] = assets.put_file(session, store, path, "reference", move=False).id
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
