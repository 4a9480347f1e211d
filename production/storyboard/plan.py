"""The shot list of an episode (分镜): the script's action and dialogue become draft shots, the series' coverage
rules frame them, the writer's shot markup overrides both, and each shot is timed, split into model-sized
segments and given one prompt per segment. Pure: reads the script and the bible, writes nothing."""

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from aigms.production import templating
from aigms.production.storyboard import timing
from aigms.production.storyboard.coverage import SceneContext, load_rules, source_hash
from aigms.production.script.markup import is_markup, parse_markup
from aigms.schemas.errors import InputError
from aigms.schemas.script import Element, Scene, Script
from aigms.schemas.series import Series, Voice
from aigms.schemas.shotlist import MAX_SHOT_SECONDS, Segment, Shot, ShotList, Transition

SENTENCE = re.compile(r"(?<=[。！？!?…])|(?<=\.)\s+")
OPENINGS = ("fade in", "fade in from black", "淡入")  # a `FADE IN:` before the first heading is how the episode opens
SIZE_WORDS = {
    "ECU": "extreme close-up", "CU": "close-up", "MCU": "medium close-up", "MS": "medium shot",
    "MLS": "medium long shot", "WS": "wide shot", "EWS": "extreme wide shot",
}


@dataclass
class Plan:
    shotlist: ShotList
    warnings: list[str] = field(default_factory=list)


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


def speaker_name(shot: Shot, series: Series) -> str:
    if shot.speaker is None:
        return ""
    if shot.speaker.startswith("extra:"):
        return shot.speaker.removeprefix("extra:")
    return series.characters[shot.speaker].name


def apply_fields(shot: Shot, fields: dict[str, Any], fps: int) -> None:
    """A person's choice (markup or an imported edit): set, and remembered as theirs so no rule undoes it."""
    for name, value in fields.items():
        setattr(shot, name, timing.snap(value, fps) if name == "duration" else value)
        if name not in shot.edited:
            shot.edited.append(name)


def apply_edits(planned: Shot, overrides: dict[str, Any], source_sha256: str | None,
                series: Series) -> tuple[Shot, str | None]:
    """The planned shot with a person's edits on top, and a conflict message when the script under it changed."""
    if not overrides:
        return planned, None
    shot = Shot.model_validate({**planned.model_dump(mode="json"), **overrides})
    apply_fields(shot, {name: getattr(shot, name) for name in overrides}, series.delivery.fps)
    finish_shot(shot, series)
    if source_sha256 == planned.source_sha256:
        return shot, None
    lines = ", ".join(str(line) for line in planned.lines)
    return shot, (
        f"the script under this shot (line {lines}) changed after it was edited; the edit "
        f"({', '.join(sorted(overrides))}) is kept: check it and import the shot list again"
    )


def plan_shots(script: Script, series: Series, episode_id: str, script_path: Path, *, strict: bool = False) -> Plan:
    """Draft, cover, mark up, time and prompt every shot of the episode; ids are 010, 020, … in story order
    (`aigms.production.storyboard.shot_ids` keeps them stable against an earlier plan)."""
    episode = series.episode(episode_id)
    language = series.episode_language(episode)
    fps = series.delivery.fps
    rules = load_rules(series.storyboard.rules, series.root / "series.yaml")
    plan = Plan(ShotList(series=series.id, episode=episode_id, language=language, fps=fps))
    pending = _entering(script, script_path)
    for index, scene in enumerate(script.scenes, start=1):
        context = SceneContext(scene, index, resolve_location(scene.location, series), series, pending)
        if context.location is None and series.locations:
            plan.warnings.append(
                f"{script_path}:{scene.line}: no location in the bible matches {scene.location!r}; "
                "add it (or an alias) to series.yaml"
            )
        shots, opening, pending = _draft(scene, context, script_path, strict, plan)
        for rule in rules:
            shots = rule(shots, context)
        if opening and shots:
            apply_fields(shots[0], opening, fps)
        plan.shotlist.shots.extend(shots)
    if not plan.shotlist.shots:
        raise InputError(script_path, None, "the script has no action or dialogue to film", "write some scenes")
    plan.shotlist.ending = "fade_out" if pending == "fade_out" else "cut"
    for number, shot in enumerate(plan.shotlist.shots, start=1):
        finish_shot(shot, series)
        shot.id = f"{number * 10:03d}"
        shot.dialogue = dialogue_ids(shot)
    return plan


