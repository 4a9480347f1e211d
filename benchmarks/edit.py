"""Assembling an episode's picture: the edit's own path (GOPs copied, only the GOPs under the dissolves and the
visible label re-encoded) against re-encoding every frame, on a 48-shot, 4-minute episode at 1920x1080, 30 fps.

Run: `.venv/bin/python benchmarks/edit.py`. The clips are test patterns in the house encode (seven distinct clips,
each used about seven times through hard links: the join does not care what the pixels are); every eighth shot
enters with a dissolve and the label covers the first five seconds, as in a delivered episode. No two dissolves join
the same two clips, so each run is encoded (the edit keeps a run by the hash of its inputs and would otherwise find
it), and the edit starts with an empty cache, so it probes every take as a first render does. The smart render runs
twice: as the edit does it (the runs in their own, lighter encode, `media.run_encode`) and with its runs in the
house encode, so the figure shows what the runs' encode adds to the copying. Besides wall time the benchmark prints
the CPU time of ffmpeg and ffprobe, which a machine shared with other work disturbs less."""

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ffmpeg

from aigms.production.post import edit
from aigms.production.store import assets, media
from aigms.schemas.series import ImplicitLabel, SubtitleRules, VisibleLabel
from aigms.schemas.timeline import Media, PictureClip, Timeline

SHOTS, SECONDS, WIDTH, HEIGHT, FPS = 48, 5, 1920, 1080, 30
PATTERNS = ("testsrc2", "smptehdbars", "rgbtestsrc", "testsrc", "pal100bars", "yuvtestsrc", "smptebars")


def make_clips(folder: Path) -> list[Path]:
    clips = []
    for number, pattern in enumerate(PATTERNS):
        clip = folder / f"{pattern}.mp4"
        media.run(ffmpeg.input(f"{pattern}=s={WIDTH}x{HEIGHT}:r={FPS}", f="lavfi")
                  .filter("hue", h=number * 50)
                  .output(str(clip), vframes=SECONDS * FPS, r=FPS, **media.house_encode()))
        clips.append(clip)
    return clips


def episode(clips: list[Path]) -> Timeline:
    """Every shot has a file of its own, as takes do (hard links to the seven patterns)."""
    frames = SECONDS * FPS
    hashes = {clip: assets.sha256_file(clip) for clip in clips}
    files = []
    for index in range(SHOTS):
        files.append(clips[0].with_name(f"shot-{index:02d}.mp4"))
        files[-1].hardlink_to(clips[index % len(clips)])
    picture = [
        PictureClip(shot=f"{(index + 1) * 10:03d}", take="0" * 64,
                    media=Media(path=str(files[index]), sha256=hashes[clips[index % len(clips)]]),
                    start_frame=index * frames, frames=frames,
                    transition="dissolve" if index and index % 8 == 0 else "cut",
                    transition_frames=FPS // 2 if index and index % 8 == 0 else 0)
        for index in range(SHOTS)
    ]
    return Timeline(series="bench", episode="e1", language="en", width=WIDTH, height=HEIGHT, fps=FPS,
                    audio_rate=48000, picture=picture, loudness=-16, true_peak=-1.5, label=VisibleLabel(),
                    implicit_label=ImplicitLabel(), content_producer="bench", subtitles=SubtitleRules())


def timed(work: Callable[[], object]) -> tuple[float, float, object]:
    """Wall time, and the CPU time of the processes the work ran (ffmpeg, ffprobe) and of this one."""
    def cpu() -> float:
        return sum(usage.ru_utime + usage.ru_stime for usage in
                   (resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)))

    started, used = time.perf_counter(), cpu()
    result = work()
    return time.perf_counter() - started, cpu() - used, result


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        clips = make_clips(folder)
        print(f"{len(clips)} distinct {SECONDS} s clips at {WIDTH}x{HEIGHT} {FPS} fps made in "
              f"{time.perf_counter() - started:.1f} s")
        timeline = episode(clips)
        edit.house_signature(WIDTH, HEIGHT, FPS, timeline.gop)

        smart, smart_cpu, segments = timed(lambda: edit.render_picture(timeline, folder / "smart.mp4",
                                                                       cache_dir=folder / "cache"))
        rendered = sum(segment.frames for segment in segments if segment.render)
        runs = sum(segment.render for segment in segments)
        assert len(list((folder / "cache" / "runs").iterdir())) == runs, "a run was found instead of encoded"

        # the same smart render with its runs in the house encode, to show what the runs' own encode buys and costs
        run_encode = media.run_encode
        media.run_encode = lambda gop: {**media.house_encode(gop), "threads": 1}
        house_runs, house_runs_cpu, _ = timed(lambda: edit.render_picture(timeline, folder / "house-runs.mp4",
                                                                          cache_dir=folder / "house-runs"))
        media.run_encode = run_encode

        whole = edit.PictureRun(0, timeline.frames, tuple(range(SHOTS)), True)
        full, full_cpu, full_file = timed(lambda: edit.render_run(
            timeline, edit.cut_sources(timeline, folder / "cache"), whole, folder / "full"))
        masters = {"smart": folder / "smart.mp4", "house runs": folder / "house-runs.mp4", "full": full_file}
        frames = {media.probe(path).frames for path in masters.values()}
        assert frames == {timeline.frames}, f"expected {timeline.frames} frames in each, got {frames}"
        size = {name: path.stat().st_size / 2**20 for name, path in masters.items()}

    encode = media.run_encode()
    print(f"episode: {SHOTS} shots, {SHOTS * SECONDS / 60:.0f} min, {SHOTS // 8 - 1} dissolves, label over the "
          f"first {timeline.label.seconds:g} s, a keyframe every {timeline.gop} frames")
    print(f"smart render:   {smart:6.1f} s, CPU {smart_cpu:6.1f} s, {size['smart']:5.1f} MiB ({rendered} of "
          f"{timeline.frames} frames re-encoded, {rendered / timeline.frames:.1%}, in {runs} runs, x264 "
          f"{encode['preset']} at CRF {encode['crf']}; the rest copied)")
    print(f"  runs in the house encode: {house_runs:6.1f} s, CPU {house_runs_cpu:6.1f} s, {size['house runs']:5.1f} "
          f"MiB ({full / house_runs:.1f}x faster than a full re-encode; {full_cpu / house_runs_cpu:.1f}x in CPU)")
    print(f"full re-encode: {full:6.1f} s, CPU {full_cpu:6.1f} s, {size['full']:5.1f} MiB (all {timeline.frames} "
          f"frames, same filters, the house encode: x264 {media.HOUSE_ENCODE['preset']} at CRF "
          f"{media.HOUSE_ENCODE['crf']})")
    print(f"ratio: the smart render takes {smart / full:.3f}x the time of a full re-encode ({full / smart:.1f}x "
          f"faster; {full_cpu / smart_cpu:.1f}x in CPU time)")


if __name__ == "__main__":
    main()
