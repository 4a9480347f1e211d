"""The episode master: clips joined in story order without re-encoding the picture, and a dialogue track laid
under them with each line at its shot. The picture is the expensive part; only the sound is rendered here."""

import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from aigms.production import media
from aigms.production.files import atomic_path
from aigms.schemas.series import Delivery
from aigms.schemas.shotlist import Shot


@dataclass(frozen=True)
class PlacedLine:
    """A dialogue line where the edit put it: `start` and `end` are seconds on the episode timeline."""

    shot_id: str
    start: float
    duration: float
    shot_end: float
    text: str
    speaker: str
    audio: Path

    @property
    def end(self) -> float:
        return min(self.start + self.duration, self.shot_end)


def place_dialogue(shots: list[Shot], audio: dict[str, tuple[Path, float]],
                   lead_in: float = 0.25) -> tuple[list[PlacedLine], list[str]]:
    """Each line starts `lead_in` into its shot; a line longer than its shot is cut there, and reported."""
    lines, warnings = [], []
    start = 0.0
    for shot in shots:
        end = start + shot.duration
        if shot.id in audio:
            path, seconds = audio[shot.id]
            line = PlacedLine(shot.id, round(min(start + lead_in, end), 6), seconds, round(end, 6), shot.text,
                              shot.speaker or "", path)
            if line.start + seconds > end + 1e-6:
                warnings.append(
                    f"shot {shot.id}: the line runs {line.start + seconds - end:.2f} s longer than its shot "
                    f"({shot.duration:.2f} s) and is cut; lengthen the shot or shorten the line"
                )
            lines.append(line)
        start = end
    return lines, warnings


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    with wave.open(str(path)) as audio:
        if audio.getframerate() != sample_rate or audio.getnchannels() != 1 or audio.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit WAV at {sample_rate} Hz")
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float32)


def dialogue_track(lines: list[PlacedLine], duration: float, sample_rate: int, out: Path) -> None:
    """Silence with every line added in at its sample; overlapping lines sum and are clipped, never wrapped."""
    total = round(duration * sample_rate)
    track = np.zeros(total, dtype=np.float32)
    for line in lines:
        samples = read_wav(line.audio, sample_rate)
        first = round(line.start * sample_rate)
        last = min(round(line.shot_end * sample_rate), total, first + len(samples))
        if last > first:
            track[first:last] += samples[: last - first]
    pcm = np.clip(track, -32768, 32767).astype("<i2")
    with atomic_path(out) as temporary, wave.open(str(temporary), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(sample_rate)
        audio.writeframes(pcm.tobytes())


def assemble(clips: list[Path], lines: list[PlacedLine], delivery: Delivery, out: Path) -> None:
    """Join the clips (stream copy: they share codec, size, fps and time base) and mux the dialogue as AAC."""
    durations = [media.probe(clip).duration for clip in clips]
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        listing = Path(scratch) / "clips.txt"
        listing.write_text("".join(f"file '{clip.resolve()}'\n" for clip in clips))
        picture = Path(scratch) / "picture.mp4"
        media.run_args(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(picture)])
        sound = Path(scratch) / "dialogue.wav"
        dialogue_track(lines, sum(durations), delivery.audio_rate, sound)
        with atomic_path(out) as temporary:
            media.run(
                ffmpeg.output(
                    ffmpeg.input(str(picture)).video, ffmpeg.input(str(sound)).audio, str(temporary),
                    vcodec="copy", acodec="aac", audio_bitrate="160k", ar=delivery.audio_rate,
                    movflags="+faststart", shortest=None,
                )
            )
