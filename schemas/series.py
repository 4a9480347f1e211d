"""The series bible, `series.yaml`: everything about a show that stays true across its episodes — how it looks,
who is in it, where it happens, how it is delivered and which generator films it."""

import math
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$"
SERIES_ID = r"^[a-z0-9][a-z0-9-]*$"
EPISODE_ID = r"^[A-Za-z0-9_-]+$"
# The integer frame rates a CMX 3600 EDL carries as SMPTE timecode (OpenTimelineIO's cmx_3600 adapter refuses other
# rates, or reads 23, 29, 47 and 59 as the NTSC rates 23.976…): any other rate would fail after the whole render.
FrameRate = Literal[24, 25, 30, 48, 50, 60]
MAX_EPISODE_SECONDS = 6 * 3600
MAX_SEED = 2**32 - 1


class Strict(BaseModel):
    """Unknown keys are typos in a hand-written file: refuse them rather than ignore them; `inf` and `nan` are never
    a duration, a level or a threshold."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Delivery(Strict):
    """The picture and sound every clip is conformed to; any aspect ratio, even sides for H.264."""

    width: int = Field(1920, ge=16, le=7680)
    height: int = Field(1080, ge=16, le=4320)
    fps: FrameRate = Field(30, description="frames per second: a rate an EDL's timecode can carry")
    audio_rate: int = Field(48000, ge=8000, le=192000)

    @field_validator("width", "height")
    @classmethod
    def even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"must be even for H.264 (got {value}); use {value + 1}")
        return value


class Voice(Strict):
    """A scratch voice for a character until real lines are recorded; `variant` is an espeak-ng voice variant."""

    variant: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,32}$", examples=["f3", "m2"])
    rate: int = Field(160, ge=60, le=450, description="words per minute")
    pitch: int = Field(50, ge=0, le=99)
    espeak_voice: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_+-]{0,63}$",
                                     description="a full espeak-ng voice name; overrides the language's default")


class Character(Strict):
    name: str
    aliases: list[str] = Field(default_factory=list, description="other names the script uses in cues")
    description: str = ""
    references: list[Path] = Field(default_factory=list, description="reference images, relative to series.yaml")
    voice: Voice = Field(default_factory=Voice)
    faceless: bool = Field(False, description="no human face to recognise (a drone, a mask): identity is judged by "
                                              "the silhouette's colours even when qc.faces is set")


class Location(Strict):
    name: str
    aliases: list[str] = Field(default_factory=list, description="other names scene headings use")
    description: str = ""
    references: list[Path] = Field(default_factory=list, description="reference images, relative to series.yaml")


class GeneratorSettings(Strict):
    """Which backend films the shots: `animatic` (previs from reference images) or `diffusers:<model id or path>`."""

    backend: str = "animatic"
    seed: int = Field(0, ge=0, le=MAX_SEED)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def finite(cls, value: dict[str, Any]) -> dict[str, Any]:
        """A backend reads its own options; none of them is meant to be infinite."""
        pending: list[tuple[str, Any]] = list(value.items())
        while pending:
            name, item = pending.pop()
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{name} is {item}, not a number a generator can use")
            if isinstance(item, dict):
                pending.extend((f"{name}.{key}", child) for key, child in item.items())
            elif isinstance(item, list):
                pending.extend((f"{name}[{index}]", child) for index, child in enumerate(item))
        return value


DEFAULT_RULES = ["establishing", "dialogue_coverage", "action_coverage", "scene_transition"]


class Storyboard(Strict):
    """How the planner covers a scene. `rules` run in order; each is a name from `aigms.production.storyboard.coverage.RULES`
    or a `module:function` of the studio's own, so a house style is a list, not a fork."""

    rules: list[str] = Field(default_factory=lambda: list(DEFAULT_RULES))
    segment_seconds: float = Field(5.0, gt=0.5, le=60, description="longest single model call; longer shots chain")
    target_seconds: float | None = Field(None, gt=0, le=MAX_EPISODE_SECONDS,
                                         description="episode runtime to plan towards, e.g. 240")
    establishing_seconds: float = Field(3.0, gt=0, le=60)
    keyframes: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: a keyframe (i2v) when the shot has reference images to hold, else text-to-video"
    )


LabelPosition = Literal["top-left", "top-right", "bottom-left", "bottom-right", "top", "bottom"]


class VisibleLabel(Strict):
    """The explicit label (显式标识) a viewer sees: GB 45438-2025 asks for it at least at the start of a video."""

    text: str = Field("AI生成 AI-generated", max_length=200, description="what the viewer reads")
    position: LabelPosition = "top-right"
    seconds: float | None = Field(5.0, gt=0, le=MAX_EPISODE_SECONDS,
                                  description="shown from the start for this long; null: throughout")
    size: float = Field(0.045, gt=0, le=0.2, description="text height as a fraction of the picture height")


