"""`manifest.json`: what an episode render was made of, so anyone can check it, or rebuild it, from the list."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from aigms.schemas.series import Delivery, GeneratorSettings


class AssetRef(BaseModel):
    path: str = Field(description="file name relative to the manifest")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class ManifestShot(BaseModel):
    id: str
    start: float = Field(ge=0, description="seconds from the start of the episode")
    duration: float = Field(gt=0)
    kind: str
    characters: list[str] = Field(default_factory=list)
    location: str | None = None
    lines: list[int] = Field(default_factory=list)
    prompt: str
    take: str = Field(description="id of the selected take: the hash of its recipe")
    clip_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    dialogue_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    version: Literal[1] = 1
    series: str
    series_title: str
    episode: str
    episode_title: str = ""
    language: str
    delivery: Delivery
    generator: GeneratorSettings
    duration: float
    shots: list[ManifestShot]
    outputs: dict[str, AssetRef] = Field(default_factory=dict)
    software: dict[str, str] = Field(default_factory=dict)
    created: datetime