def _entering(script: Script, script_path: Path) -> Transition:
    """How the episode opens, from what the writer put before the first scene heading. A `FADE IN:` there (action,
    to Fountain) or a transition is how the first shot is entered; notes, sections, synopses and page breaks are
    the writer's own. Action or dialogue there belongs to no scene — no place, no time of day, no scene row to hang a
    shot on — so rather than drop it silently (a cold open, or a title page missing its `Title:` key) it is refused
    with its line: one forced heading makes it a scene."""
    entering: Transition = "cut"
    for element in script.preamble:
        if element.type == "transition" or (
                element.type == "action" and element.text.strip().rstrip(":.：。").casefold() in OPENINGS):
            entering = transition_for(element.text)
        elif element.type in ("action", "dialogue"):
            raise InputError(
                script_path, element.line, f"{element.type} before the first scene heading belongs to no scene",
                "put a scene heading above it (`INT. LAB - NIGHT`, or a forced `.BLACK` for an opening without a "
                "place), make it a note [[...]] if it is not to be filmed, or give a title page its `Title:` key",
            )
    return entering


def _draft(scene: Scene, context: SceneContext, script_path: Path, strict: bool,
           plan: Plan) -> tuple[list[Shot], dict[str, Any], Transition]:
    """One shot per action paragraph and per line (a dual-dialogue line joins the shot before it); markup notes
    go to the shot they follow, or to the scene's first shot when they follow the heading."""
    shots: list[Shot] = []
    opening: dict[str, Any] = {}
    pending: Transition = "cut"
    fps = context.series.delivery.fps
    for element in scene.elements:
        if element.type == "transition":
            pending = transition_for(element.text)
        elif element.type == "note" and is_markup(element.text):
            fields = parse_markup(element.text, script_path, element.line)
            if shots:
                apply_fields(shots[-1], fields, fps)
            else:
                opening.update(fields)
        elif element.type == "dialogue" and element.dual and shots and shots[-1].kind == "dialogue":
            _join_dual(shots[-1], _dialogue(element, context, script_path, strict, plan))
        elif element.type in ("action", "dialogue"):
            shot = (_action(element, context) if element.type == "action"
                    else _dialogue(element, context, script_path, strict, plan))
            shot.transition, pending = pending, "cut"
            shots.append(shot)
    return shots, opening, pending


def _action(element: Element, context: SceneContext) -> Shot:
    text = element.text.strip()
    return Shot(
        id="000", scene=context.index, kind="action", location=context.location,
        time_of_day=context.scene.time_of_day, characters=mentioned_characters(text, context.series), text=text,
        lines=[element.line], duration=timing.reading_time(text), source_sha256=source_hash("action", text),
    )


def _dialogue(element: Element, context: SceneContext, script_path: Path, strict: bool, plan: Plan) -> Shot:
    series = context.series
    speaker = resolve_character(element.character or "", series)
    if speaker is None:
        message = f"character {element.character!r} is not in the bible"
        if strict:
            raise InputError(script_path, element.line, message, "add them to series.yaml or drop --strict")
        plan.warnings.append(f"{script_path}:{element.line}: {message}; cast as an uncast extra")
        speaker = f"extra:{element.character}"
    cast = series.characters.get(speaker)
    text = element.text.strip()
    rate = cast.voice.rate if cast else Voice().rate
    duration = timing.speaking_time(text, rate, element.parentheticals)
    if duration > MAX_SHOT_SECONDS:
        raise InputError(script_path, element.line, f"this line takes {duration:.0f} s to say, longer than a shot "
                         f"can hold ({MAX_SHOT_SECONDS:.0f} s)", "split the speech under several cues")
    return Shot(
        id="000", scene=context.index, kind="dialogue", location=context.location,
        time_of_day=context.scene.time_of_day, characters=[speaker] if cast else [], speaker=speaker, text=text,
        emotion=element.parentheticals[0] if element.parentheticals else None, lines=[element.line],
        duration=duration,
        source_sha256=source_hash("dialogue", element.character or "", *element.parentheticals, text),
    )


