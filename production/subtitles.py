"""Subtitles from the dialogue as the edit placed it: the script's words, timed to the line's audio, never
overlapping the next line and never running past the line's shot."""

from dataclasses import dataclass
from pathlib import Path

import pysubs2

from aigms.production.edit import PlacedLine
from aigms.production.files import atomic_write_text


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def cues_from_lines(lines: list[PlacedLine]) -> list[Cue]:
    cues = []
    for line, following in zip(lines, [*lines[1:], None]):
        end = line.end if following is None else min(line.end, following.start)
        if end > line.start:
            cues.append(Cue(line.start, end, " ".join(line.text.split())))
    return cues


def _subtitle_file(cues: list[Cue]) -> pysubs2.SSAFile:
    subs = pysubs2.SSAFile()
    for cue in cues:
        subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000), text=cue.text))
    return subs


def write_srt(cues: list[Cue], out: Path) -> None:
    atomic_write_text(out, _subtitle_file(cues).to_string("srt"))


def write_vtt(cues: list[Cue], out: Path) -> None:
    atomic_write_text(out, _subtitle_file(cues).to_string("vtt"))
