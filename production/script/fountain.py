"""Parsing Fountain screenplays (https://fountain.io/syntax) into `Script`, every element with its source line.

Our own parser, because the maintained ones (screenplain, jouvence) do not keep source lines, which every later
stage needs to point a person back at the script, and do not read forced `@` cues and `.` headings the way
Chinese scripts need them."""

import re
from dataclasses import dataclass
from pathlib import Path

from aigms.production.user_files import SCRIPT_BYTES, check_lines, check_text, read_text
from aigms.schemas.errors import InputError
from aigms.schemas.script import Element, Scene, Script

TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 _-]*):(.*)$")
HEADING = re.compile(r"^(INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST)[.\s]", re.IGNORECASE)
FORCED_HEADING = re.compile(r"^\.(?![.\s])(.+)$")
SCENE_NUMBER = re.compile(r"#([\w.\-]+)#\s*$")
SETTING = re.compile(r"^(INT\.?\s*/\s*EXT|INT/EXT|I/E|INT|EXT|EST)\.?\s*", re.IGNORECASE)
CHINESE_SETTING = re.compile(r"^(内外景|内景|外景)[\s.．:：]*")
# A separator's spaces are matched from the start of their run only ((?<!\s)): tried from every space of a long
# run, the search takes quadratic time, minutes on one pasted line.
TIME_SEPARATOR = re.compile(r"(?<!\s)(?:\s+[-–—－]\s+|\s*——\s*|\s*－\s*)")
CHINESE_TIMES = ("日", "夜", "晨", "昏", "黄昏", "白天", "夜晚", "清晨", "傍晚", "午", "中午", "凌晨", "深夜")
PAGE_BREAK = re.compile(r"^={3,}\s*$")
SECTION = re.compile(r"^(#+)\s*(.*)$")
SYNOPSIS = re.compile(r"^=(?!=)\s*(.*)$")
CENTERED = re.compile(r"^>(.*)<$")
FORCED_TRANSITION = re.compile(r"^>\s*(.+)$")
EXTENSION = re.compile(r"\(([^()]*)\)|（([^（）]*)）")
CONTINUED = re.compile(r"^(CONT'?D|CONT’D|CONTINUED|续)$", re.IGNORECASE)
PARENTHETICAL = re.compile(r"^\s*(?:\((.*)\)|（(.*)）)\s*$")
ESCAPE = re.compile(r"\\([\\*_\[\]#=!@~.><^/])")
SETTINGS = {"INT": "INT", "EXT": "EXT", "EST": "EST", "I/E": "INT/EXT", "INT/EXT": "INT/EXT"}
CHINESE_SETTINGS = {"内景": "INT", "外景": "EXT", "内外景": "INT/EXT"}
UPPER_TRANSITIONS = ("FADE OUT.", "FADE TO BLACK.", "CUT TO BLACK.")
OPENING = re.compile(r"^FADE IN(?: FROM BLACK)?:\s*$")  # the first line of many scripts; not a title page key


@dataclass
class Line:
    number: int
    text: str

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def read_script(path: Path) -> Script:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "script not found", "check the path (episodes are listed in series.yaml)")
    return parse_fountain(read_text(path, SCRIPT_BYTES, "script"), path)


def parse_fountain(text: str, path: Path | str = "<string>") -> Script:
    """Refuses what no screenplay holds (control characters, lines of thousands of characters) before parsing."""
    check_text(path, text)
    check_lines(path, text)
    lines = [Line(number, raw.replace("\t", "    ").rstrip("\r")) for number, raw in
             enumerate(_without_boneyard(text.replace("\r\n", "\n").replace("\r", "\n"), path).split("\n"), 1)]
    title_page, body = _title_page(lines)
    elements, scenes = _body(_join_notes(body, path))
    if not scenes:
        raise InputError(path, None, "no scene heading found",
                         "add a scene heading such as `INT. LAB - NIGHT` or a forced `.实验室 - 夜`")
    return Script(title_page=title_page, preamble=elements, scenes=scenes)


