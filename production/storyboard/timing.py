"""How long a shot holds: dialogue by how long it takes to say, action by how long it takes to read, every
duration a whole number of frames, and the episode's total against its target with the slack each shot has."""

import re

from aigms.schemas.shotlist import DurationReport, Shot

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[A-Za-z0-9']+")
COMMA = re.compile(r"[，、；：,;:—–]+")
STOP = re.compile(r"[。！？…!?]+|\.(?:\s|$)")
BEAT = re.compile(r"pause|beat|silence|停顿|沉默|顿", re.IGNORECASE)

COMMA_SECONDS = 0.25
STOP_SECONDS = 0.45
BEAT_SECONDS = 1.0
WRYLY_SECONDS = 0.3
DIALOGUE_PADDING = 0.5
DIALOGUE_MIN = 1.5
DIALOGUE_HOLD = 1.5
READ_WORDS_PER_SECOND = 3.0
READ_CJK_PER_SECOND = 7.0
ACTION_RANGE = (2.0, 8.0)
STRETCH, SHRINK = 1.5, 0.6


def text_units(text: str) -> tuple[int, int]:
    """Chinese is timed by characters, other scripts by words; a mixed line counts both."""
    return len(CJK.findall(text)), len(WORD.findall(CJK.sub(" ", text)))


def speaking_time(text: str, words_per_minute: int, parentheticals: list[str] = ()) -> float:
    """A Chinese character is one syllable, spoken at the pace of an English word (the scratch voice's rate is in
    both); a comma is a short breath, a full stop a longer one, and a (beat) in the script is a beat on screen."""
    cjk, words = text_units(text)
    breaths = len(COMMA.findall(text)) * COMMA_SECONDS + len(STOP.findall(text.strip())) * STOP_SECONDS
    acting = sum(BEAT_SECONDS if BEAT.search(wryly) else WRYLY_SECONDS for wryly in parentheticals)
    spoken = (cjk + words) / (words_per_minute / 60) + breaths + acting
    return max(DIALOGUE_MIN, spoken + DIALOGUE_PADDING)


def reading_time(text: str) -> float:
    """An action paragraph holds about as long as it takes to read, within what one shot can carry."""
    cjk, words = text_units(text)
    low, high = ACTION_RANGE
    return min(high, max(low, cjk / READ_CJK_PER_SECOND + words / READ_WORDS_PER_SECOND))


def snap(seconds: float, fps: int) -> float:
    """Durations are whole frames, so the edit adds up to exactly what the shot list says."""
    return max(1, round(seconds * fps)) / fps


def bounds(shot: Shot, fps: int) -> tuple[float, float]:
    """How far an editor could cut or hold a shot: a line cannot be cut shorter than it is spoken, a reaction can
    hold; a duration a person set is theirs."""
    if "duration" in shot.edited:
        return shot.duration, shot.duration
    if shot.kind == "dialogue":
        return shot.duration, snap(shot.duration + DIALOGUE_HOLD, fps)
    return snap(max(1.0, shot.duration * SHRINK), fps), snap(shot.duration * STRETCH, fps)


def duration_report(shots: list[Shot], target: float | None) -> DurationReport:
    """The total against the target, and which shots could absorb the difference (most slack first)."""
    stretch = {s.id: round(s.max_duration - s.duration, 3) for s in shots if (s.max_duration or 0) > s.duration}
    shrink = {s.id: round(s.duration - s.min_duration, 3) for s in shots if (s.min_duration or 1e9) < s.duration}
    return DurationReport(
        total=round(sum(shot.duration for shot in shots), 3), target=target,
        can_stretch=dict(sorted(stretch.items(), key=lambda item: -item[1])),
        can_shrink=dict(sorted(shrink.items(), key=lambda item: -item[1])),
    )
