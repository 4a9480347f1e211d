"""What a URL or a form may name. A row id outside the database's integer range, or not a number at all, names
nothing (404) instead of reaching the database; form text with a NUL (which PostgreSQL refuses) is turned away
before a route runs."""

from typing import Annotated

from fastapi import Form, Path, Query

MAX_ID = 2**63 - 1
SERIES_ID = r"^[a-z0-9][a-z0-9-]*$"
NO_NUL = r"^[^\x00]*$"
NOTE_CHARACTERS = 10_000

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalRowId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
SeriesId = Annotated[str, Path(pattern=SERIES_ID, max_length=100)]
FormText = Annotated[str, Form(pattern=NO_NUL, max_length=NOTE_CHARACTERS)]
