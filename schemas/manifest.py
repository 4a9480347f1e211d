"""`manifest.json`: what an episode render was made of, so anyone can check it, or rebuild it, from the list."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from aigms.schemas.series import EPISODE_ID, MAX_EPISODE_SECONDS, SERIES_ID, Delivery, GeneratorSettings
from aigms.schemas.timeline import BOUNDED, Timeline


class AssetRef(BaseModel):
    path: str = Field(description="file name relative to the manifest")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class ManifestCall(BaseModel):
    """One model call the selected take was made of (a segment, a lip sync): who made it, under which task id,
    and what it was billed."""

    kind: str = Field(description="segment, keyframe or lipsync")
    segment: int | None = None
    backend: str
    model: str = ""
    provider: str | None = Field(None, description="the remote service or server (kling, comfyui)")
    task_id: str | None = Field(None, description="the provider's task or prompt id")
    billed_units: float | None = None
    unit: str | None = Field(None, description="what billed_units counts: the provider's units, or seconds")
    cost: float | None = None
    currency: str | None = None


class ManifestShot(BaseModel):
    model_config = BOUNDED

    id: str
    start: float = Field(ge=0, le=MAX_EPISODE_SECONDS, description="seconds from the start of the episode")
    duration: float = Field(gt=0, le=MAX_EPISODE_SECONDS)
    kind: str
    characters: list[str] = Field(default_factory=list)
    location: str | None = None
    lines: list[int] = Field(default_factory=list)
    prompt: str
    take: str = Field(description="id of the selected take: the hash of its recipe")
    clip_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    dialogue_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    calls: list[ManifestCall] = Field(default_factory=list, description="the model calls of the selected take")
    cost: float | None = Field(None, ge=0, description="what the selected take's model calls cost (keyframe "
                                                        "included), in the manifest's currency")


class LineCheck(BaseModel):
    """What Whisper heard of one dialogue line, against what the script says: the line's subtitle QC."""

    model_config = BOUNDED

    line: str
    shot: str
    text: str = Field(description="the line as the script writes it (the subtitles' wording)")
    source: str = Field(description="recorded (voices/<line>.wav) or scratch (espeak-ng)")
    audio_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    heard: str = Field("", description="what the recogniser heard where the line is placed")
    wer: float | None = Field(None, ge=0, le=1, description="word error rate of `heard` against `text`; "
                                                             "Chinese by pinyin syllable; None: not transcribed")
    flagged: bool = Field(False, description="the audio does not say the text: wer above the series' max_wer")
    speech_start: float | None = Field(None, ge=0, le=MAX_EPISODE_SECONDS,
                                       description="seconds on the timeline where the words are heard")
    speech_end: float | None = Field(None, ge=0, le=MAX_EPISODE_SECONDS)
    word_times: list[tuple[float, float, str]] = Field(default_factory=list, description="heard words, timed")
    transcriber: str = ""


class Manifest(BaseModel):
    """`series` and `episode` name the delivery folder (`OUT/<series>/<episode>/`): ids, never a path."""

    model_config = BOUNDED

    version: Literal[1] = 1
    series: str = Field(pattern=SERIES_ID, max_length=64)
    series_title: str
    episode: str = Field(pattern=EPISODE_ID, max_length=64)
    episode_title: str = ""
    language: str
    delivery: Delivery
    generator: GeneratorSettings
    duration: float = Field(ge=0, le=MAX_EPISODE_SECONDS)
    shots: list[ManifestShot]
    outputs: dict[str, AssetRef] = Field(default_factory=dict)
    timeline: Timeline | None = Field(None, description="the edit as rendered: enough to render it again")
    lines: list[LineCheck] = Field(default_factory=list, description="each dialogue line's subtitle check")
    picture_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$",
                                       description="sha256 of the video stream's packets (ffmpeg's hash muxer)")
    aigc: dict[str, str] = Field(default_factory=dict, description="the implicit AIGC label written into the MP4")
    software: dict[str, str] = Field(default_factory=dict)
    currency: str | None = Field(None, description="of every cost in the manifest (series.yaml: costs.currency)")
    spent: float | None = Field(None, ge=0, description="all the episode's model calls so far, retakes and "
                                                        "rejected takes included")
    created: datetime