class ImplicitLabel(Strict):
    """The implicit label (隐式标识): GB 45438-2025's `AIGC` metadata item, written into every delivered file.

    `ProduceID` and `ReservedCode1` are filled by the edit (the timeline's hash and the picture's sha256)."""

    label: str = Field("1", description="the content's AIGC attribute; \"1\": generated by AI")
    content_producer: str = Field("", description="producer's name or code; default: the series title")
    content_propagator: str = Field("", description="the distributing platform's name or code, if known")
    propagate_id: str = Field("", description="the platform's id for this content, if known")
    reserved_code2: str = Field("", description="reserved for the propagator")


class Labels(Strict):
    visible: VisibleLabel = Field(default_factory=VisibleLabel)
    implicit: ImplicitLabel = Field(default_factory=ImplicitLabel)


class MusicBed(Strict):
    """A music track under the whole episode, looped to its length and ducked while anyone speaks."""

    path: Path = Field(description="audio file, relative to series.yaml")
    gain_db: float = Field(-14.0, ge=-60, le=12, description="level of the bed before ducking")
    duck_ratio: float = Field(8.0, ge=1, le=20, description="compression ratio while dialogue plays; 1: no ducking")


class EditSettings(Strict):
    loudness: float = Field(-16.0, ge=-40, le=-5, description="integrated loudness target, LUFS (EBU R128)")
    true_peak: float = Field(-1.5, ge=-9, le=0, description="maximum true peak, dBTP")
    dissolve: float = Field(0.5, gt=0, le=5, description="seconds a dissolve takes, centred on the cut")
    fade: float = Field(0.5, gt=0, le=5, description="seconds a fade from or to black takes")
    gop: int = Field(15, ge=2, le=300, description="frames from one keyframe to the next in every clip; the edit "
                     "re-encodes whole GOPs around a transition or the label and copies the rest")
    music: MusicBed | None = None


class SubtitleRules(Strict):
    """Line length and reading speed; defaults follow common streaming practice per language when left empty."""

    max_line_chars: int | None = Field(None, ge=8, le=80, description="default: 16 for Chinese, 42 otherwise")
    max_lines: int = Field(2, ge=1, le=3)
    max_cps: float | None = Field(None, gt=0, le=100,
                                  description="characters per second; default: 9 Chinese, 20 otherwise")
    min_seconds: float = Field(0.8, gt=0, le=10)
    max_wer: float = Field(0.5, gt=0, le=1, description="a line whose audio misses more of its words is flagged")
    burn_in: bool = Field(False, description="also draw the subtitles into the picture (re-encodes all of it)")

    def line_chars(self, language: str) -> int:
        return self.max_line_chars or (16 if language.startswith("zh") else 42)

    def cps(self, language: str) -> float:
        return self.max_cps or (9.0 if language.startswith("zh") else 20.0)


QC_CHECKS = ("identity", "location", "seams", "flicker", "motion", "frozen", "black", "conformance", "continuity",
             "scene_location", "unknown_faces")


def _default_thresholds() -> dict[str, float]:
    return {"identity": 0.5, "location": 0.4, "seams": 0.7, "flicker": 0.9, "motion": 0.0, "frozen": 0.5,
            "black": 0.9, "conformance": 1.0, "continuity": 0.35, "scene_location": 0.4, "unknown_faces": 0.0}


class QCSettings(Strict):
    """Consistency checks run on every take. A take scoring below a check's threshold is filmed again with a new
    seed, up to `retakes` takes a shot; a shot none of whose takes pass is flagged for a person."""

    thresholds: dict[str, float] = Field(default_factory=_default_thresholds,
                                         description="check name → lowest passing score in [0, 1]")
    retakes: int = Field(3, ge=1, le=20, description="most takes a shot gets while its takes fail QC")
    extractor: str = Field("classical", description="classical, or clip:<folder> / dinov2:<folder> of local weights")
    faces: str | None = Field(None, pattern=r"^(dlib|insightface:.+)$", examples=["dlib", "insightface:/models/buffalo_l"],
                              description="judge identity by face embeddings: dlib (weights ship in a package) or an "
                                          "ArcFace ONNX folder; null: by silhouette colours")
    face_every: int = Field(12, ge=1, le=120, description="look for faces in every Nth frame of a take")
    identity_drift: float = Field(0.1, gt=0, le=1, description="a character whose mean identity score differs by more "
                                                               "than this between episodes is flagged")
    frozen_seconds: float = Field(1.0, gt=0, le=60, description="a still stretch longer than this counts as frozen")
    audio_in_clips: bool = Field(False, description="the generator films sound: a dialogue take must carry audio")
    enabled: bool = True

    @field_validator("thresholds")
    @classmethod
    def known_checks(cls, value: dict[str, float]) -> dict[str, float]:
        for name, threshold in value.items():
            if name not in QC_CHECKS:
                raise ValueError(f"no QC check named {name!r}; known: {', '.join(QC_CHECKS)}")
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"threshold of {name!r} must be within [0, 1] (got {threshold})")
        return {**_default_thresholds(), **value}


class Provider(Strict):
    """A remote camera's service (`kling`, `comfyui`): how many of its tasks this studio runs at once. The Prefect
    tag `remote-<provider>` holds the render to it; `AIGMS_LIMIT_<PROVIDER>` on a machine overrides it."""

    concurrency: int | None = Field(None, ge=1, description="most tasks in flight at the provider at once")


