"""Shot markup in script notes: `[[SHOT: CU progress bar, push in, 3s]]` or `[[镜头:特写面具,缓慢推进,6秒]]`.
A writer who knows the shot they want says so in the script, and the planner obeys; a word it does not know is an
error with the line, because a silently dropped "dolly zoom" is a night of renders spent on the wrong shot."""

import re
from pathlib import Path
from typing import Any

from aigms.schemas.errors import InputError
from aigms.schemas.shotlist import MAX_SHOT_SECONDS

PREFIX = re.compile(r"^\s*(?:shot|镜头)\s*[:：]\s*", re.IGNORECASE)
SEPARATOR = re.compile(r"(?<!\s)\s*[,，、;；]\s*")  # spaces matched from the start of their run: linear time
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?|秒)$", re.IGNORECASE)

# Longest spellings first, so "MCU" is not read as "CU" and "大特写" not as "特写".
SIZES: dict[str, str] = {
    "extreme close-up": "ECU", "extreme close up": "ECU", "ecu": "ECU", "大特写": "ECU",
    "medium close-up": "MCU", "medium close up": "MCU", "mcu": "MCU", "中近景": "MCU", "近景": "MCU",
    "close-up": "CU", "close up": "CU", "closeup": "CU", "cu": "CU", "特写": "CU",
    "medium long shot": "MLS", "mls": "MLS", "中全景": "MLS",
    "medium shot": "MS", "medium": "MS", "ms": "MS", "中景": "MS",
    "extreme wide shot": "EWS", "extreme wide": "EWS", "ews": "EWS", "els": "EWS", "大远景": "EWS", "远景": "EWS",
    "wide shot": "WS", "wide": "WS", "long shot": "WS", "ws": "WS", "ls": "WS", "全景": "WS",
}
MOVES: dict[str, str] = {
    "static": "static", "locked off": "static", "固定": "static", "固定镜头": "static",
    "push in": "push-in", "push-in": "push-in", "dolly in": "push-in", "zoom in": "push-in", "推进": "push-in",
    "推": "push-in",
    "pull out": "pull-out", "pull-out": "pull-out", "dolly out": "pull-out", "zoom out": "pull-out",
    "拉远": "pull-out", "拉": "pull-out",
    "pan left": "pan-left", "左摇": "pan-left", "pan right": "pan-right", "右摇": "pan-right",
    "tilt up": "tilt-up", "上摇": "tilt-up", "tilt down": "tilt-down", "下摇": "tilt-down",
    "tracking": "tracking", "track": "tracking", "跟拍": "tracking", "跟": "tracking", "移": "tracking",
    "handheld": "handheld", "手持": "handheld",
}
PACES: dict[str, str] = {
    "slow": "slow", "slowly": "slow", "gentle": "slow", "缓慢": "slow", "缓缓": "slow", "慢慢": "slow", "慢": "slow",
    "fast": "fast", "quick": "fast", "quickly": "fast", "rapid": "fast", "快速": "fast", "急速": "fast",
    "快": "fast",
}
ANGLES: dict[str, str] = {
    "eye level": "eye-level", "eye-level": "eye-level", "平视": "eye-level", "平拍": "eye-level",
    "low angle": "low", "low": "low", "仰拍": "low", "仰视": "low",
    "high angle": "high", "high": "high", "俯拍": "high", "俯视": "high",
    "overhead": "overhead", "top shot": "overhead", "bird's eye": "overhead", "顶拍": "overhead", "鸟瞰": "overhead",
    "dutch": "dutch", "dutch angle": "dutch", "倾斜": "dutch",
}
FRAMINGS: dict[str, str] = {
    "over the shoulder": "over-the-shoulder", "over-the-shoulder": "over-the-shoulder", "ots": "over-the-shoulder",
    "过肩": "over-the-shoulder",
    "two-shot": "two-shot", "two shot": "two-shot", "2-shot": "two-shot", "双人": "two-shot",
    "insert": "insert", "插入": "insert", "single": "single", "单人": "single", "group": "group", "群像": "group",
}
TRANSITIONS: dict[str, str] = {
    "cut": "cut", "切": "cut", "dissolve": "dissolve", "叠化": "dissolve", "fade in": "fade_in", "淡入": "fade_in",
}
VOCABULARY = {"angle": ANGLES, "framing": FRAMINGS, "transition": TRANSITIONS}


def is_markup(note: str) -> bool:
    return bool(PREFIX.match(note))


def _longest_prefix(text: str, table: dict[str, str]) -> tuple[str, str] | None:
    """The table entry `text` starts with, longest first; English words must end at a word boundary."""
    folded = text.casefold()
    for spelling in sorted(table, key=len, reverse=True):
        if folded.startswith(spelling):
            rest = text[len(spelling):]
            if spelling.isascii() and rest[:1].isalnum():
                continue
            return table[spelling], rest.strip()
    return None


def _move(token: str) -> dict[str, str] | None:
    """A move, optionally with a pace in front ("slow push in", "缓慢推进")."""
    fields: dict[str, str] = {}
    pace = _longest_prefix(token, PACES)
    if pace is not None:
        fields["pace"], token = pace
    move = _longest_prefix(token, MOVES)
    if move is None or move[1]:
        return None
    fields["move"] = move[0]
    return fields


def parse_markup(note: str, path: Path | str, line: int) -> dict[str, Any]:
    """The shot fields a markup note sets. A size may carry its subject with it: "CU progress bar", "特写面具"."""
    body = PREFIX.sub("", note, count=1)
    fields: dict[str, Any] = {}
    for token in filter(None, SEPARATOR.split(body.strip())):
        if match := DURATION.match(token):
            fields["duration"] = float(match.group(1))
            if not 0 < fields["duration"] <= MAX_SHOT_SECONDS:
                raise InputError(path, line, f"shot markup: a shot of {token} cannot be filmed",
                                 f"give a duration above 0 and at most {MAX_SHOT_SECONDS:.0f} s")
            continue
        if (move := _move(token)) is not None:
            fields.update(move)
            continue
        for field, table in VOCABULARY.items():
            if table.get(token.casefold()):
                fields[field] = table[token.casefold()]
                break
        else:
            size = _longest_prefix(token, SIZES)
            if size is None:
                raise InputError(
                    path, line, f"shot markup: unknown word {token!r}",
                    "write a size (ECU CU MCU MS MLS WS EWS / 特写 近景 中景 全景 远景) with an optional subject, "
                    "a move (push in, pull out, pan left, tilt up, tracking, handheld / 推进 拉远 跟拍), an angle "
                    "(low angle, overhead / 仰拍 俯拍), a framing (OTS, two-shot, insert) or a duration (3s / 6秒)",
                )
            fields["size"], subject = size
            if subject:
                fields["subject"] = subject
    if not fields:
        raise InputError(path, line, "shot markup says nothing", "e.g. [[SHOT: CU mask, push in, 3s]]")
    return fields
