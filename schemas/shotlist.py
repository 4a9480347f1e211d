"""The shot list of one episode: what the camera department is asked to film, shot by shot, in story order —
the storyboard artist's 分镜 as data, editable by a person and approved before any GPU time is spent."""

from typing import Literal

from pydantic import BaseModel, Field

from aigms.schemas.series import GeneratorSettings

Transition = Literal["cut", "dissolve", "fade_in", "fade_out"]
ShotSize = Literal["ECU", "CU", "MCU", "MS", "MLS", "WS", "EWS"]
Framing = Literal["single", "over-the-shoulder", "two-shot", "group", "insert", "establishing"]
Angle = Literal["eye-level", "high", "low", "overhead", "dutch"]
Move = Literal["static", "push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "tilt-down", "tracking",
               "handheld"]
Mode = Literal["t2v", "i2v", "extend"]

SHOT_SIZES: tuple[str, ...] = ShotSize.__args__
EDITABLE = ("size", "framing", "angle", "move", "duration", "characters", "subject", "emotion", "transition",
            "prompt")


class Segment(BaseModel):
    """One model call: video models make ~5 s at a time; a longer shot is a chain, each link with its own prompt."""

    index: int = Field(ge=0)
    start: float = Field(ge=0, description="seconds from the start of the shot")
    duration: float = Field(gt=0)
    mode: Mode = Field(description="t2v from text, i2v from a keyframe, extend: continue the previous segment")
    prompt: str


class Shot(BaseModel):
    id: str = Field(pattern=r"^[0-9]{3,}[A-Z]?$", examples=["010", "015", "010A"])
    scene: int = Field(ge=1, description="1-based index of the scene in the script")
    kind: Literal["establishing", "action", "dialogue"]
    size: ShotSize = "MS"
    framing: Framing = "single"
    angle: Angle = "eye-level"
    move: Move = "static"
    location: str | None = Field(None, description="location id from the bible")
    time_of_day: str | None = None
    characters: list[str] = Field(default_factory=list, description="ids of the characters in frame")
    speaker: str | None = Field(None, description="dialogue: character id, or 'extra:NAME' for an uncast extra")
    subject: str = Field("", description="what the frame is about, e.g. 'progress bar' in an insert")
    text: str = Field(description="the action described, or the line spoken")
    emotion: str | None = Field(None, description="from a parenthetical or markup, e.g. 'whispering'")
    dialogue: list[str] = Field(default_factory=list, description="ids of the dialogue lines spoken in the shot")
    lines: list[int] = Field(default_factory=list, description="source lines of the script this shot covers")
    duration: float = Field(gt=0, description="seconds, a whole number of frames at the delivery fps")
    min_duration: float | None = Field(None, description="shortest this shot can be cut")
    max_duration: float | None = Field(None, description="longest this shot can hold")
    prompt: str = ""
    segments: list[Segment] = Field(default_factory=list)
    generator: GeneratorSettings | None = Field(None, description="this shot's own generator, instead of the series'")
    transition: Transition = Field("cut", description="how the edit enters this shot")
    source_sha256: str = Field("", description="hash of the script text under the shot; an edit is kept while it holds")
    edited: list[str] = Field(default_factory=list, description="fields a person set (markup or an imported edit)")

    @property
    def mode(self) -> str:
        """t2v or i2v for a single segment, 'chain' for a continuation of several."""
        return "chain" if len(self.segments) > 1 else (self.segments[0].mode if self.segments else "t2v")


class DurationReport(BaseModel):
    total: float
    target: float | None = None
    can_stretch: dict[str, float] = Field(default_factory=dict, description="shot id → seconds it could grow")
    can_shrink: dict[str, float] = Field(default_factory=dict, description="shot id → seconds it could lose")


class ShotList(BaseModel):
    series: str
    episode: str
    language: str
    fps: int
    shots: list[Shot] = Field(default_factory=list)

    @property
    def duration(self) -> float:
        return sum(shot.duration for shot in self.shots)