class Price(Strict):
    """What one model call costs: a price per call, per second of video it made, per hour it held a device, or a
    sum of them (a GPU rented by the hour, an API billed by the second of video)."""

    per_call: float = Field(0.0, ge=0, le=1e6)
    per_second: float = Field(0.0, ge=0, le=1e6, description="per second of video the call made")
    per_unit: float = Field(0.0, ge=0, le=1e6, description="per unit a provider bills in (Kling's credits)")
    per_device_hour: dict[str, float] = Field(
        default_factory=dict, examples=[{"NVIDIA A100-SXM4-80GB": 12.0, "gpu": 8.0, "cpu": 0.3}],
        description="device name → price per hour the call held it; 'gpu', 'cpu' and 'default' match the rest")

    @field_validator("per_device_hour")
    @classmethod
    def sane_prices(cls, value: dict[str, float]) -> dict[str, float]:
        for device, price in value.items():
            if not 0.0 <= price <= 1e6:
                raise ValueError(f"price per hour of {device!r} must be within [0, 1000000] (got {price})")
        return value


class Costs(Strict):
    """The price table: what each backend (or one model of it) costs, in one currency for the whole series."""

    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    prices: dict[str, Price] = Field(
        default_factory=dict, examples=[{"kling:kling-v2-1": {"per_second": 0.7}, "animatic": {"per_device_hour":
                                                                                               {"cpu": 0.3}}}],
        description="`backend` or `backend:model` → price; the model's own entry wins over its backend's")


class Budget(Strict):
    """Spending limits checked before every model call: a call that would cross one is not made, and the render
    stops with what was spent and what is left (`aigms render --budget-override` goes on)."""

    episode: float | None = Field(None, ge=0, le=1e9, description="most one episode's calls may cost")
    series: float | None = Field(None, ge=0, le=1e9, description="most the whole series' calls may cost")
    retake_share: float | None = Field(
        None, ge=0, le=1, description="most of an episode's budget retakes may take; past it a shot keeps its best take")


class EpisodeRef(Strict):
    id: str = Field(pattern=EPISODE_ID, max_length=64, examples=["s01e01"])
    title: str = ""
    script: Path = Field(description="Fountain file, relative to series.yaml")
    language: str | None = Field(None, pattern=LANGUAGE_PATTERN, description="defaults to the series' language")
    season: int = Field(1, ge=1, le=999)
    number: int | None = Field(None, ge=1, le=99_999)


class Schedule(Strict):
    """A render on a clock, run by `aigms serve`: every approved episode (or the ones listed) is rendered; an
    episode nothing touched costs only cache look-ups, so a nightly run redoes just what changed."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["nightly"])
    cron: str = Field(pattern=r"^\S+( \S+){4}$", examples=["0 2 * * *"],
                      description="five cron fields: minute hour day-of-month month day-of-week")
    timezone: str = Field("UTC", examples=["Asia/Shanghai"])
    episodes: list[str] = Field(default_factory=list, description="episode ids; empty: every episode")
    takes: int = Field(1, ge=1, le=20, description="takes per shot")

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC or Asia/Shanghai") from None
        return value


class Series(Strict):
    id: str = Field(pattern=SERIES_ID, max_length=64, examples=["bronze-echoes"])
    title: str
    language: str = Field("en", pattern=LANGUAGE_PATTERN)
    style: str = Field("", description="style prompt shared by every shot")
    delivery: Delivery = Field(default_factory=Delivery)
    characters: dict[str, Character] = Field(default_factory=dict, description="keyed by character id")
    locations: dict[str, Location] = Field(default_factory=dict, description="keyed by location id")
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    storyboard: Storyboard = Field(default_factory=Storyboard)
    edit: EditSettings = Field(default_factory=EditSettings)
    subtitles: SubtitleRules = Field(default_factory=SubtitleRules)
    labels: Labels = Field(default_factory=Labels)
    qc: QCSettings = Field(default_factory=QCSettings)
    costs: Costs = Field(default_factory=Costs)
    budget: Budget = Field(default_factory=Budget)
    episodes: list[EpisodeRef] = Field(default_factory=list)
    schedules: list[Schedule] = Field(default_factory=list, description="renders `aigms serve` runs on a clock")
    providers: dict[str, Provider] = Field(default_factory=dict, description="remote cameras' limits, by provider")
    lipsync: Literal["kling"] | None = Field(None, description="re-time dialogue takes' mouths to their lines")

    _root: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def unique_episode_ids(self) -> "Series":
        seen: set[str] = set()
        for episode in self.episodes:
            if episode.id in seen:
                raise ValueError(f"episode id {episode.id!r} is used twice")
            seen.add(episode.id)
        names = [schedule.name for schedule in self.schedules]
        if len(names) != len(set(names)):
            raise ValueError(f"schedule names must differ (got {', '.join(names)})")
        for schedule in self.schedules:
            unknown = sorted(set(schedule.episodes) - seen)
            if unknown:
                raise ValueError(f"schedule {schedule.name!r} names episodes not in the series: {', '.join(unknown)}")
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
