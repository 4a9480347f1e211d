"""Voices: every dialogue line is the studio's recording when there is one, else a scratch voice from espeak-ng,
so timing and subtitles can be judged from the first animatic; either is kept in the asset store. Chinese goes
through numbered pinyin, which espeak-ng's `cmn-latn-pinyin` voice reads as (robotic) Mandarin; its `cmn` voice
would spell the characters out."""

import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
from sqlalchemy.engine import Engine

from aigms.db.session import session_scope
from aigms.production.store import assets, media
from aigms.production.store.assets import canonical_sha256
from aigms.production.store.files import atomic_path
from aigms.production.user_files import inside
from aigms.schemas.series import Series, Voice
from aigms.schemas.shotlist import Shot

PAUSES = re.compile(r"[，。！？；：、,.!?;:…—]+")
BASE_VOICES = {"en": "en-us", "zh": "cmn-latn-pinyin", "yue": "yue"}


class VoiceError(RuntimeError):
    pass


@dataclass(frozen=True)
class LineAudio:
    """A dialogue line's audio as the voice stage left it: a studio recording, or a scratch voice."""

    line: str
    source: str
    path: Path
    seconds: float
    sha256: str

    def is_there(self) -> bool:
        """Whether the file is still in the store with the same bytes (a cached line is used only then)."""
        return self.path.is_file() and assets.sha256_file(self.path) == self.sha256


def record_line(engine: Engine, store: Path, series: Series, language: str, shot: Shot) -> LineAudio:
    """The studio's recording of the shot's line if there is one, else a scratch voice; kept in the asset store. An
    uncast extra speaks with the default voice. The work folder is named for the line, so a recording killed half
    way is cleaned up by the render that resumes it."""
    work = assets.scratch_dir(store) / f"line-{canonical_sha256([line_id(shot), shot.text, language])}"
    work.mkdir(exist_ok=True)
    scratch = work / f"{shot.id}.wav"
    recording = recorded_line(series, shot)
    try:
        if recording is not None:
            seconds = conform_recording(recording, scratch, series.delivery.audio_rate)
        else:
            character = series.characters.get(shot.speaker or "")
            seconds = synthesize(shot.text, language, character.voice if character else Voice(), scratch,
                                 series.delivery.audio_rate)
        source = "recorded" if recording is not None else "scratch"
        with session_scope(engine) as session:
            asset = assets.put_file(session, store, scratch, "audio", {"duration": seconds, "source": source})
            return LineAudio(line_id(shot), source, assets.asset_file(store, asset), seconds, asset.sha256)
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
    from pypinyin import Style, lazy_pinyin  # its dictionaries take ~0.4 s to load: only Chinese lines need them

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