def _join_dual(shot: Shot, other: Shot) -> None:
    """Two characters speaking at once share one two-shot, held for the longer line."""
    shot.characters = list(dict.fromkeys([*shot.characters, *other.characters]))
    shot.text = f"{shot.text}\n{other.text}"
    shot.lines += other.lines
    shot.duration = max(shot.duration, other.duration)
    shot.framing = "two-shot"
    shot.source_sha256 = source_hash(shot.source_sha256, other.source_sha256)


def dialogue_ids(shot: Shot) -> list[str]:
    """`<shot>-<n>`: a line keeps its id while its shot keeps its id, so recorded voices stay attached."""
    if shot.kind != "dialogue":
        return []
    return [f"{shot.id}-{n}" for n in range(1, len(shot.lines) + 1)]


def finish_shot(shot: Shot, series: Series) -> None:
    """Frame-exact duration, its slack, the segments and their prompts: everything that follows from the rest of
    the shot, recomputed whenever a rule or a person changes it."""
    fps = series.delivery.fps
    shot.duration = timing.snap(shot.duration, fps)
    shot.min_duration, shot.max_duration = timing.bounds(shot, fps)
    shot.segments = _segments(shot, series)
    shot.prompt = shot.segments[0].prompt


def _keyframed(shot: Shot, series: Series) -> bool:
    policy = series.storyboard.keyframes
    if policy != "auto":
        return policy == "always"
    cast = any(series.characters[key].references for key in shot.characters if key in series.characters)
    place = shot.location is not None and bool(series.locations[shot.location].references)
    return cast or place


def _beats(text: str, count: int) -> list[str]:
    """The shot's text shared out over its segments in order, so a continuation prompt says what happens next."""
    sentences = [part.strip() for part in SENTENCE.split(text.replace("\n", " ")) if part.strip()] or [text]
    beats = []
    for index in range(count):
        start = min(index * len(sentences) // count, len(sentences) - 1)
        end = max(start + 1, (index + 1) * len(sentences) // count)
        beats.append(" ".join(sentences[start:end]))
    return beats


def _segments(shot: Shot, series: Series) -> list[Segment]:
    """Kling-style continuation: whole segments of `segment_seconds`, the remainder last (14 s → 5 + 5 + 4)."""
    fps = series.delivery.fps
    frames = round(shot.duration * fps)
    per_segment = max(1, round(series.storyboard.segment_seconds * fps))
    count = max(1, math.ceil(frames / per_segment))
    template = templating.prompts().get_template("prompts/segment.j2")
    first_mode = "i2v" if _keyframed(shot, series) else "t2v"
    segments = []
    for index, beat in enumerate(_beats(shot.text, count)):
        start = index * per_segment
        length = min(per_segment, frames - start)
        segments.append(Segment(
            index=index, start=start / fps, duration=length / fps, mode=first_mode if index == 0 else "extend",
            prompt=_prompt(template, shot, series, beat, index, count),
        ))
    return segments


def _prompt(template: jinja2.Template, shot: Shot, series: Series, beat: str, index: int, count: int) -> str:
    text = template.render(
        style=series.style, shot=shot, size=SIZE_WORDS[shot.size],
        location=series.locations.get(shot.location) if shot.location else None,
        characters=[series.characters[key] for key in shot.characters if key in series.characters],
        speaker_name=speaker_name(shot, series), beat=beat, index=index, count=count,
    )
    return " ".join(text.split())
