"""Speech recognition for subtitles on CPU: the real-time factor (seconds of work per second of audio) of each
Whisper backend on a minute of espeak-ng dialogue, with the baseline — faster-whisper, Whisper base, int8, no
voice-activity filter — measured in the same run.

Run: `.venv/bin/python benchmarks/subtitles.py`. faster-whisper runs the real Whisper base (from the packaged
weights). No openai-whisper weights can be had offline, so openai-whisper runs a random-weight model with Whisper
base's exact shape (same layers, widths and vocabulary, so the same work per token); random weights decode a
different number of tokens than trained ones, so read its figure as the cost of the backend, not of a model."""

import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from aigms.production.post import transcribe
from aigms.production.post.voice import synthesize
from aigms.schemas.series import Voice

RATE = 16000
GAP = 1.5
LINES = [
    "The mask hums on the bench.", "How long has it been doing that?",
    "Four hours and twelve minutes. The pattern repeats every seven seconds.", "Then it is counting.",
    "It is answering the mask.", "Nobody is allowed in here after dark!", "Too late for that.",
    "The great bronze tree rises into shadow.", "Its branches begin to glow, one by one.",
    "We should call the museum director.", "Not yet. I want to hear what it says next.",
    "Kai, record everything from now on.", "Recording. Signal strength is rising.",
]


def dialogue(folder: Path) -> tuple[Path, float]:
    pieces = []
    for number, text in enumerate(LINES):
        wav = folder / f"{number}.wav"
        synthesize(text, "en", Voice(), wav, RATE)
        with wave.open(str(wav)) as audio:
            pieces += [np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2"),
                       np.zeros(round(GAP * RATE), dtype="<i2")]
    track = np.concatenate(pieces)
    out = folder / "dialogue.wav"
    with wave.open(str(out), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(RATE)
        audio.writeframes(track.tobytes())
    return out, len(track) / RATE


def base_shaped_checkpoint(path: Path) -> Path:
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 512, "n_audio_head": 8, "n_audio_layer": 6,
            "n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 512, "n_text_head": 8, "n_text_layer": 6}
    model = Whisper(ModelDimensions(**dims))
    torch.nn.init.normal_(model.decoder.positional_embedding, std=0.01)
    torch.save({"dims": dims, "model_state_dict": model.state_dict()}, path)
    return path


def faster_without_vad(audio: Path) -> None:
    model = transcribe.load("faster-whisper", transcribe.model_location(transcribe.Transcriber("faster-whisper", "base")))
    segments, _ = model.transcribe(str(audio), language="en", word_timestamps=True, vad_filter=False,
                                   temperature=0.0, condition_on_previous_text=False)
    list(segments)


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        audio, seconds = dialogue(folder)
        faster = transcribe.Transcriber("faster-whisper", "base")
        openai = transcribe.Transcriber("openai-whisper", str(base_shaped_checkpoint(folder / "base-shaped.pt")))
        load_faster = timed(lambda: transcribe.load(faster.backend, transcribe.model_location(faster)))
        load_openai = timed(lambda: transcribe.load(openai.backend, openai.model))
        transcribe.transcribe(openai, audio.with_name("0.wav"), "en")  # compiles numba code for word timing once
        baseline = timed(lambda: faster_without_vad(audio))
        results = {
            "faster-whisper base int8, voice-activity filter (the pipeline's setting)":
                timed(lambda: transcribe.transcribe(faster, audio, "en")),
            "openai-whisper, base-shaped random weights, fp32":
                timed(lambda: transcribe.transcribe(openai, audio, "en")),
        }
    print(f"{seconds:.1f} s of espeak-ng English dialogue ({len(LINES)} lines, {GAP:g} s gaps), "
          f"{transcribe.THREADS} CPU threads, word timestamps on")
    print(f"model load: faster-whisper {load_faster:.2f} s, openai-whisper {load_openai:.2f} s (once per process)")
    print(f"baseline, faster-whisper base int8 without voice-activity filter: real-time factor "
          f"{baseline / seconds:.3f}")
    for label, spent in results.items():
        print(f"{label}: real-time factor {spent / seconds:.3f} ({spent / baseline:.2f}x the baseline)")


if __name__ == "__main__":
    main()
