"""Subtitles from real speech recognition: espeak-ng lines heard by Whisper base (faster-whisper, weights from the
packages named in shared/notes/whisper.md), a recording that says another sentence flagged, Chinese cues placed
where the speech is, and openai-whisper's plumbing through a tiny random checkpoint loaded from a path."""

import json
import wave
from pathlib import Path

import numpy as np
import pysubs2
import pytest

from aigms.production.post import subtitles, transcribe
from aigms.production.store import assets
from aigms.production.post.subtitles import error_rate, make_cues, wrap
from aigms.production.post.voice import synthesize
from aigms.schemas.series import ImplicitLabel, SubtitleRules, Voice, VisibleLabel
from aigms.schemas.timeline import DialogueClip, Media, PictureClip, Timeline

RATE = 16000
FASTER = transcribe.Transcriber("faster-whisper", "base")


def speech_span(path: Path, start: float) -> tuple[float, float]:
    """Where the audio is actually loud, on the timeline: the truth Whisper's timing is compared with."""
    with wave.open(str(path)) as audio:
        samples = np.abs(np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float32))
    loud = np.flatnonzero(samples > 0.05 * samples.max())
    return start + loud[0] / RATE, start + loud[-1] / RATE


def timeline_of(folder: Path, lines: list[tuple[str, str, str]], language: str, shot: float = 6.0) -> Timeline:
    """Shots of `shot` seconds, one line each, from (text spoken, script text, source): the picture is not
    needed to hear the dialogue, so its clips name no real file."""
    picture, dialogue = [], []
    for index, (spoken, text, source) in enumerate(lines):
        wav = folder / f"line{index}.wav"
        seconds = synthesize(spoken, language, Voice(), wav, RATE)
        start = index * shot
        picture.append(PictureClip(shot=f"{index + 1:02d}0", take="0" * 64, media=Media(path="none.mp4", sha256="0" * 64),
                                   start_frame=round(start * 24), frames=round(shot * 24)))
        dialogue.append(DialogueClip(line=f"{index + 1:02d}0", shot=f"{index + 1:02d}0", speaker="lin", text=text,
                                     source=source, media=Media(path=str(wav), sha256=assets.sha256_file(wav)),
                                     start=start + 0.5, duration=seconds, shot_end=start + shot))
    return Timeline(series="t", episode="e", language=language, width=320, height=180, fps=24, audio_rate=RATE,
                    picture=picture, dialogue=dialogue, loudness=-16, true_peak=-1.5, label=VisibleLabel(),
                    implicit_label=ImplicitLabel(), content_producer="t", subtitles=SubtitleRules())


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> tuple[Timeline, list]:
    folder = tmp_path_factory.mktemp("english")
    timeline = timeline_of(folder, [
        ("The mask hums on the bench.", "The mask hums on the bench.", "scratch"),
        ("Nobody is allowed in here after dark!", "Nobody is allowed in here after dark!", "scratch"),
        ("The weather was lovely at the seaside yesterday.", "It is answering the mask.", "recorded"),
    ], "en")
    return timeline, subtitles.hear(timeline, FASTER, folder / "transcripts")


def test_english_scratch_lines_are_heard_as_the_script_says(english) -> None:
    _, checks = english
    assert [check.wer < 0.35 for check in checks[:2]] == [True, True], [check.heard for check in checks]
    assert not any(check.flagged for check in checks[:2])
    assert all(check.transcriber == "faster-whisper:base" for check in checks)


def test_a_recording_that_says_another_sentence_is_flagged(english) -> None:
    _, checks = english
    assert checks[2].source == "recorded"
    assert checks[2].flagged and checks[2].wer > 0.5
    assert "weather" in checks[2].heard.lower()


def test_cues_keep_the_scripts_words_on_whispers_timing(english) -> None:
    timeline, checks = english
    cues, _ = make_cues(timeline, checks)
    assert [cue.text for cue in cues] == [line.text for line in timeline.dialogue]
    for cue, line in zip(cues, timeline.dialogue):
        onset, _ = speech_span(Path(line.media.path), line.start)
        assert abs(cue.start - onset) < 0.3


