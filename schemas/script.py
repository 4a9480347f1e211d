"""A parsed Fountain screenplay: scenes in order, each a list of elements that remember their source line, so
that every later stage (shots, takes, subtitles) can point a person back to the line that made it."""

from typing import Literal

from pydantic import BaseModel, Field

ElementType = Literal[
    "action", "dialogue", "transition", "centered", "lyrics", "note", "section", "synopsis", "page_break"
]


class Element(BaseModel):
    type: ElementType
    text: str = Field(description="the element's text; for dialogue the spoken words, lines joined by newlines")
    line: int = Field(ge=1, description="1-based line of the source file where the element starts")
    character: str | None = Field(None, description="dialogue: the bare speaker name, extensions removed")
    extensions: list[str] = Field(default_factory=list, description="dialogue: V.O., O.S., … (CONT'D is dropped)")
    parentheticals: list[str] = Field(default_factory=list, description="dialogue: wrylies, without parentheses")
    dual: bool = Field(False, description="dialogue: the second speaker of a dual-dialogue pair (cue ending in ^)")
    level: int | None = Field(None, description="section: depth, the number of # marks")


class Scene(BaseModel):
    heading: str = Field(description="the heading as written, without a forcing '.' or a scene number")
    line: int = Field(ge=1)
    number: str | None = Field(None, description="scene number written as #12A#")
    setting: str | None = Field(None, description="INT, EXT, INT/EXT or EST; None for a forced heading without one")
    location: str = Field(description="the place named by the heading, without setting and time of day")
    time_of_day: str | None = Field(None, examples=["NIGHT", "夜"])
    elements: list[Element] = Field(default_factory=list)


class Script(BaseModel):
    title_page: dict[str, str] = Field(default_factory=dict, description="keys lower-cased: title, credit, author…")
    preamble: list[Element] = Field(default_factory=list, description="elements before the first scene heading")
    scenes: list[Scene] = Field(default_factory=list)
