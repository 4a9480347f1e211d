"""Scratch voices: every dialogue line gets audio from espeak-ng until real lines are recorded, so timing and
subtitles can be judged from the first animatic. Chinese goes through numbered pinyin, which espeak-ng's
`cmn-latn-pinyin` voice reads as (robotic) Mandarin; its `cmn` voice would spell the characters out."""

import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import ffmpeg
from pypinyin import Style, lazy_pinyin

from aigms.production.store import media
from aigms.production.store.files import atomic_path
from aigms.production.user_files import inside
from aigms.schemas.series import Series, Voice
from aigms.schemas.shotlist import Shot

PAUSES = re.compile(r"[，。！？；：、,.!?;:…—]+")
BASE_VOICES = {"en": "en-us", "zh": "cmn-latn-pinyin", "yue": "yue"}


class VoiceError(RuntimeError):
    pass


def line_id(shot: Shot) -> str:
    """A dialogue line's id: the planner's line id when it gives one, else the id of the shot that speaks it."""
    return shot.dialogue[0] if shot.dialogue else shot.id


def recorded_line(series: Series, shot: Shot) -> Path | None:
    """The studio's recording of the line, `voices/<line id>.wav` beside series.yaml, when there is one; one that
    leads out of the series folder is refused (`aigms.production.bible` names it when the series is loaded)."""
    path = inside(series.root, Path("voices") / f"{line_id(shot)}.wav")
    if path is None:
        raise VoiceError(f"voices/{line_id(shot)}.wav leads out of the series folder {series.root}")
    return path if path.is_file() else None


def conform_recording(source: Path, out: Path, sample_rate: int) -> float:
    """A recording in any format ffmpeg reads, as the mono 16-bit WAV the dialogue track is mixed from."""
    with atomic_path(out) as converted:
        media.run(ffmpeg.input(str(source)).output(str(converted), ac=1, ar=sample_rate, acodec="pcm_s16le",
                                                   map_metadata=-1, fflags="+bitexact"))
    with wave.open(str(out)) as audio:
        return audio.getnframes() / audio.getframerate()


def espeak_voice(language: str, voice: Voice) -> str:
    if voice.espeak_voice:
        return voice.espeak_voice
    base = BASE_VOICES.get(language.split("-")[0], language)
    return f"{base}+{voice.variant}" if voice.variant else base


def speakable(text: str, language: str) -> str:
    """What espeak-ng should read: Chinese as tone-numbered pinyin with punctuation kept as pauses."""
    if not language.startswith("zh"):
        return " ".join(text.split())
    phrases = [phrase for phrase in PAUSES.split(text) if phrase.strip()]
    return ", ".join(
        " ".join(lazy_pinyin(phrase, style=Style.TONE3, neutral_tone_with_five=True, errors="ignore"))
        for phrase in phrases
    )


def synthesize(text: str, language: str, voice: Voice, out: Path, sample_rate: int) -> float:
    """Write `out` as mono 16-bit WAV at `sample_rate`; returns its duration in seconds. The words go to espeak-ng
    on its standard input, never on its command line, where a line such as `-f/etc/passwd` or `--phonout=FILE`
    would be read as an option (read a file into the audio, truncate a file)."""
    if shutil.which("espeak-ng") is None:
        raise VoiceError("espeak-ng not found; install it with `apt-get install espeak-ng`")
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch, atomic_path(out) as converted:
        raw = Path(scratch) / "espeak.wav"
        done = subprocess.run(
            ["espeak-ng", "-v", espeak_voice(language, voice), "-s", str(voice.rate), "-p", str(voice.pitch),
             "-b", "1", "-w", str(raw), "--stdin"],
            input=speakable(text, language), capture_output=True, text=True, encoding="utf-8",
        )
        if done.returncode:
            raise VoiceError(f"espeak-ng failed for {text!r}: {done.stderr.strip()}")
        media.run(ffmpeg.input(str(raw)).output(str(converted), ac=1, ar=sample_rate, acodec="pcm_s16le"))
    with wave.open(str(out)) as audio:
        return audio.getnframes() / audio.getframerate()
