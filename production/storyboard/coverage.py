"""Coverage rules: how a storyboard artist covers a scene, one small function per habit. Each takes the scene's
shots in story order and returns them re-framed (or with shots added); `series.yaml` lists which run and in what
order (`storyboard.rules`), and a studio adds its own as `module:function` without forking the planner.

A rule proposes; a person disposes: fields set by markup or an imported edit (`shot.edited`) are never changed."""

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigms.production.storyboard.timing import text_units
from aigms.schemas.errors import InputError
from aigms.schemas.script import Scene
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot, Transition


@dataclass
class SceneContext:
    scene: Scene
    index: int
    location: str | None
    series: Series
    entering: Transition = "cut"


Rule = Callable[[list[Shot], SceneContext], list[Shot]]

INTENSE = (
    "whisper", "tears", "crying", "sobbing", "angry", "furious", "shouting", "screaming", "trembling", "choked",
    "terrified", "低声", "耳语", "哭", "哽咽", "愤怒", "怒", "喊", "尖叫", "颤抖", "惊恐", "含泪",
)
INSERT_WORDS = (
    "close on", "insert", "screen", "display", "monitor", "progress bar", "hand ", "hands", "eyes", "finger",
    "detail", "pattern", "glint", "badge", "letter", "屏幕", "显示", "进度条", "手指", "双手", "眼睛", "纹路",
    "纹饰", "细节", "微光", "光点", "指纹", "字迹",
)
WIDE_WORDS = (
    "valley", "sky", "city", "crowd", "landscape", "horizon", "runs", "running", "explosion", "storm", "thunder",
    "in the distance", "across the", "whole", "山谷", "天空", "城市", "人群", "远处", "雷声", "奔跑", "爆炸",
    "整个", "山坡", "地平线", "暴雨",
)
SHORT_LINE, LONG_LINE = 6, 20


def source_hash(*parts: str) -> str:
    """What the script says under a shot; an edit to a shot is kept while this stays the same."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def propose(shot: Shot, **fields: Any) -> None:
    for name, value in fields.items():
        if name not in shot.edited:
            setattr(shot, name, value)


def is_exterior(scene: Scene) -> bool:
    return scene.setting in ("EXT", "EST", "INT/EXT")


def establishing(shots: list[Shot], context: SceneContext) -> list[Shot]:
    """Every scene opens on its location, wide, before we are shown who is in it."""
    series, scene = context.series, context.scene
    place = series.locations.get(context.location) if context.location else None
    opening = Shot(
        id="000", scene=context.index, kind="establishing", size="EWS" if is_exterior(scene) else "WS",
        framing="establishing", angle="high" if is_exterior(scene) else "eye-level", move="push-in", pace="slow",
        location=context.location, time_of_day=scene.time_of_day, subject=place.name if place else scene.location,
        text=(place.description if place and place.description else scene.heading), lines=[scene.line],
        duration=series.storyboard.establishing_seconds, source_sha256=source_hash("heading", scene.heading),
    )
    return [opening, *shots]


def _intense(emotion: str | None) -> bool:
    return bool(emotion) and any(word in emotion.casefold() for word in INTENSE)


def _line_size(shot: Shot) -> str:
    """Short or charged lines play close; long speeches play wider, so the actor has room to move."""
    if _intense(shot.emotion):
        return "CU"
    units = sum(text_units(shot.text))
    return "CU" if units <= SHORT_LINE else "MCU" if units <= LONG_LINE else "MS"


def _exchanges(shots: list[Shot]) -> list[list[int]]:
    """Runs of consecutive lines between the same two cast characters, speaking in turn."""
    runs: list[list[int]] = []
    for position, shot in enumerate(shots):
        cast = shot.kind == "dialogue" and shot.speaker is not None and not shot.speaker.startswith("extra:")
        if not cast:
            continue
        run = runs[-1] if runs else None
        if run and run[-1] == position - 1:
            previous = shots[run[-1]]
            pair = {shots[i].speaker for i in run} | {shot.speaker}
            if shot.speaker != previous.speaker and len(pair) <= 2:
                run.append(position)
                continue
        runs.append([position])
    return [run for run in runs if len(run) > 1]


def dialogue_coverage(shots: list[Shot], context: SceneContext) -> list[Shot]:
    """A single on the speaker, sized by the line; when two characters trade lines, the exchange opens on a
    two-shot and continues over the shoulder of whoever listens."""
    for shot in shots:
        if shot.kind == "dialogue":
            propose(shot, size=_line_size(shot), framing="two-shot" if len(shot.characters) > 1 else "single")
    for run in _exchanges(shots):
        speakers = [shots[i].speaker for i in run]
        for order, position in enumerate(run):
            shot = shots[position]
            if _intense(shot.emotion) or len(shot.characters) > 1:
                continue
            listener = next(s for s in speakers if s != shot.speaker)
            if order == 0:
                propose(shot, size="MS", framing="two-shot", characters=[shot.speaker, listener])
            else:
                propose(shot, size="MCU", framing="over-the-shoulder", characters=[shot.speaker, listener])
    return shots


def _hits(text: str, words: tuple[str, ...]) -> list[str]:
    folded = f" {text.casefold()} "
    return [word for word in words if word in folded]


def action_coverage(shots: list[Shot], context: SceneContext) -> list[Shot]:
    """Action is framed by what it describes: a detail is an insert, a landscape or a crowd is wide, people
    doing something are a medium shot of them."""
    for shot in shots:
        if shot.kind != "action":
            continue
        inserts, wides = _hits(shot.text, INSERT_WORDS), _hits(shot.text, WIDE_WORDS)
        if inserts and len(inserts) >= len(wides):
            propose(shot, size="CU", framing="insert", move="push-in", subject=inserts[0].strip())
        elif wides:
            propose(shot, size="EWS" if is_exterior(context.scene) and not shot.characters else "WS",
                    framing="group" if len(shot.characters) > 2 else "single")
        elif len(shot.characters) > 2:
            propose(shot, size="WS", framing="group")
        elif len(shot.characters) == 2:
            propose(shot, size="MS", framing="two-shot")
        else:
            propose(shot, size="MS", framing="single")
    return shots


def scene_transition(shots: list[Shot], context: SceneContext) -> list[Shot]:
    """The transition written before a scene (`DISSOLVE TO:`, `> 叠化：`) is how the edit enters its first shot."""
    if shots:
        propose(shots[0], transition=context.entering)
    return shots


RULES: dict[str, Rule] = {
    rule.__name__: rule for rule in (establishing, dialogue_coverage, action_coverage, scene_transition)
}


def load_rules(names: list[str], bible: Path) -> list[Rule]:
    """Our rules by name, a studio's by `module:function`; a name that resolves to nothing stops the plan."""
    rules: list[Rule] = []
    for name in names:
        if name in RULES:
            rules.append(RULES[name])
            continue
        module, _, function = name.partition(":")
        try:
            rules.append(getattr(importlib.import_module(module), function))
        except (ImportError, AttributeError, ValueError):
            raise InputError(
                bible, None, f"storyboard rule {name!r} is neither one of ours nor an importable module:function",
                f"use one of {', '.join(RULES)} or a module:function on the Python path",
            ) from None
    return rules