def _without_boneyard(text: str, path: Path | str) -> str:
    """Boneyard text is blanked out, newlines kept, so every line after it keeps its number."""
    pieces, position = [], 0
    while (start := text.find("/*", position)) != -1:
        end = text.find("*/", start + 2)
        if end == -1:
            line = text.count("\n", 0, start) + 1
            raise InputError(path, line, "boneyard `/*` is never closed", "add `*/` where the cut text ends")
        pieces.append(text[position:start])
        pieces.append("\n" * text.count("\n", start, end))
        position = end + 2
    pieces.append(text[position:])
    return "".join(pieces)


def _title_page(lines: list[Line]) -> tuple[dict[str, str], list[Line]]:
    first = next((index for index, line in enumerate(lines) if not line.blank), None)
    if (first is None or not TITLE_KEY.match(lines[first].text) or HEADING.match(lines[first].text)
            or OPENING.match(lines[first].text)):
        return {}, lines
    page: dict[str, str] = {}
    key = None
    index = first
    while index < len(lines) and not lines[index].blank:
        line = lines[index].text
        match = TITLE_KEY.match(line)
        if match and not line.startswith((" ", "\t")):
            key = match.group(1).strip().lower()
            page[key] = match.group(2).strip()
        elif key is not None:
            page[key] = "\n".join(part for part in (page[key], line.strip()) if part)
        index += 1
    return page, lines[index:]


def _join_notes(lines: list[Line], path: Path | str) -> list[Line]:
    """A note may run over several lines; it becomes part of the line where it starts."""
    joined: list[Line] = []
    index = 0
    while index < len(lines):
        first = lines[index]
        parts = [first.text]
        open_notes = first.text.count("[[") - first.text.count("]]")
        while open_notes > 0:
            index += 1
            if index == len(lines):
                raise InputError(path, first.number, "note `[[` is never closed", "add `]]` where the note ends")
            parts.append(lines[index].text)
            open_notes += lines[index].text.count("[[") - lines[index].text.count("]]")
        joined.append(Line(first.number, "\n".join(parts)))
        index += 1
    return joined


def _notes(text: str, number: int) -> tuple[str, list[Element]]:
    """Notes taken out of a line, left to right; found with `find`, because a regex retried from every `[[` of a
    line that never closes them takes quadratic time."""
    kept, notes, position = [], [], 0
    while (start := text.find("[[", position)) != -1 and (end := text.find("]]", start + 2)) != -1:
        kept.append(text[position:start])
        notes.append(Element(type="note", text=" ".join(text[start + 2:end].split()), line=number))
        position = end + 2
    kept.append(text[position:])
    return "".join(kept), notes


def _unescape(text: str) -> str:
    return ESCAPE.sub(r"\1", text)


def _is_cue(text: str) -> bool:
    if text.startswith("@"):
        return len(text.strip()) > 1
    name = EXTENSION.sub("", text).rstrip(" ^").strip()
    has_upper = any(char.isalpha() and char.isupper() for char in name)
    return has_upper and name == name.upper() and not name.endswith((":", "."))


def _cue(text: str) -> tuple[str, list[str], bool]:
    dual = text.rstrip().endswith("^")
    text = text.rstrip().rstrip("^").strip().removeprefix("@")
    extensions = [a or b for a, b in EXTENSION.findall(text)]
    name = EXTENSION.sub("", text).strip()
    return name, [ext.strip() for ext in extensions if not CONTINUED.match(ext.strip())], dual


def _heading(text: str, number: int) -> Scene:
    scene_number = None
    if match := SCENE_NUMBER.search(text):
        scene_number, text = match.group(1), text[: match.start()]
    heading = _unescape(text.strip())
    place, setting = heading, None
    if match := SETTING.match(place):
        setting = SETTINGS.get(re.sub(r"[.\s]", "", match.group(1)).upper())
        place = place[match.end():]
    elif match := CHINESE_SETTING.match(place):
        setting = CHINESE_SETTINGS[match.group(1)]
        place = place[match.end():]
    time_of_day = None
    parts = TIME_SEPARATOR.split(place)
    if len(parts) > 1:
        place, time_of_day = " - ".join(parts[:-1]), parts[-1]
    elif " " in place.strip() and place.strip().rsplit(" ", 1)[1] in CHINESE_TIMES:
        place, time_of_day = place.strip().rsplit(" ", 1)
    return Scene(heading=heading, line=number, number=scene_number, setting=setting, location=place.strip(),
                 time_of_day=time_of_day.strip() if time_of_day else None)


