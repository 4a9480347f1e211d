"""`aigms bible`: the series bible as the pipeline will read it. `check` finds the faces in every character's
reference images, as the identity check will, and reports the references that add nothing to a face bank (no face,
or several); the faces found are kept in the project database for the renders."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aigms.options import HomeOption, console, fail, warn
from aigms.schemas.errors import InputError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command()
def check(
    series_dir: Annotated[Path, typer.Argument(help="the series folder (or its series.yaml)")] = Path(),
    home: HomeOption = None,
    faces: Annotated[str | None, typer.Option(
        "--faces", help="face extractor (dlib, insightface:<folder>); default: qc.faces, else dlib")] = None,
) -> None:
    """Find the faces in every reference image of every character; exit status 1 when a reference shows no face or
    several, or a character with a face has no usable reference."""
    from aigms.db.session import open_database
    from aigms.production import settings
    from aigms.production.bible import load_series
    from aigms.production.qc.faces import face_extractor_for
    from aigms.production.qc.identity import bible_faces

    try:
        series = load_series(series_dir)
        extractor = face_extractor_for(faces or series.qc.faces or "dlib")
    except (InputError, ValueError, RuntimeError) as error:
        fail(error)
    engine = open_database(settings.database(settings.home(home)))
    with console.status(f"looking for faces with {extractor.name}"):
        found = bible_faces(series, extractor, engine)
    table = Table("character", "reference", "faces", "verdict", title=f"aigms bible check ({extractor.name})")
    usable: dict[str, int] = {}
    for reference in found:
        usable[reference.character] = usable.get(reference.character, 0) + (reference.problem is None)
        table.add_row(escape(series.characters[reference.character].name), escape(str(reference.path)),
                      str(len(reference.faces)),
                      f"[red]{escape(reference.problem)}[/]" if reference.problem else "[green]in the face bank[/]")
    for key, character in series.characters.items():
        if character.faceless:
            table.add_row(escape(character.name), "", "", "faceless: judged by its silhouette")
        elif not character.references:
            table.add_row(escape(character.name), "", "", "[yellow]no reference image: not checked[/]")
    console.print(table)
    problems = [reference for reference in found if reference.problem]
    empty = [key for key, count in usable.items() if count == 0]
    for reference in problems:
        warn(f"{series.root / reference.path}: {reference.problem}")
    for key in empty:
        warn(f"{series.characters[key].name} has no reference with exactly one face: its identity falls back to the "
             f"silhouette check; add a portrait or mark it `faceless: true`", "problem", "bold red")
    if problems or empty:
        raise typer.Exit(1)
