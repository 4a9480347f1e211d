"""The shot list of one episode: what the camera department is asked to film, in story order."""

from typing import Literal

from pydantic import BaseModel, Field

Transition = Literal["cut", "dissolve", "fade_in", "fade_out"]


class Shot(BaseModel):
    id: str = Field(pattern=r"^[0-9]{3,}[A-Z]?$", examples=["010", "015"])
    scene: int = Field(ge=1, description="1-based index of the scene in the script")
    kind: Literal["action", "dialogue"]
    location: str | None = Field(None, description="location id from the bible")
    characters: list[str] = Field(default_factory=list, description="ids of the characters in frame")
    speaker: str | None = Field(None, description="dialogue: character id, or 'extra:NAME' for an uncast extra")
    text: str = Field(description="the action described, or the line spoken")
    lines: list[int] = Field(default_factory=list, description="source lines of the script this shot covers")
    duration: float = Field(gt=0, description="seconds, a whole number of frames at the delivery fps")
    prompt: str = ""
    transition: Transition = Field("cut", description="how the edit enters this shot")


class ShotList(BaseModel):
    series: str
    episode: str
    language: str
    fps: int
    shots: list[Shot] = Field(default_factory=list)

    @property
    def duration(self) -> float:
        return sum(shot.duration for shot in self.shots)