def _paragraph(lines: list[Line], start: int) -> int:
    end = start
    while end < len(lines) and not lines[end].blank:
        end += 1
    return end


def _body(lines: list[Line]) -> tuple[list[Element], list[Scene]]:
    """Walks the lines once; what an element is depends on the blank lines around it, as the spec says."""
    preamble: list[Element] = []
    scenes: list[Scene] = []

    def emit(*elements: Element) -> None:
        (scenes[-1].elements if scenes else preamble).extend(elements)

    index = 0
    while index < len(lines):
        line = lines[index]
        after_blank = index == 0 or lines[index - 1].blank
        next_blank = index + 1 >= len(lines) or lines[index + 1].blank
        text, notes = _notes(line.text, line.number)
        stripped = text.strip()
        if line.blank:
            index += 1
            continue
        if not stripped:
            emit(*notes)
            index += 1
            continue
        if after_blank and (FORCED_HEADING.match(stripped) or HEADING.match(stripped)):
            forced = FORCED_HEADING.match(stripped)
            scenes.append(_heading(forced.group(1) if forced else stripped, line.number))
            scenes[-1].elements.extend(notes)
            index += 1
            continue
        single = _single_line_element(stripped, line.number, after_blank, next_blank)
        if single is not None:
            emit(single, *notes)
            index += 1
            continue
        if stripped.startswith("~"):
            end = index
            while end < len(lines) and lines[end].text.strip().startswith("~"):
                end += 1
            body = "\n".join(_unescape(_notes(l.text, l.number)[0].strip()[1:].strip()) for l in lines[index:end])
            emit(Element(type="lyrics", text=body, line=line.number),
                 *[n for l in lines[index:end] for n in _notes(l.text, l.number)[1]])
            index = end
            continue
        if after_blank and not next_blank and _is_cue(stripped) and not stripped.startswith("!"):
            index = _dialogue(lines, index, emit)
            continue
        index = _action(lines, index, emit)
    return preamble, scenes


def _single_line_element(text: str, number: int, after_blank: bool, next_blank: bool) -> Element | None:
    if PAGE_BREAK.match(text):
        return Element(type="page_break", text="", line=number)
    if match := SECTION.match(text):
        return Element(type="section", text=_unescape(match.group(2).strip()), line=number,
                       level=len(match.group(1)))
    if match := SYNOPSIS.match(text):
        return Element(type="synopsis", text=_unescape(match.group(1).strip()), line=number)
    if match := CENTERED.match(text):
        return Element(type="centered", text=_unescape(match.group(1).strip()), line=number)
    if match := FORCED_TRANSITION.match(text):
        return Element(type="transition", text=_unescape(match.group(1).strip()), line=number)
    is_upper = text == text.upper() and any(char.isalpha() for char in text)
    if after_blank and next_blank and is_upper and (text.endswith("TO:") or text in UPPER_TRANSITIONS):
        return Element(type="transition", text=text, line=number)
    return None


def _dialogue(lines: list[Line], index: int, emit) -> int:
    cue = lines[index]
    cue_text, notes = _notes(cue.text, cue.number)
    name, extensions, dual = _cue(cue_text.strip())
    spoken: list[str] = []
    parentheticals: list[str] = []
    end = index + 1
    while end < len(lines) and (not lines[end].blank or lines[end].text == "  "):
        text, found = _notes(lines[end].text, lines[end].number)
        notes.extend(found)
        if match := PARENTHETICAL.match(text):
            parentheticals.append(_unescape((match.group(1) or match.group(2) or "").strip()))
        elif text.strip() or lines[end].text == "  ":
            spoken.append(_unescape(text.strip()))
        end += 1
    emit(Element(type="dialogue", text="\n".join(spoken), line=cue.number, character=_unescape(name),
                 extensions=extensions, parentheticals=parentheticals, dual=dual), *notes)
    return end


def _action(lines: list[Line], index: int, emit) -> int:
    end = _paragraph(lines, index)
    texts, notes = [], []
    for line in lines[index:end]:
        text, found = _notes(line.text, line.number)
        notes.extend(found)
        if text.strip():
            texts.append(text.rstrip())
    body = "\n".join(texts)
    if body.lstrip().startswith("!"):
        body = body.lstrip()[1:]
    emit(Element(type="action", text=_unescape(body.strip("\n")), line=lines[index].number), *notes)
    return end
