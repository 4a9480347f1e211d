"""An episode's edit as data: which take plays when, how each shot is entered, which line is heard where, the
music under it, the labels on it and the sound level it is delivered at. Built from the shot list and the
selected takes, rendered by `aigms.production.post.edit`, exported to OpenTimelineIO and kept in the manifest, so the
same episode can be rendered again from it alone."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aigms.schemas.series import (EPISODE_ID, MAX_EPISODE_SECONDS, SERIES_ID, FrameRate, ImplicitLabel, SubtitleRules,
                                  VisibleLabel)
from aigms.schemas.shotlist import Transition

SHA256 = r"^[0-9a-f]{64}$"
# A timeline comes back in a manifest, which anyone can edit: every number is bounded as the bible's are.
BOUNDED = ConfigDict(allow_inf_nan=False)
MAX_FRAMES = MAX_EPISODE_SECONDS * 60


class Media(BaseModel):
    """A file the timeline plays: where it was when the timeline was built, and its bytes' hash to find it again."""

    path: str
    sha256: str = Field(pattern=SHA256)


class PictureClip(BaseModel):
    shot: str = Field(description="shot id")
    take: str = Field(description="the selected take: the hash of its recipe")
    media: Media
    start_frame: int = Field(ge=0, le=MAX_FRAMES, description="first frame on the episode timeline")
    frames: int = Field(gt=0, le=MAX_FRAMES)
    transition: Transition = Field("cut", description="how the edit enters this shot")
    transition_frames: int = Field(0, ge=0, le=MAX_FRAMES, description="length of the dissolve or fade, in frames")


class DialogueClip(BaseModel):
    model_config = BOUNDED

    line: str = Field(description="line id: recorded lines are found as voices/<line id>.wav")
    shot: str
    speaker: str
    text: str = Field(description="the line as the script writes it")
    source: Literal["recorded", "scratch"]
    media: Media
    start: float = Field(ge=0, le=MAX_EPISODE_SECONDS, description="seconds on the episode timeline")
    duration: float = Field(gt=0, le=MAX_EPISODE_SECONDS, description="length of the audio")
    shot_end: float = Field(ge=0, le=MAX_EPISODE_SECONDS, description="the line is cut where its shot ends")
    overrun: float = Field(0.0, ge=0, le=MAX_EPISODE_SECONDS,
                           description="seconds of audio past the end of the shot, cut off")

    @property
    def end(self) -> float:
        return min(self.start + self.duration, self.shot_end)


class MusicClip(BaseModel):
    model_config = BOUNDED

    media: Media
    gain_db: float = Field(ge=-60, le=12)
    duck_ratio: float = Field(ge=1, le=20)


class Sound(BaseModel):
    """What the episode's sound is made of: the lines where the edit plays them over its length, the music bed and
    the level it is delivered at. The takes play no part, so the sound can be mixed while the shots are filmed."""

    model_config = BOUNDED

    duration: float = Field(ge=0, le=MAX_EPISODE_SECONDS)
    audio_rate: int = Field(ge=8000, le=192000)
    dialogue: list[DialogueClip] = Field(default_factory=list)
    music: MusicClip | None = None
    loudness: float = Field(ge=-40, le=-5, description="integrated loudness target, LUFS")
    true_peak: float = Field(ge=-9, le=0)


class Timeline(BaseModel):
    model_config = BOUNDED

    version: Literal[1] = 1
    series: str = Field(pattern=SERIES_ID, max_length=64)
    episode: str = Field(pattern=EPISODE_ID, max_length=64)
    language: str
    width: int = Field(ge=16, le=7680)
    height: int = Field(ge=16, le=4320)
    fps: FrameRate
    gop: int = Field(15, ge=2, le=300, description="frames from one keyframe to the next: where the picture can be cut")
    audio_rate: int = Field(ge=8000, le=192000)
    picture: list[PictureClip]
    ending_frames: int = Field(0, ge=0, le=MAX_FRAMES,
                               description="the last shot fades to black over this many frames (FADE OUT.)")
    dialogue: list[DialogueClip] = Field(default_factory=list)
    music: MusicClip | None = None
    loudness: float = Field(ge=-40, le=-5, description="integrated loudness target, LUFS")
    true_peak: float = Field(ge=-9, le=0)
    label: VisibleLabel
    implicit_label: ImplicitLabel
    content_producer: str = Field(description="who the implicit label names as producer")
    subtitles: SubtitleRules

    @property
    def frames(self) -> int:
        return sum(clip.frames for clip in self.picture)

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    @property
    def sound(self) -> Sound:
        return Sound(duration=self.duration, audio_rate=self.audio_rate, dialogue=self.dialogue, music=self.music,
                     loudness=self.loudness, true_peak=self.true_peak)

    def shot_start(self, shot_id: str) -> float:
        clip = next(clip for clip in self.picture if clip.shot == shot_id)
        return clip.start_frame / self.fps
