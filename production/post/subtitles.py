"""Subtitles: the script's words on Whisper's timing. Each line is heard as the edit plays it (once: what was heard
is kept by the line's audio hash) and its words are placed on the timeline where the edit put the line; what was
heard is scored against the script (word error rate;
Chinese by pinyin syllables, so a homophone in the other script does not count as a miss) and a line whose
audio does not say its text is flagged. The cues follow the series' rules for line length and reading speed."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jiwer
import numpy as np
import pysubs2

from aigms.production.post.edit import placed_line
from aigms.production.store.files import atomic_write_text
from aigms.production.post.transcribe import Transcriber, Transcript, Word, hear_lines
from aigms.schemas.manifest import LineCheck
from aigms.schemas.timeline import DialogueClip, Sound, Timeline

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[a-z0-9']+")
SENTENCE_END = re.compile(r"(?<=[。！？!?.…])\s*")
CLAUSE_END = re.compile(r"(?<=[，、；：,;:])\s*")
WORD_TOLERANCE = 0.15
CUE_GAP = 0.08


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def is_chinese(language: str) -> bool:
    return language.split("-")[0] in ("zh", "yue", "cmn")


def _tokens(text: str, language: str) -> list[str]:
    """Chinese as toneless pinyin syllables (traditional or simplified alike) plus any latin words; other
    languages through Whisper's English normaliser (numbers as digits, contractions expanded)."""
    if is_chinese(language):
        from pypinyin import lazy_pinyin  # its dictionaries take ~0.4 s to load: only Chinese lines need them

        syllables = [s for s in lazy_pinyin(text, errors=lambda chars: [" "] * len(chars)) if s.strip()]
        return [token for syllable in syllables for token in LATIN_WORD.findall(syllable.lower())]
    return _english_normaliser()(text).split()


@cache
def _english_normaliser() -> Callable[[str], str]:
    """Whisper's, made once: it reads its spelling table, and importing it imports torch."""
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    """Word error rate of what was heard against the script, capped at 1 (Whisper may hear extra words)."""
    expected, heard = _tokens(reference, language), _tokens(hypothesis, language)
    if not expected:
        return 0.0 if not heard else 1.0
    if not heard:
        return 1.0
    return min(1.0, jiwer.wer(" ".join(expected), " ".join(heard)))


def check_lines(timeline: Timeline, transcript: Transcript | None) -> list[LineCheck]:
    """Give each transcribed word to the line whose stretch of the timeline holds its middle, then score."""
    lines = timeline.dialogue
    heard: dict[int, list] = {index: [] for index in range(len(lines))}
    for word in transcript.words if transcript else []:
        middle = (word.start + word.end) / 2
        for index, line in enumerate(lines):
            if line.start - WORD_TOLERANCE <= middle <= line.end + WORD_TOLERANCE:
                heard[index].append(word)
                break
    checks = []
    for index, line in enumerate(lines):
        check = LineCheck(line=line.line, shot=line.shot, text=line.text, source=line.source,
                          audio_sha256=line.media.sha256)
        if transcript is not None:
            words = heard[index]
            check.heard = "".join(word.text for word in words).strip()
            check.wer = round(error_rate(line.text, check.heard, timeline.language), 4)
            check.flagged = check.wer > timeline.subtitles.max_wer
            check.transcriber = transcript.transcriber
            if words:
                check.speech_start = round(max(line.start, words[0].start), 3)
                check.speech_end = round(min(line.end, max(words[-1].end, check.speech_start + 0.2)), 3)
                check.word_times = [(round(w.start, 3), round(w.end, 3), w.text) for w in words]
        checks.append(check)
    return checks


def _pieces(text: str, limit: int) -> list[str]:
    """Split a line into cue-sized pieces: at sentence ends first, then at clause marks, then between words
    (or characters, for Chinese)."""
    if len(text) <= limit:
        return [text]
    for splitter in (SENTENCE_END, CLAUSE_END):
        parts = [part for part in splitter.split(text) if part.strip()]
        if len(parts) > 1:
            pieces, current = [], ""
            for part in parts:
                glue = current + (" " if current and not CJK.search(part[:1]) and not current.endswith(" ") else "")
                if current and len(glue + part) > limit:
                    pieces.append(current.strip())
                    current = part
                else:
                    current = glue + part
            pieces.append(current.strip())
            return [small for piece in pieces for small in _pieces(piece, limit)]
    if " " in text.strip():
        words, pieces, current = text.split(), [], ""
        for word in words:
            if current and len(current) + 1 + len(word) > limit:
                pieces.append(current)
                current = word
            else:
                current = f"{current} {word}".strip()
        return [*pieces, current]
    return [text[i:i + limit] for i in range(0, len(text), limit)]


