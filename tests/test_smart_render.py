"""Smart rendering, checked against the plain way of making the same picture: the master the edit makes by copying
GOPs and re-encoding only those under a transition or the label, and a full re-encode of the same timeline, must
have the same frames at the same times and look alike wherever the two could differ (every cut, dissolve, fade
and label edge). The clips change hue every frame, so a frame early or late would not look alike."""

import subprocess
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import ffmpeg
import numpy as np
import pytest

from aigms.production.post import edit
from aigms.production.store import assets, media
from aigms.schemas.series import ImplicitLabel, SubtitleRules, VisibleLabel
from aigms.schemas.timeline import DialogueClip, Media, PictureClip, Timeline

FPS, GOP, WIDTH, HEIGHT = 24, 10, 320, 180
LIKE = 28.0  # dB of PSNR: a frame encoded once more (the full re-encode) stays above it, a neighbouring frame below
# (frames, transition, transition frames): lengths that are not whole GOPs, a dissolve, a fade in, a fade out into
# the last shot, and the episode fading out at its end
CLIPS = [(28, "cut", 0), (36, "cut", 0), (20, "dissolve", 12), (30, "fade_in", 12), (26, "cut", 0),
         (24, "fade_out", 12)]


def make_clip(path: Path, number: int, frames: int, **encode) -> Path:
    media.run(ffmpeg.input(f"testsrc2=s={WIDTH}x{HEIGHT}:r={FPS}", f="lavfi").filter("hue", h=f"{number * 50}+n*37")
              .output(str(path), vframes=frames, r=FPS, **(encode or media.house_encode(GOP))))
    return path


def timeline_of(paths: list[Path], ending_frames: int = 12, dialogue: list[DialogueClip] | None = None) -> Timeline:
    picture, start = [], 0
    for path, (frames, transition, length) in zip(paths, CLIPS):
        picture.append(PictureClip(shot=f"{len(picture) + 1:02d}0", take="0" * 64,
                                   media=Media(path=str(path), sha256=assets.sha256_file(path)), start_frame=start,
                                   frames=frames, transition=transition, transition_frames=length))
        start += frames
    return Timeline(series="t", episode="e", language="en", width=WIDTH, height=HEIGHT, fps=FPS, gop=GOP,
                    audio_rate=48000, picture=picture, ending_frames=ending_frames, dialogue=dialogue or [],
                    loudness=-16, true_peak=-1.5, label=VisibleLabel(seconds=0.5), implicit_label=ImplicitLabel(),
                    content_producer="t", subtitles=SubtitleRules())


def frames_of(path: Path) -> np.ndarray:
    data = subprocess.run([media.ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24",
                           "-"], capture_output=True, check=True).stdout
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, HEIGHT, WIDTH, 3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255 ** 2 / error)