def test_a_line_heard_once_is_not_transcribed_again(english, tmp_path: Path) -> None:
    timeline, checks = english
    cache = tmp_path / "transcripts"
    first = subtitles.hear(timeline, FASTER, cache)
    assert len(list(cache.iterdir())) == 3
    (recorded,) = [entry for entry in cache.iterdir() if "weather" in entry.read_text()]
    recorded.write_text(recorded.read_text().replace("weather", "thunder"))
    again = subtitles.hear(timeline, FASTER, cache)
    assert "thunder" in again[2].heard and first[2].heard == checks[2].heard
    assert [check.heard for check in again[:2]] == [check.heard for check in first[:2]]


def test_chinese_lines_are_placed_where_their_speech_is(tmp_path: Path) -> None:
    """Whisper base hears robotic Mandarin poorly (see the notes), so only its timing is relied on."""
    lines = [("凯，你看这个纹路。", "凯，你看这个纹路。", "scratch"), ("检测到未知信号。", "检测到未知信号。", "scratch")]
    timeline = timeline_of(tmp_path, lines, "zh", shot=5.0)
    checks = subtitles.hear(timeline, FASTER, None)
    cues, _ = make_cues(timeline, checks)
    assert [cue.text for cue in cues] == [text for _, text, _ in lines]
    for check, cue, line in zip(checks, cues, timeline.dialogue):
        onset, offset = speech_span(Path(line.media.path), line.start)
        assert check.speech_start is not None and abs(check.speech_start - onset) < 0.35
        assert abs(check.speech_end - offset) < 0.5
        assert cue.start == pytest.approx(check.speech_start, abs=0.01)


def test_long_chinese_line_is_split_into_cues_that_fit_and_can_be_read(tmp_path: Path) -> None:
    text = "纹饰与三号坑的面具一致，相似度百分之九十一。它在三千年前就已经开始计数，我们只是刚刚听见。"
    timeline = timeline_of(tmp_path, [(text, text, "scratch")], "zh", shot=14.0)
    cues, warnings = make_cues(timeline, subtitles.check_lines(timeline, None))
    assert len(cues) >= 2 and "".join(cue.text.replace("\n", "") for cue in cues) == text
    for cue in cues:
        assert all(len(row) <= 16 for row in cue.text.split("\n")) and len(cue.text.split("\n")) <= 2
        assert len(cue.text.replace("\n", "")) / (cue.end - cue.start) <= 9 + 1e-6 or warnings
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))


def test_a_cue_too_fast_to_read_is_reported() -> None:
    timeline = Timeline.model_validate({
        "series": "t", "episode": "e", "language": "en", "width": 320, "height": 180, "fps": 24,
        "audio_rate": RATE, "loudness": -16, "true_peak": -1.5, "label": {}, "implicit_label": {},
        "content_producer": "t", "subtitles": {},
        "picture": [{"shot": "010", "take": "0" * 64, "media": {"path": "x", "sha256": "0" * 64},
                     "start_frame": 0, "frames": 24}],
        "dialogue": [{"line": "010", "shot": "010", "speaker": "lin", "source": "scratch",
                      "text": "Four hours and twelve minutes; the pattern repeats every seven seconds.",
                      "media": {"path": "x", "sha256": "0" * 64}, "start": 0.0, "duration": 1.0, "shot_end": 1.0}],
    })
    _, warnings = make_cues(timeline, subtitles.check_lines(timeline, None))
    assert len(warnings) == 1 and "characters per second" in warnings[0]


@pytest.mark.parametrize(("reference", "heard", "language", "expected"), [
    ("Four hours and twelve minutes.", "4 hours and 12 minutes", "en", 0.0),
    ("It is answering the mask.", "It's answering the mask!", "en", 0.0),
    ("你们看", "您們看", "zh", 1 / 3),
    ("检测到未知信号。", "", "zh", 1.0),
])
def test_error_rate_forgives_spelling_not_words(reference: str, heard: str, language: str, expected: float) -> None:
    assert error_rate(reference, heard, language) == pytest.approx(expected)


def test_wrapping_breaks_after_punctuation_within_the_line_length() -> None:
    assert wrap("Four hours and twelve minutes. The pattern repeats every seven seconds.", 42) == [
        "Four hours and twelve minutes.", "The pattern repeats every seven seconds."]
    assert wrap("纹饰与三号坑的面具一致，相似度百分之九十一。", 16) == ["纹饰与三号坑的面具一致，", "相似度百分之九十一。"]