def wrap(text: str, width: int) -> list[str]:
    """Lines that fit `width`, broken where a reader pauses: after punctuation if a break there fits, else at
    the space (or, for Chinese, the character) nearest the middle."""
    if len(text) <= width:
        return [text]
    spaced = " " in text
    breaks = [i for i, char in enumerate(text) if char == " "] if spaced else list(range(1, len(text)))
    fitting = [i for i in breaks if i <= width and len(text) - i - spaced <= width] or [
        max([i for i in breaks if i <= width] or [width])]
    pauses = [i for i in fitting if text[i - 1] in "，、；：。！？,;:.!?"]
    cut = min(pauses or fitting, key=lambda i: abs(i - len(text) / 2))
    return [text[:cut], *wrap(text[cut + spaced:], width)]


def _timing(line: DialogueClip, check: LineCheck) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Where the line is heard, and a map from the share of its text to a time: through Whisper's words when
    it heard some, evenly over the placed audio otherwise."""
    if check.speech_start is None or not check.word_times:
        return line.start, line.end, np.array([0.0, 1.0]), np.array([line.start, line.end])
    lengths = np.array([max(1, len(text.strip())) for _, _, text in check.word_times], dtype=float)
    shares = np.concatenate([[0.0], np.cumsum(lengths) / lengths.sum()])
    times = np.array([check.speech_start, *[min(end, check.speech_end) for _, end, _ in check.word_times]])
    times[-1] = check.speech_end
    return check.speech_start, check.speech_end, shares, np.maximum.accumulate(times)


def make_cues(timeline: Timeline, checks: list[LineCheck]) -> tuple[list[Cue], list[str]]:
    """The script's text in cues: split to fit the line length, timed by Whisper, held long enough to read
    (into the silence after the line, never over the next cue); a cue that still reads too fast is reported."""
    rules, language = timeline.subtitles, timeline.language
    width, cps = rules.line_chars(language), rules.cps(language)
    chinese = is_chinese(language)
    cues: list[Cue] = []
    for line, check in zip(timeline.dialogue, checks):
        text = "".join(line.text.split()) if chinese else " ".join(line.text.split())
        start, end, shares, times = _timing(line, check)
        pieces = _pieces(text, width * rules.max_lines)
        total = sum(len(piece) for piece in pieces)
        done = 0
        for piece in pieces:
            first = float(np.interp(done / total, shares, times))
            done += len(piece)
            last = float(np.interp(done / total, shares, times))
            cues.append(Cue(round(first, 3), round(max(last, first + 0.1), 3), "\n".join(wrap(piece, width))))
    warnings = []
    timed = []
    for index, cue in enumerate(cues):
        limit = cues[index + 1].start - CUE_GAP if index + 1 < len(cues) else timeline.duration
        characters = len(cue.text.replace("\n", ""))
        wanted = cue.start + max(rules.min_seconds, characters / cps)
        end = max(cue.end, min(wanted, limit))
        if characters / (end - cue.start) > cps + 1e-6:
            warnings.append(f"subtitle at {cue.start:.2f} s reads at {characters / (end - cue.start):.1f} "
                            f"characters per second, above {cps:g}; lengthen the shot or shorten the line")
        timed.append(Cue(cue.start, round(end, 3), cue.text))
    return timed, warnings


def _subtitle_file(cues: list[Cue]) -> pysubs2.SSAFile:
    subs = pysubs2.SSAFile()
    for cue in cues:
        subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000),
                                     text=cue.text.replace("\n", "\\N")))
    return subs


def write_srt(cues: list[Cue], out: Path) -> None:
    atomic_write_text(out, _subtitle_file(cues).to_string("srt"))


def write_vtt(cues: list[Cue], out: Path) -> None:
    atomic_write_text(out, _subtitle_file(cues).to_string("vtt"))


def heard_words(sound: Sound, language: str, transcriber: Transcriber, cache_dir: Path | None) -> list[Word]:
    """Each line heard as the edit plays it (cut at its shot's end; no music, no loudness change), each once, its
    words placed where the edit puts the line. It needs the lines and the shot list, not the takes, so a render
    hears the lines while its shots are filmed, and the cut finds them heard."""
    rate, total = sound.audio_rate, round(sound.duration * sound.audio_rate)
    placed = [placed_line(line, rate, total) for line in sound.dialogue]
    heard = hear_lines(transcriber, [samples for _, samples in placed], rate, language, cache_dir)
    return [Word(round(word.start + first / rate, 3), round(word.end + first / rate, 3), word.text)
            for (first, _), line_words in zip(placed, heard) for word in line_words]


def hear(timeline: Timeline, transcriber: Transcriber | None, cache_dir: Path | None) -> list[LineCheck]:
    """Each line heard (`heard_words`) and checked against the script where the edit placed it."""
    if transcriber is None or not timeline.dialogue:
        return check_lines(timeline, None)
    words = heard_words(timeline.sound, timeline.language, transcriber, cache_dir)
    return check_lines(timeline, Transcript(transcriber.name, timeline.language, words))
