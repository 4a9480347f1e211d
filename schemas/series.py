"""The series bible, `series.yaml`: everything about a show that stays true across its episodes — how it looks,
who is in it, where it happens, how it is delivered and which generator films it."""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$"


class Strict(BaseModel):
    """Unknown keys are typos in a hand-written file: refuse them rather than ignore them."""

    model_config = ConfigDict(extra="forbid")


class Delivery(Strict):
    """The picture and sound every clip is conformed to; any aspect ratio, even sides for H.264."""

    width: int = Field(1920, ge=16, le=7680)
    height: int = Field(1080, ge=16, le=4320)
    fps: int = Field(30, ge=1, le=120)
    audio_rate: int = Field(48000, ge=8000, le=192000)

    @field_validator("width", "height")
    @classmethod
    def even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"must be even for H.264 (got {value}); use {value + 1}")
        return value


class Voice(Strict):
    """A scratch voice for a character until real lines are recorded; `variant` is an espeak-ng voice variant."""

    variant: str | None = Field(None, examples=["f3", "m2"])
    rate: int = Field(160, ge=60, le=450, description="words per minute")
    pitch: int = Field(50, ge=0, le=99)
    espeak_voice: str | None = Field(None, description="a full espeak-ng voice name; overrides the language's default")


class Character(Strict):
    name: str
    aliases: list[str] = Field(default_factory=list, description="other names the script uses in cues")
    description: str = ""
    references: list[Path] = Field(default_factory=list, description="reference images, relative to series.yaml")
    voice: Voice = Field(default_factory=Voice)


class Location(Strict):
    name: str
    aliases: list[str] = Field(default_factory=list, description="other names scene headings use")
    description: str = ""
    references: list[Path] = Field(default_factory=list, description="reference images, relative to series.yaml")


class GeneratorSettings(Strict):
    """Which backend films the shots: `animatic` (previs from reference images) or `diffusers:<model id or path>`."""

    backend: str = "animatic"
    seed: int = 0
    options: dict[str, Any] = Field(default_factory=dict)


DEFAULT_RULES = ["establishing", "dialogue_coverage", "action_coverage", "scene_transition"]


class Storyboard(Strict):
    """How the planner covers a scene. `rules` run in order; each is a name from `aigms.production.coverage.RULES`
    or a `module:function` of the studio's own, so a house style is a list, not a fork."""

    rules: list[str] = Field(default_factory=lambda: list(DEFAULT_RULES))
    segment_seconds: float = Field(5.0, gt=0.5, le=60, description="longest single model call; longer shots chain")
    target_seconds: float | None = Field(None, gt=0, description="episode runtime to plan towards, e.g. 240")
    establishing_seconds: float = Field(3.0, gt=0)
    keyframes: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: a keyframe (i2v) when the shot has reference images to hold, else text-to-video"
    )


class EpisodeRef(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$", examples=["s01e01"])
    title: str = ""
    script: Path = Field(description="Fountain file, relative to series.yaml")
    language: str | None = Field(None, pattern=LANGUAGE_PATTERN, description="defaults to the series' language")
    season: int = Field(1, ge=1)
    number: int | None = Field(None, ge=1)


class Series(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["bronze-echoes"])
    title: str
    language: str = Field("en", pattern=LANGUAGE_PATTERN)
    style: str = Field("", description="style prompt shared by every shot")
    delivery: Delivery = Field(default_factory=Delivery)
    characters: dict[str, Character] = Field(default_factory=dict, description="keyed by character id")
    locations: dict[str, Location] = Field(default_factory=dict, description="keyed by location id")
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    storyboard: Storyboard = Field(default_factory=Storyboard)
    episodes: list[EpisodeRef] = Field(default_factory=list)

    _root: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def unique_episode_ids(self) -> "Series":
        seen: set[str] = set()
        for episode in self.episodes:
            if episode.id in seen:
                raise ValueError(f"episode id {episode.id!r} is used twice")
            seen.add(episode.id)
        return self

    @property
    def root(self) -> Path:
        """The folder holding series.yaml; every relative path in the bible is read from here."""
        return self._root

    def at(self, root: Path) -> "Series":
        self._root = root
        return self

    def episode(self, episode_id: str) -> EpisodeRef:
        for episode in self.episodes:
            if episode.id == episode_id:
                return episode
        known = ", ".join(e.id for e in self.episodes) or "none"
        raise KeyError(f"no episode {episode_id!r} in series {self.id!r} (known: {known})")

    def episode_language(self, episode: EpisodeRef) -> str:
        return episode.language or self.language
