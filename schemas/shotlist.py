"""The shot list of one episode: what the camera department is asked to film, shot by shot, in story order —
the storyboard artist's 分镜 as data, editable by a person and approved before any GPU time is spent."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aigms.schemas.series import FrameRate, GeneratorSettings

Transition = Literal["cut", "dissolve", "fade_in", "fade_out"]
ShotSize = Literal["ECU", "CU", "MCU", "MS", "MLS", "WS", "EWS"]
Framing = Literal["single", "over-the-shoulder", "two-shot", "group", "insert", "establishing"]
Angle = Literal["eye-level", "high", "low", "overhead", "dutch"]
Move = Literal["static", "push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "tilt-down", "tracking",
               "handheld"]
Pace = Literal["slow", "normal", "fast"]
Mode = Literal["t2v", "i2v", "extend"]

SHOT_SIZES: tuple[str, ...] = ShotSize.__args__
MAX_SHOT_SECONDS = 600.0
BOUNDED = ConfigDict(allow_inf_nan=False)
BOOKKEEPING = {"scene", "lines", "dialogue", "source_sha256", "edited", "min_duration", "max_duration"}
EDITABLE = ("size", "framing", "angle", "move", "pace", "duration", "characters", "subject", "emotion", "transition",
            "note", "generator")


class Segment(BaseModel):
    """One model call: video models make ~5 s at a time; a longer shot is a chain, each link with its own prompt."""

    model_config = BOUNDED

    index: int = Field(ge=0)
    start: float = Field(ge=0, le=MAX_SHOT_SECONDS, description="seconds from the start of the shot")
    duration: float = Field(gt=0, le=MAX_SHOT_SECONDS)
    mode: Mode = Field(description="t2v from text, i2v from a keyframe, extend: continue the previous segment")
    prompt: str


class Shot(BaseModel):
    model_config = BOUNDED

    id: str = Field(pattern=r"^[0-9]{3,}[A-Z]?$", examples=["010", "015", "010A"])
    scene: int = Field(ge=1, description="1-based index of the scene in the script")
    kind: Literal["establishing", "action", "dialogue"]
    size: ShotSize = "MS"
    framing: Framing = "single"
    angle: Angle = "eye-level"
    move: Move = "static"
    pace: Pace = Field("normal", description="how fast the camera moves")
    location: str | None = Field(None, description="location id from the bible")
    time_of_day: str | None = None
    characters: list[str] = Field(default_factory=list, description="ids of the characters in frame")
    speaker: str | None = Field(None, description="dialogue: character id, or 'extra:NAME' for an uncast extra")
    subject: str = Field("", description="what the frame is about, e.g. 'progress bar' in an insert")
    text: str = Field(description="the action described, or the line spoken")
    emotion: str | None = Field(None, description="from a parenthetical or markup, e.g. 'whispering'")
    dialogue: list[str] = Field(default_factory=list, description="ids of the lines spoken in the shot: <shot>-<n>")
    lines: list[int] = Field(default_factory=list, description="source lines of the script this shot covers")
    duration: float = Field(gt=0, le=MAX_SHOT_SECONDS,
                            description="seconds, a whole number of frames at the delivery fps")
    min_duration: float | None = Field(None, ge=0, le=MAX_SHOT_SECONDS, description="shortest this shot can be cut")
    max_duration: float | None = Field(None, ge=0, le=MAX_SHOT_SECONDS * 2, description="longest this shot can hold")
    note: str = Field("", description="a director's note, added to every prompt of the shot")
    prompt: str = ""
    segments: list[Segment] = Field(default_factory=list)
    generator: GeneratorSettings | None = Field(None, description="this shot's own generator, instead of the series'")
    transition: Transition = Field("cut", description="how the edit enters this shot")
    source_sha256: str = Field("", description="hash of the script text under the shot; an edit is kept while it holds")
    edited: list[str] = Field(default_factory=list, description="fields a person set (markup or an imported edit)")

    def filmed(self) -> dict[str, Any]:
        """What the camera is asked for. Bookkeeping (where the shot sits in the script, who edited what) is left
        out, so a line added above a shot does not make its take stale."""
        return self.model_dump(mode="json", exclude=BOOKKEEPING)

    @property
    def mode(self) -> str:
        """t2v or i2v for a single segment, 'chain' for a continuation of several."""
        return "chain" if len(self.segments) > 1 else (self.segments[0].mode if self.segments else "t2v")


class ShotEdit(BaseModel):
    """One row of an exported shot list as a person may change it; the read-only columns (text, lines, speaker…)
    are there to read and are ignored on import."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    id: str = Field(pattern=r"^[0-9]{3,}[A-Z]?$")
    size: ShotSize
    framing: Framing
    angle: Angle
    move: Move
    pace: Pace = "normal"
    duration: float = Field(gt=0, le=MAX_SHOT_SECONDS, description="seconds")
    characters: list[str] = Field(default_factory=list)
    subject: str = ""
    emotion: str | None = None
    transition: Transition = "cut"
    note: str = ""
    generator: GeneratorSettings | None = Field(None, description="a backend name (CSV) or mapping (YAML)")

    @field_validator("generator", mode="before")
    @classmethod
    def backend_name(cls, value: Any) -> Any:
        """A spreadsheet cell holds just the backend (`diffusers:/models/wan`); seed and options stay the series'."""
        if isinstance(value, str):
            return {"backend": value} if value.strip() else None
        return value


class DurationReport(BaseModel):
    total: float
    target: float | None = None
    can_stretch: dict[str, float] = Field(default_factory=dict, description="shot id → seconds it could grow")
    can_shrink: dict[str, float] = Field(default_factory=dict, description="shot id → seconds it could lose")


class ShotList(BaseModel):
    model_config = BOUNDED

    series: str
    episode: str
    language: str
    fps: FrameRate
    shots: list[Shot] = Field(default_factory=list)
    ending: Literal["cut", "fade_out"] = Field("cut", description="how the episode leaves its last shot")

    @property
    def duration(self) -> float:
        return sum(shot.duration for shot in self.shots)
