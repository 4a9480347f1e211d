"""`aigms init`: a new series folder that validates from the first minute, with comments saying what to fill in."""

import re
from importlib import resources
from pathlib import Path

import jinja2

from aigms.production.store.files import atomic_write_text
from aigms.schemas.errors import InputError
from aigms.schemas.series import LANGUAGE_PATTERN


def slug(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")
    return words or "series"


def scaffold(folder: Path, title: str, language: str) -> Path:
    """Write series.yaml, an episode script and the bible folders; never overwrites an existing series."""
    bible = folder / "series.yaml"
    if bible.exists():
        raise FileExistsError(f"{bible} already exists; choose an empty folder")
    if re.search(r"[\x00-\x1f\x7f-\x9f]", title):
        raise InputError(bible, None, "the title holds a line break or another control character (it would end the "
                         "line it is written on in series.yaml and the script)", "give the title on one line")
    if not re.fullmatch(LANGUAGE_PATTERN, language):
        raise InputError(bible, None, f"{language!r} is not a language tag", "use one such as en, zh or zh-Hans")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("aigms.templates") / "scaffold")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    values = {"id": slug(title), "title": title, "language": language}
    for sub in ("bible/characters", "bible/locations", "episodes"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "episodes" / "s01e01.fountain",
                      environment.get_template("s01e01.fountain.j2").render(values))
    atomic_write_text(bible, environment.get_template("series.yaml.j2").render(values))
    return bible