def tiny_whisper_checkpoint(path: Path) -> Path:
    """A random-weight multilingual Whisper small enough to build in a test: the 30 s window (1500 audio
    positions) and the 51865-token vocabulary are what the library requires; everything else is tiny."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 64, "n_audio_head": 2, "n_audio_layer": 2,
            "n_vocab": 51865, "n_text_ctx": 64, "n_text_state": 64, "n_text_head": 2, "n_text_layer": 2}
    model = Whisper(ModelDimensions(**dims))
    torch.nn.init.normal_(model.decoder.positional_embedding, std=0.01)
    torch.save({"dims": dims, "model_state_dict": model.state_dict()}, path)
    return path


def test_openai_whisper_runs_from_a_local_checkpoint(tmp_path: Path) -> None:
    checkpoint = tiny_whisper_checkpoint(tmp_path / "tiny-random.pt")
    transcriber = transcribe.parse_transcriber(f"openai-whisper:{checkpoint}")
    timeline = timeline_of(tmp_path, [("Then it is counting.", "Then it is counting.", "scratch")], "en", shot=3.0)
    checks = subtitles.hear(timeline, transcriber, tmp_path / "transcripts")
    assert checks[0].transcriber == f"openai-whisper:{checkpoint}"
    assert checks[0].wer is not None and 0.0 <= checks[0].wer <= 1.0
    assert all(0 <= start <= end <= timeline.duration + 0.5 for start, end, _ in checks[0].word_times)
    assert len(list((tmp_path / "transcripts").iterdir())) == 1


def test_an_edited_line_is_heard_alone(tmp_path: Path) -> None:
    """What was heard of each line is kept by its audio; marking the kept words shows which lines were heard
    again after one line is spoken anew: only that one."""
    checkpoint = tiny_whisper_checkpoint(tmp_path / "tiny-random.pt")
    transcriber = transcribe.parse_transcriber(f"openai-whisper:{checkpoint}")
    lines = [("The mask hums.", "The mask hums.", "scratch"), ("It is counting.", "It is counting.", "scratch"),
             ("Nobody comes here.", "Nobody comes here.", "scratch")]
    timeline = timeline_of(tmp_path, lines, "en", shot=3.0)
    cache = tmp_path / "transcripts"
    subtitles.hear(timeline, transcriber, cache)
    entries = list(cache.iterdir())
    assert len(entries) == 3
    for entry in entries:
        kept = json.loads(entry.read_text())
        entry.write_text(json.dumps({**kept, "words": [{"start": 0.1, "end": 0.5, "text": " kept"}]}))
    wav = tmp_path / "edited.wav"
    seconds = synthesize("It is answering the mask.", "en", Voice(), wav, RATE)
    edited = timeline.model_copy(deep=True)
    edited.dialogue[1].media = Media(path=str(wav), sha256=assets.sha256_file(wav))
    edited.dialogue[1].duration = seconds
    checks = subtitles.hear(edited, transcriber, cache)
    assert len(list(cache.iterdir())) == 4
    assert [check.heard == "kept" for check in checks] == [True, False, True]
    assert checks[0].speech_start == pytest.approx(timeline.dialogue[0].start + 0.1)


def test_an_unknown_recogniser_is_refused_with_what_to_set() -> None:
    with pytest.raises(transcribe.TranscriberError, match="faster-whisper:<model name or folder>"):
        transcribe.parse_transcriber("whisperx:large")
    assert transcribe.parse_transcriber("none") is None


def test_srt_and_vtt_carry_two_line_cues(tmp_path: Path) -> None:
    cues = [subtitles.Cue(0.25, 2.0, "Four hours and twelve minutes.\nThe pattern repeats every seven seconds.")]
    subtitles.write_srt(cues, tmp_path / "a.srt")
    subtitles.write_vtt(cues, tmp_path / "a.vtt")
    assert "00:00:00,250 --> 00:00:02,000\nFour hours and twelve minutes.\nThe pattern" in (tmp_path / "a.srt").read_text()
    assert (tmp_path / "a.vtt").read_text().startswith("WEBVTT")
    assert pysubs2.load(str(tmp_path / "a.vtt"))[0].plaintext == cues[0].text
