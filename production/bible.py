"""Reading `series.yaml`: validation errors point at the line a person must fix, and every file the bible names is
checked before any render starts — inside the series folder, there, and an image where an image belongs — so a
typo costs a second rather than a night of GPU time."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aigms.production.user_files import BIBLE_BYTES, BIBLE_VALUES, image_type, inside, load_yaml, read_text, yaml_line
from aigms.schemas.errors import InputError
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

BIBLE_NAME = "series.yaml"
OUTSIDE_FIX = "keep every file the series uses inside its folder (copy it in; a link out of the folder is refused)"


def find_series_file(start: Path) -> Path:
    """The series.yaml of a folder, or of the nearest folder above a file inside a series (e.g. an episode)."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else list(start.parents):
        candidate = folder / BIBLE_NAME
        if candidate.is_file():
            return candidate
    raise InputError(start, None, f"no {BIBLE_NAME} here or in any folder above", "run `aigms init DIR` to make one")


def load_series(path: Path) -> Series:
    """Load and validate a series bible; `path` is series.yaml or its folder."""
    path = Path(path)
    if path.is_dir():
        path = path / BIBLE_NAME
    if not path.is_file():
        raise InputError(path, None, "file not found", "check the path, or run `aigms init DIR` to make one")
    data, root_node = load_yaml(path, read_text(path, BIBLE_BYTES, "series bible"), BIBLE_VALUES)
    if not isinstance(data, dict):
        raise InputError(path, 1, "expected a mapping of keys such as id, title, characters", "see `aigms schema series`")
    try:
        series = Series.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(first["loc"])
        line = yaml_line(root_node, location)
        dotted = ".".join(str(part) for part in location) or "(top level)"
        raise InputError(path, line, f"{dotted}: {first['msg']}", "see `aigms schema series` for what is allowed") from None
    series.at(path.parent.resolve())
    check_references(series, path, root_node)
    return series


def check_references(series: Series, path: Path, root_node: yaml.Node | None = None) -> None:
    """Every file the bible names — reference images, the music bed, episode scripts, recorded voices — must be
    inside the series folder and be there; a reference image must decode as one."""
    def line(*location: Any) -> int | None:
        return yaml_line(root_node, location) if root_node else None

    for group, entries in (("characters", series.characters), ("locations", series.locations)):
        for key, entry in entries.items():
            for index, reference in enumerate(entry.references):
                where = line(group, key, "references", index)
                what = f"reference image {reference} of {group[:-1]} {key!r}"
                found = _named_file(series, path, where, reference, what, "put the image there or correct the path")
                try:
                    image_type(found)
                except ValueError as error:
                    raise InputError(path, where, f"{what} {error}", "use a PNG, JPEG or WebP picture (export it "
                                     "again from the drawing program)") from None
    music = series.edit.music
    if music is not None:
        _named_file(series, path, line("edit", "music", "path"), music.path, f"music bed {music.path}",
                    "put the audio file there or correct the path")
    for index, episode in enumerate(series.episodes):
        _named_file(series, path, line("episodes", index, "script"), episode.script,
                    f"script {episode.script} of episode {episode.id}", "write the script there or correct the path")
    _check_voices(series)


def _named_file(series: Series, bible: Path, line: int | None, named: Path, what: str, fix: str) -> Path:
    try:
        found = inside(series.root, named)
        there = found is not None and found.is_file()
    except (OSError, RuntimeError) as error:  # a name too long for the file system, a link that points at itself
        raise InputError(bible, line, f"{what} cannot be read ({getattr(error, 'strerror', None) or error})",
                         fix) from None
    if found is None:
        raise InputError(bible, line, f"{what} leads outside the series folder {series.root}", OUTSIDE_FIX)
    if not there:
        raise InputError(bible, line, f"{what} not found (looked at {series.root / named})", fix)
    return found


@dataclass(frozen=True)
class Reference:
    """A reference image of a shot: whose it is, and its path as series.yaml names it (relative to the series)."""

    kind: str  # "character" | "location"
    key: str
    path: Path

    @property
    def label(self) -> str:
        """How a take's recipe names the image: `character:lin:bible/lin.png`."""
        return f"{self.kind}:{self.key}:{self.path}"


def shot_references(series: Series, shot: Shot) -> list[Reference]:
    """The reference images of the shot's cast (in the shot's order) and of its location, each character's and
    location's in the order the bible lists them; the first of each is the one a picture is drawn from."""
    found = [Reference("character", key, path) for key in shot.characters if key in series.characters
             for path in series.characters[key].references]
    if shot.location in series.locations:
        found += [Reference("location", shot.location, path) for path in series.locations[shot.location].references]
    return found


def _check_voices(series: Series) -> None:
    """Recorded lines are found by name (`voices/<line id>.wav`), not listed; each must still be the series' own."""
    folder = series.root / "voices"
    if not folder.exists():
        return
    if inside(series.root, "voices") is None:
        raise InputError(folder, None, f"the voices folder leads outside the series folder {series.root}",
                         OUTSIDE_FIX)
    for recording in sorted(folder.iterdir()):
        try:
            found = inside(series.root, recording.relative_to(series.root))
        except RuntimeError as error:
            raise InputError(recording, None, f"recorded line cannot be read ({error})", OUTSIDE_FIX) from None
        if found is None:
            raise InputError(recording, None, f"recorded line leads outside the series folder {series.root}",
                             OUTSIDE_FIX)