def frame_times(path: Path) -> list[Fraction]:
    data = media.ffprobe_json(path, "-select_streams", "v:0", "-show_entries", "stream=time_base:packet=pts")
    base = Fraction(data["streams"][0]["time_base"])
    return [int(packet["pts"]) * base for packet in data["packets"]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The clips in the house encode but for the second, which is another size, rate and GOP; the picture made
    the smart way (with a cache) and by re-encoding every frame."""
    folder = tmp_path_factory.mktemp("smart")
    paths = [make_clip(folder / f"clip{number}.mp4", number, frames) for number, (frames, _, _) in enumerate(CLIPS)]
    make_clip(paths[1], 1, 45, vcodec="libx264", crf=28, pix_fmt="yuv420p", s="640x360", g=250)
    timeline = timeline_of(paths)
    cache = folder / "cache"
    smart = folder / "smart.mp4"
    segments = edit.render_picture(timeline, smart, cache_dir=cache)
    whole = edit.PictureRun(0, timeline.frames, tuple(range(len(CLIPS))), True)
    full = edit.render_run(timeline, edit.cut_sources(timeline, cache), whole, folder / "full")
    return {"folder": folder, "paths": paths, "timeline": timeline, "cache": cache, "segments": segments,
            "smart": smart, "full": full}


def test_only_whole_gops_around_the_changes_are_re_encoded(rendered: dict) -> None:
    timeline, segments = rendered["timeline"], rendered["segments"]
    rendered_frames = {frame for segment in segments if segment.render for frame in range(segment.start, segment.end)}
    changed = {frame for first, end in edit.changed_frames(timeline) for frame in range(first, end)}
    assert changed <= rendered_frames
    # clips start at 0, 28, 64, 84, 114 and 140; the label covers 0–11, the dissolve 58–69, the fades 84–95,
    # 128–139 and 152–163
    assert [(segment.start, segment.end) for segment in segments if segment.render] == [
        (0, 20), (58, 74), (84, 104), (124, 140), (150, 164)]
    keyframes = {clip.start_frame + key for clip in timeline.picture for key in range(0, clip.frames, GOP)}
    assert all(segment.start in keyframes for segment in segments)
    assert [segment.end for segment in segments[:-1]] == [segment.start for segment in segments[1:]]


def test_the_smart_master_has_the_timelines_frames_at_the_timelines_times(rendered: dict) -> None:
    timeline = rendered["timeline"]
    expected = [Fraction(number, FPS) for number in range(timeline.frames)]
    assert frame_times(rendered["smart"]) == expected == frame_times(rendered["full"])
    assert media.probe(rendered["smart"]).frames == timeline.frames == 164


def test_the_smart_master_decodes_without_an_error(rendered: dict) -> None:
    done = subprocess.run([media.ffmpeg_exe(), "-v", "error", "-i", str(rendered["smart"]), "-f", "null", "-"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""


def test_the_smart_master_looks_like_a_full_re_encode_at_every_edge(rendered: dict) -> None:
    timeline = rendered["timeline"]
    smart, full = frames_of(rendered["smart"]), frames_of(rendered["full"])
    edges = {0, timeline.frames - 1, edit.label_frames(timeline) - 1, edit.label_frames(timeline)}
    edges |= {frame for clip in timeline.picture for frame in (clip.start_frame - 1, clip.start_frame)}
    edges |= {frame for segment in rendered["segments"] for frame in (segment.start - 1, segment.start)}
    edges |= {frame for first, end in edit.changed_frames(timeline) for frame in (first - 1, first, end - 1, end)}
    edges = sorted(frame for frame in edges if 0 <= frame < timeline.frames)
    assert len(smart) == len(full) == timeline.frames
    unlike = {frame: round(psnr(smart[frame], full[frame]), 1) for frame in edges}
    assert {frame: value for frame, value in unlike.items() if value < LIKE} == {}
    # the comparison tells neighbours apart: a frame early or late would fail it
    assert max(psnr(full[frame], full[frame + 1]) for frame in range(timeline.frames - 1)) < LIKE


def test_the_re_encoded_runs_join_the_copied_gops_with_the_same_headers(rendered: dict) -> None:
    house = edit.house_signature(WIDTH, HEIGHT, FPS, GOP)
    runs = list((rendered["cache"] / "runs").iterdir())
    assert len(runs) == sum(segment.render for segment in rendered["segments"]) == 5
    assert {media.layout(run).signature for run in runs} == {house} == {media.layout(rendered["smart"]).signature}


@pytest.mark.parametrize("size", ["640x360", "1920x1080", "1080x1920", "3840x2160"])
def test_a_runs_lighter_encode_writes_the_house_headers(size: str, tmp_path: Path) -> None:
    """A run is encoded with x264's `superfast` analysis (`media.run_encode`); it joins the copied GOPs only while
    its parameter sets are the house encode's byte for byte, at every delivery size."""
    width, height = map(int, size.split("x"))
    run = tmp_path / "run.mp4"
    media.run(ffmpeg.input(f"color=black:s={size}:r=30", f="lavfi").output(str(run), vframes=1, r=30,
                                                                           **media.run_encode(GOP)))
    assert media.layout(run).signature == edit.house_signature(width, height, 30, GOP)


def test_a_re_encoded_gop_loses_less_than_the_house_encode_would(tmp_path: Path) -> None:
    """The frames of a run are encoded a second time, next to copied frames encoded once: the run's encode must not
    take them further from the take than the house encode would."""
    take = make_clip(tmp_path / "take.mp4", 3, 3 * GOP)
    original = frames_of(take)
    fidelity = {}
    for name, encode in (("house", media.house_encode(GOP)), ("run", media.run_encode(GOP))):
        again = tmp_path / f"{name}.mp4"
        media.run(ffmpeg.input(str(take)).output(str(again), r=FPS, **encode))
        fidelity[name] = np.mean([psnr(frame, before) for frame, before in zip(frames_of(again), original)])
    assert fidelity["run"] > fidelity["house"] + 0.3, fidelity


def test_a_dissolve_keeps_the_colour_of_the_frames_it_does_not_blend_yet(rendered: dict) -> None:
    """The dissolve's run starts at the keyframe before the blend: that frame is re-encoded but still the outgoing
    take's alone, and must look like it. Blended in 4:4:4 and back (ffmpeg 5.1's xfade), its colour edges smeared
    and it fell to 35.6 dB; blended in 4:2:0 it keeps 39.2 dB, the loss of one more encode."""
    timeline = rendered["timeline"]
    (run,) = [segment for segment in rendered["segments"] if segment.render and 2 in segment.clips]
    (conformed,) = (rendered["cache"] / "conformed").iterdir()
    outgoing = frames_of(conformed)[run.start - timeline.picture[1].start_frame]
    assert psnr(frames_of(rendered["smart"])[run.start], outgoing) > 37.5


def test_a_clip_in_another_encode_is_conformed_once_and_copied_from_then_on(rendered: dict) -> None:
    (conformed,) = (rendered["cache"] / "conformed").iterdir()
    made = conformed.stat().st_mtime_ns
    assert media.layout(conformed).keyframes == (0, 10, 20, 30)
    again = rendered["folder"] / "again.mp4"
    segments = edit.render_picture(rendered["timeline"], again, cache_dir=rendered["cache"])
    assert list((rendered["cache"] / "conformed").iterdir()) == [conformed] and conformed.stat().st_mtime_ns == made
    assert any(segment.clips == (1,) and not segment.render for segment in segments)
    assert media.picture_sha256(again) == media.picture_sha256(rendered["smart"])


def test_a_new_take_re_encodes_only_the_runs_it_is_under(rendered: dict) -> None:
    folder, cache = rendered["folder"], rendered["cache"]
    before = set((cache / "runs").iterdir())
    paths = [*rendered["paths"]]
    paths[4] = make_clip(folder / "retake.mp4", 9, 26)
    segments = edit.render_picture(timeline_of(paths), folder / "retake-picture.mp4", cache_dir=cache)
    made = set((cache / "runs").iterdir()) - before
    assert len(made) == sum(segment.render and 4 in segment.clips for segment in segments) == 1


def tone_line(folder: Path, frequency: int, seconds: float, start: float) -> DialogueClip:
    """A line of shot 020 (which ends at 2.6 s): a sine tone of `seconds`, placed at `start`."""
    line = folder / "line.wav"
    media.run(ffmpeg.input(f"sine=frequency={frequency}:duration={seconds}:sample_rate=48000", f="lavfi")
              .output(str(line), ac=1, acodec="pcm_s16le"))
    return DialogueClip(line="020", shot="020", speaker="lin", text="Hm.", source="scratch",
                        media=Media(path=str(line), sha256=assets.sha256_file(line)), start=start, duration=seconds,
                        shot_end=2.6)


def test_unchanged_sound_is_not_mixed_again(rendered: dict, tmp_path: Path) -> None:
    placed = tone_line(tmp_path, 300, 1.0, 1.5)
    timeline = timeline_of(rendered["paths"], dialogue=[placed])
    cache = tmp_path / "cache"
    edit.render_sound(timeline.sound, tmp_path / "first.m4a", cache)
    (kept,) = (cache / "sound").glob("*.m4a")
    made = kept.stat().st_mtime_ns
    edit.render_sound(timeline.sound, tmp_path / "again.m4a", cache)
    assert kept.stat().st_mtime_ns == made and list((cache / "sound").glob("*.m4a")) == [kept]
    assert (tmp_path / "again.m4a").read_bytes() == (tmp_path / "first.m4a").read_bytes()
    moved = timeline.model_copy(update={"dialogue": [placed.model_copy(update={"start": 2.0})]})
    edit.render_sound(moved.sound, tmp_path / "moved.m4a", cache)
    assert len(list((cache / "sound").glob("*.m4a"))) == 2
    assert media.integrated_loudness(tmp_path / "moved.m4a") == pytest.approx(-16, abs=1.0)


def test_a_sound_wanted_twice_at_once_is_mixed_once(rendered: dict, tmp_path: Path) -> None:
    """The render mixes the sound while its shots are filmed, and its cut may want it before that is done: the
    second caller waits and finds the file the first made, rather than mixing it again over it."""
    sound = timeline_of(rendered["paths"], dialogue=[tone_line(tmp_path, 440, 2.0, 0.5)]).sound

    def mixed() -> tuple[Path, int]:
        kept = edit.kept_sound(sound, tmp_path / "cache")
        return kept, kept.stat().st_ino

    with ThreadPoolExecutor(max_workers=2) as both:
        first, second = both.submit(mixed), both.submit(mixed)
        results = {first.result(), second.result()}
    (kept,) = (tmp_path / "cache" / "sound").glob("*.m4a")
    assert results == {(kept, kept.stat().st_ino)}


def test_a_sound_encoder_fed_by_a_failed_mix_fails_rather_than_keeping_a_short_file(tmp_path: Path) -> None:
    """The sound's second pass is two ffmpegs joined by a pipe: when the first dies, the AAC encoder sees the end of
    its input and would close a valid, shorter file; the failure must come through instead."""
    missing = ffmpeg.input(str(tmp_path / "gone.wav")).output("pipe:", format="f32le", acodec="pcm_f32le", ac=1)
    encoder = ffmpeg.input("pipe:", format="f32le", ar=48000, ac=1).output(str(tmp_path / "out.m4a"), acodec="aac")
    with pytest.raises(media.MediaError, match="gone.wav"):
        media.run_piped(missing, encoder)
    sine = ffmpeg.input("sine=frequency=440:duration=1:sample_rate=48000", f="lavfi").output(
        "pipe:", format="f32le", acodec="pcm_f32le", ac=1)
    media.run_piped(sine, encoder)
    assert media.probe(tmp_path / "out.m4a").duration == pytest.approx(1.0, abs=0.05)
