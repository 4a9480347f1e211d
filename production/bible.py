"""Reading `series.yaml`: validation errors point at the line a person must fix, and every reference image is
checked before any render starts, so a typo costs a second rather than a night of GPU time."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aigms.schemas.errors import InputError
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

BIBLE_NAME = "series.yaml"


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
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        root_node = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(path, line, f"not valid YAML ({problem})", "fix the indentation or quoting there") from None
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
    """Every reference image, music bed and episode script named by the bible must exist before anything is rendered."""
    for group, entries in (("characters", series.characters), ("locations", series.locations)):
        for key, entry in entries.items():
            for index, reference in enumerate(entry.references):
                if not (series.root / reference).is_file():
                    line = yaml_line(root_node, (group, key, "references", index)) if root_node else None
                    raise InputError(
                        path, line, f"reference image {reference} of {group[:-1]} {key!r} not found",
                        f"put the image at {series.root / reference} or correct the path",
                    )
    music = series.edit.music
    if music is not None and not (series.root / music.path).is_file():
        line = yaml_line(root_node, ("edit", "music", "path")) if root_node else None
        raise InputError(path, line, f"music bed {music.path} not found",
                         f"put the audio file at {series.root / music.path} or correct the path")
    for index, episode in enumerate(series.episodes):
        if not (series.root / episode.script).is_file():
            line = yaml_line(root_node, ("episodes", index, "script")) if root_node else None
            raise InputError(
                path, line, f"script {episode.script} of episode {episode.id} not found",
                f"write the script at {series.root / episode.script} or correct the path",
            )


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


def yaml_line(node: yaml.Node | None, location: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node on the path that exists; pydantic knows keys, YAML knows lines."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    child = value_node
                    line = key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
