"""A first shot list from a parsed script: one shot per action paragraph and per dialogue line, timed from the
length of its text. Deliberately naive; it gives every later stage real shots to work on."""

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2

from aigms.schemas.errors import InputError
from aigms.schemas.script import Element, Scene, Script
from aigms.schemas.series import Series, Voice
from aigms.schemas.shotlist import Shot, ShotList, Transition

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[A-Za-z0-9']+")

PAUSE = re.compile(r"[，。！？；：…,.!?;:]+")
PAUSE_SECONDS = 0.35
READ_WORDS_PER_SECOND = 3.0
READ_CJK_PER_SECOND = 7.0
DIALOGUE_PADDING = 0.6
ACTION_RANGE = (2.0, 8.0)
DIALOGUE_MIN = 1.5


@dataclass
class Plan:
    shotlist: ShotList
    warnings: list[str] = field(default_factory=list)


def _environment() -> jinja2.Environment:
    folder = resources.files("aigms.templates")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)), autoescape=False, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def text_units(text: str) -> tuple[int, int]:
    """Chinese is timed by characters, other scripts by words; a mixed line counts both."""
    return len(CJK.findall(text)), len(WORD.findall(CJK.sub(" ", text)))


def speaking_time(text: str, words_per_minute: int) -> float:
    """A Chinese character is a syllable, spoken at about the pace of an English word; punctuation is a breath."""
    cjk, words = text_units(text)
    pauses = len(PAUSE.findall(text))
    spoken = (cjk + words) / (words_per_minute / 60) + pauses * PAUSE_SECONDS
    return max(DIALOGUE_MIN, spoken + DIALOGUE_PADDING)


def reading_time(text: str) -> float:
    cjk, words = text_units(text)
    low, high = ACTION_RANGE
    return min(high, max(low, cjk / READ_CJK_PER_SECOND + words / READ_WORDS_PER_SECOND))


def snap(seconds: float, fps: int) -> float:
    """Durations are whole frames, so the edit adds up to exactly what the shot list says."""
    return max(1, round(seconds * fps)) / fps


def _names(name: str, aliases: list[str]) -> list[str]:
    return [candidate.casefold() for candidate in [name, *aliases] if candidate]


def resolve_character(cue: str, series: Series) -> str | None:
    wanted = cue.strip().casefold()
    for key, character in series.characters.items():
        if wanted == key.casefold() or wanted in _names(character.name, character.aliases):
            return key
    return None


def resolve_location(place: str, series: Series) -> str | None:
    """A heading names a place in its own words; the longest bible name found in it wins (DIG SITE over SITE)."""
    wanted = place.casefold()
    best: tuple[int, str] | None = None
    for key, location in series.locations.items():
        for name in [key.casefold(), *_names(location.name, location.aliases)]:
            if name and name in wanted and (best is None or len(name) > best[0]):
                best = (len(name), key)
    return best[1] if best else None


def mentioned_characters(text: str, series: Series) -> list[str]:
    folded = text.casefold()
    return [
        key for key, character in series.characters.items()
        if any(name in folded for name in _names(character.name, character.aliases))
    ]


def transition_for(text: str) -> Transition:
    words = text.casefold()
    if "dissolve" in words or "叠化" in words or "溶" in words:
        return "dissolve"
    if "fade in" in words or "淡入" in words:
        return "fade_in"
    if "fade out" in words or "fade to" in words or "淡出" in words:
        return "fade_out"
    return "cut"


def plan_shots(script: Script, series: Series, episode_id: str, script_path: Path, *, strict: bool = False) -> Plan:
    """One shot per action paragraph and per dialogue line, in story order, with ids 010, 020, …"""
    episode = series.episode(episode_id)
    language = series.episode_language(episode)
    fps = series.delivery.fps
    template = _environment().get_template("prompts/shot.j2")
    plan = Plan(ShotList(series=series.id, episode=episode_id, language=language, fps=fps))
    pending: Transition = "cut"
    for scene_index, scene in enumerate(script.scenes, start=1):
        location = resolve_location(scene.location, series)
        if location is None and series.locations:
            plan.warnings.append(
                f"{script_path}:{scene.line}: no location in the bible matches {scene.location!r}; "
                "add it (or an alias) to series.yaml"
            )
        for element in scene.elements:
            if element.type == "transition":
                pending = transition_for(element.text)
                continue
            if element.type not in ("action", "dialogue"):
                continue
            shot = _shot(element, scene, scene_index, location, series, script_path, strict, plan, fps)
            shot.transition = pending
            pending = "cut"
            shot.prompt = _prompt(template, shot, scene, series)
            plan.shotlist.shots.append(shot)
    for number, shot in enumerate(plan.shotlist.shots, start=1):
        shot.id = f"{number * 10:03d}"
    if not plan.shotlist.shots:
        raise InputError(script_path, None, "the script has no action or dialogue to film", "write some scenes")
    return plan


def _shot(
    element: Element, scene: Scene, scene_index: int, location: str | None, series: Series, script_path: Path,
    strict: bool, plan: Plan, fps: int,
) -> Shot:
    if element.type == "action":
        return Shot(
            id="000", scene=scene_index, kind="action", location=location,
            characters=mentioned_characters(element.text, series), text=element.text.strip(),
            lines=[element.line], duration=snap(reading_time(element.text), fps),
        )
    speaker = resolve_character(element.character or "", series)
    if speaker is None:
        message = f"character {element.character!r} is not in the bible"
        if strict:
            raise InputError(script_path, element.line, message, "add them to series.yaml or drop --strict")
        plan.warnings.append(f"{script_path}:{element.line}: {message}; cast as an uncast extra")
        speaker = f"extra:{element.character}"
    cast = series.characters.get(speaker)
    rate = cast.voice.rate if cast else Voice().rate
    return Shot(
        id="000", scene=scene_index, kind="dialogue", location=location, characters=[speaker] if cast else [],
        speaker=speaker, text=element.text.strip(), lines=[element.line],
        duration=snap(speaking_time(element.text, rate), fps),
    )


def speaker_name(shot: Shot, series: Series) -> str:
    if shot.speaker is None:
        return ""
    if shot.speaker.startswith("extra:"):
        return shot.speaker.removeprefix("extra:")
    return series.characters[shot.speaker].name


def _prompt(template: jinja2.Template, shot: Shot, scene: Scene, series: Series) -> str:
    return template.render(
        style=series.style,
        location=series.locations.get(shot.location) if shot.location else None,
        time_of_day=scene.time_of_day,
        characters=[series.characters[key] for key in shot.characters],
        shot=shot,
        speaker_name=speaker_name(shot, series),
    ).strip()
