"""The episode master. The timeline (`aigms.schemas.timeline`) is built from the shot list and the selected takes;
rendering it re-encodes only what changes pixels — dissolves, fades, the visible AIGC label — and joins every
other clip by stream copy, because the picture is the expensive part. The sound is always rendered: dialogue at
its shots, an optional music bed ducked under it, normalised to the loudness target (EBU R128).

Steps of a render: 1. plan the picture into copied clips and rendered runs, 2. render the runs, 3. join, 4. mix
and normalise the sound, 5. mux picture, sound, soft subtitles and the implicit label into the MP4."""

import json
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from aigms.production.store import assets, media
from aigms.production.store.files import atomic_path
from aigms.production.generate.takes import RenderedTake
from aigms.schemas.series import Series
from aigms.schemas.shotlist import ShotList
from aigms.schemas.timeline import DialogueClip, Media, MusicClip, PictureClip, Timeline

LEAD_IN = 0.25
LABEL_MARGIN = 0.03
ISO_639_2 = {"zh": "chi", "en": "eng", "yue": "chi", "ja": "jpn", "ko": "kor", "fr": "fre", "de": "ger", "es": "spa"}


@dataclass(frozen=True)
class LineAudio:
    """A dialogue line's audio as the voice stage left it: a studio recording, or a scratch voice."""

    line: str
    source: str
    path: Path
    seconds: float
    sha256: str


@dataclass(frozen=True)
class Segment:
    """A piece of the picture: one clip joined as it is, or a run of clips rendered together."""

    clips: tuple[int, ...]
    render: bool


def build_timeline(series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
                   lines: dict[str, LineAudio]) -> tuple[Timeline, list[str]]:
    """Shots end to end in whole frames; each line starts `LEAD_IN` into its shot; a line longer than its shot is
    cut at the shot's end, and reported."""
    fps = shotlist.fps
    lengths = {"dissolve": series.edit.dissolve, "fade_in": series.edit.fade, "fade_out": series.edit.fade}
    picture, dialogue, warnings = [], [], []
    frame = 0
    for shot in shotlist.shots:
        frames = max(1, round(shot.duration * fps))
        take = takes[shot.id]
        picture.append(PictureClip(
            shot=shot.id, take=take.recipe_sha256, media=Media(path=str(take.clip), sha256=take.clip_sha256),
            start_frame=frame, frames=frames, transition=shot.transition,
            transition_frames=round(lengths.get(shot.transition, 0) * fps),
        ))
        audio = lines.get(shot.id)
        if audio is not None:
            shot_start, shot_end = frame / fps, (frame + frames) / fps
            start = min(shot_start + LEAD_IN, shot_end)
            overrun = max(0.0, start + audio.seconds - shot_end)
            if overrun > 1e-6:
                warnings.append(
                    f"shot {shot.id}: line {audio.line} runs {overrun:.2f} s longer than its shot "
                    f"({shot.duration:.2f} s) and is cut; lengthen the shot or shorten the line"
                )
            dialogue.append(DialogueClip(
                line=audio.line, shot=shot.id, speaker=shot.speaker or "", text=shot.text, source=audio.source,
                media=Media(path=str(audio.path), sha256=audio.sha256), start=round(start, 6),
                duration=audio.seconds, shot_end=round(shot_end, 6), overrun=round(overrun, 6),
            ))
        frame += frames
    music = None
    if series.edit.music is not None:
        path = series.root / series.edit.music.path
        music = MusicClip(media=Media(path=str(path), sha256=assets.sha256_file(path)),
                          gain_db=series.edit.music.gain_db, duck_ratio=series.edit.music.duck_ratio)
    timeline = Timeline(
        series=series.id, episode=shotlist.episode, language=shotlist.language, width=series.delivery.width,
        height=series.delivery.height, fps=fps, audio_rate=series.delivery.audio_rate, picture=picture,
        ending_frames=round(series.edit.fade * fps) if shotlist.ending == "fade_out" else 0, dialogue=dialogue, music=music, loudness=series.edit.loudness, true_peak=series.edit.true_peak,
        label=series.labels.visible, implicit_label=series.labels.implicit,
        content_producer=series.labels.implicit.content_producer or series.title, subtitles=series.subtitles,
    )
    return timeline, warnings


# 1. Plan the picture

_HOUSE_SIGNATURES: dict[tuple[int, int, int], tuple[str, ...]] = {}


def house_signature(width: int, height: int, fps: int, scratch: Path | None = None) -> tuple[str, ...]:
    """The stream signature of a clip encoded the house way at this size and rate, from a one-frame encode made
    in `scratch` (the render's own folder, so a killed render leaves nothing in the system's temp folder); once
    per size and rate in a process."""
    key = (width, height, fps)
    if key not in _HOUSE_SIGNATURES:
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            probe = Path(folder) / "reference.mp4"
            media.run(ffmpeg.input(f"color=black:s={width}x{height}:r={fps}", f="lavfi")
                      .output(str(probe), vframes=1, r=fps, **media.HOUSE_ENCODE))
            _HOUSE_SIGNATURES[key] = media.stream_signature(probe)
    return _HOUSE_SIGNATURES[key]


def label_frames(timeline: Timeline) -> int:
    seconds = timeline.label.seconds
    return timeline.frames if seconds is None else min(timeline.frames, round(seconds * timeline.fps))


def plan_picture(timeline: Timeline, burn_in: bool = False, scratch: Path | None = None) -> list[Segment]:
    """Clips under a transition or the visible label, and clips not in the house encode, are rendered (in runs of
    neighbours, so a dissolve sees both its sides); every other clip is joined as it is."""
    clips = timeline.picture
    touched = [burn_in] * len(clips)
    for index, clip in enumerate(clips):
        if clip.transition_frames == 0:
            continue
        if clip.transition == "dissolve" and index > 0:
            touched[index - 1] = touched[index] = True
        elif clip.transition == "fade_in":
            touched[index] = True
        elif clip.transition == "fade_out" and index > 0:
            touched[index - 1] = True
    if timeline.ending_frames and clips:
        touched[-1] = True
    covered = label_frames(timeline)
    house = house_signature(timeline.width, timeline.height, timeline.fps, scratch)
    for index, clip in enumerate(clips):
        if clip.start_frame < covered or media.stream_signature(Path(clip.media.path)) != house:
            touched[index] = True
    segments: list[Segment] = []
    for index, render in enumerate(touched):
        if render and segments and segments[-1].render:
            segments[-1] = Segment((*segments[-1].clips, index), True)
        else:
            segments.append(Segment((index,), render))
    return segments


# 2. Render a run of clips

def _dissolve_half(timeline: Timeline, index: int) -> int:
    """Half a dissolve, in frames: without handles each side holds its edge frame for this long."""
    clip = timeline.picture[index]
    if index == 0 or clip.transition != "dissolve" or clip.transition_frames == 0:
        return 0
    previous = timeline.picture[index - 1]
    return max(1, min(clip.transition_frames // 2, previous.frames, clip.frames))


def _clip_stream(timeline: Timeline, index: int, first: bool, last: bool):
    clip = timeline.picture[index]
    following = timeline.picture[index + 1] if index + 1 < len(timeline.picture) else None
    stream = (
        ffmpeg.input(clip.media.path).video
        .filter("fps", timeline.fps)
        .filter("scale", timeline.width, timeline.height)
        .filter("setsar", 1)
        .filter("format", "yuv420p")
        .filter("tpad", stop=clip.frames, stop_mode="clone")
        .filter("trim", end_frame=clip.frames)
        .filter("setpts", "PTS-STARTPTS")
        .filter("settb", f"1/{timeline.fps}")
    )
    if clip.transition == "fade_in" and clip.transition_frames:
        stream = stream.filter("fade", type="in", start_frame=0, nb_frames=min(clip.transition_frames, clip.frames))
    fade_out = (following.transition_frames if following.transition == "fade_out" else 0) if following else (
        timeline.ending_frames)
    if fade_out:
        length = min(fade_out, clip.frames)
        stream = stream.filter("fade", type="out", start_frame=clip.frames - length, nb_frames=length)
    half_in = 0 if first else _dissolve_half(timeline, index)
    half_out = 0 if last else _dissolve_half(timeline, index + 1)
    if half_in:
        stream = stream.filter("tpad", start=half_in, start_mode="clone")
    if half_out:
        stream = stream.filter("tpad", stop=half_out, stop_mode="clone")
    return stream, clip.frames + half_in + half_out, half_in


def _label_filter(stream, timeline: Timeline, first_frame: int, textfile: Path):
    """The explicit AIGC label drawn over the frames it covers; `n` counts frames from the run's start."""
    visible = label_frames(timeline) - first_frame
    if visible <= 0:
        return stream
    label = timeline.label
    size = max(8, round(timeline.height * label.size))
    margin = round(timeline.height * LABEL_MARGIN)
    horizontal = {"left": str(margin), "right": f"w-tw-{margin}"}
    x = next((value for side, value in horizontal.items() if label.position.endswith(side)), "(w-tw)/2")
    y = str(margin) if label.position.startswith("top") else f"h-th-{margin}"
    # expansion=none: the text is drawn as written; drawtext would otherwise run `%{...}` in it (frame numbers,
    # the clock, expressions), so a label could change from frame to frame or fail the render
    options = {"textfile": str(textfile), "expansion": "none", "fontsize": size, "fontcolor": "white", "x": x,
               "y": y, "box": 1, "boxcolor": "black@0.45", "boxborderw": max(2, size // 4),
               "enable": f"lt(n,{visible})"}
    font = media.font_path(media.has_cjk(label.text))
    if font:
        options["fontfile"] = font
    return stream.filter("drawtext", **options)


def render_run(timeline: Timeline, clips: tuple[int, ...], out: Path, scratch: Path,
               burn_in: Path | None = None) -> None:
    """One encode for neighbouring clips that share transitions or the label, in the house encode."""
    streams = [_clip_stream(timeline, index, index == clips[0], index == clips[-1]) for index in clips]
    joined, length, _ = streams[0]
    for stream, frames, half_in in streams[1:]:
        if half_in:
            # xfade (ffmpeg 5.1) leaves a one-frame hole in the timestamps where the transition ends; numbering the
            # frames again (time base 1/fps) closes it, else the encoder fills it with a duplicate
            joined = ffmpeg.filter([joined, stream], "xfade", transition="fade", duration=2 * half_in / timeline.fps,
                                   offset=(length - 2 * half_in) / timeline.fps).filter("setpts", "N")
            length += frames - 2 * half_in
        else:
            joined = ffmpeg.concat(joined, stream, v=1, a=0).filter("settb", f"1/{timeline.fps}")
            length += frames
    textfile = scratch / "label.txt"
    textfile.write_text(timeline.label.text, encoding="utf-8")
    joined = _label_filter(joined, timeline, timeline.picture[clips[0]].start_frame, textfile)
    if burn_in is not None:
        # by name: ffmpeg-python escapes a named option once per filtergraph level, a positional one once too
        # often, and a folder named with `'` or `:` was not found
        joined = joined.filter("subtitles", filename=str(burn_in), charenc="UTF-8")
    media.run(joined.output(str(out), vframes=length, r=timeline.fps, **media.HOUSE_ENCODE))


# 3. Join

def render_picture(timeline: Timeline, out: Path, burn_in: Path | None = None) -> list[Segment]:
    """Write the picture of the episode; returns the plan it followed (which clips were copied, which rendered)."""
    with tempfile.TemporaryDirectory(dir=out.parent) as folder:
        scratch = Path(folder)
        segments = plan_picture(timeline, burn_in is not None, scratch)
        pieces = []
        for number, segment in enumerate(segments):
            if segment.render:
                piece = scratch / f"run-{number:04d}.mp4"
                render_run(timeline, segment.clips, piece, scratch, burn_in)
            else:
                piece = Path(timeline.picture[segment.clips[0]].media.path)
            pieces.append(piece)
        listing = scratch / "pieces.txt"
        listing.write_text("".join(_concat_entry(piece) for piece in pieces), encoding="utf-8")
        with atomic_path(out) as temporary:
            media.run_args(["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-c", "copy",
                            "-fflags", "+bitexact", str(temporary)])
    return segments


def _concat_entry(piece: Path) -> str:
    """A line of the concat demuxer's list: the path single-quoted, a quote in it written `'\\''` (its escaping), so
    a delivery folder named `it's` is found."""
    return "file '" + str(piece.resolve()).replace("'", "'\\''") + "'\n"


# 4. Sound

def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    with wave.open(str(path)) as audio:
        if audio.getframerate() != sample_rate or audio.getnchannels() != 1 or audio.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit WAV at {sample_rate} Hz")
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float32)


def dialogue_track(timeline: Timeline, out: Path) -> None:
    """Silence with every line added in at its sample and cut at its shot's end; overlaps sum and are clipped."""
    rate = timeline.audio_rate
    total = round(timeline.duration * rate)
    track = np.zeros(total, dtype=np.float32)
    for line in timeline.dialogue:
        samples = read_wav(Path(line.media.path), rate)
        first = round(line.start * rate)
        last = min(round(line.shot_end * rate), total, first + len(samples))
        if last > first:
            track[first:last] += samples[: last - first]
    pcm = np.clip(track, -32768, 32767).astype("<i2")
    with atomic_path(out) as temporary, wave.open(str(temporary), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(pcm.tobytes())


def _mix(timeline: Timeline, dialogue: Path):
    """Dialogue over the music bed; the bed is compressed by the dialogue's own level (ducking)."""
    voice = ffmpeg.input(str(dialogue)).audio
    if timeline.music is None:
        return voice
    bed = (
        ffmpeg.input(timeline.music.media.path, stream_loop=-1).audio
        .filter("atrim", duration=timeline.duration)
        .filter("aformat", sample_rates=timeline.audio_rate, channel_layouts="mono")
        .filter("volume", f"{timeline.music.gain_db}dB")
    )
    split = voice.filter_multi_output("asplit")
    ducked = ffmpeg.filter([bed, split[1]], "sidechaincompress", threshold=0.015, ratio=timeline.music.duck_ratio,
                           attack=20, release=400)
    return ffmpeg.filter([split[0], ducked], "amix", inputs=2, duration="first", normalize=0)


def render_sound(timeline: Timeline, out: Path) -> None:
    """Mix, measure, then normalise to the target in one linear gain (loudnorm's two-pass mode) and encode AAC."""
    with tempfile.TemporaryDirectory(dir=out.parent) as folder:
        dialogue = Path(folder) / "dialogue.wav"
        dialogue_track(timeline, dialogue)
        target = {"i": timeline.loudness, "tp": timeline.true_peak, "lra": 11}
        log = media.run(_mix(timeline, dialogue).filter("loudnorm", print_format="json", **target)
                        .output("-", format="null"))
        measured = json.loads(log[log.rfind("{"):log.rfind("}") + 1])
        sound = _mix(timeline, dialogue)
        if measured["input_i"] not in ("-inf", "inf") and float(measured["input_i"]) > -70:
            sound = sound.filter(
                "loudnorm", **target, measured_i=measured["input_i"], measured_tp=measured["input_tp"],
                measured_lra=measured["input_lra"], measured_thresh=measured["input_thresh"],
                offset=measured["target_offset"], linear="true",
            )
        sound = sound.filter("aresample", timeline.audio_rate).filter("aformat", channel_layouts="stereo")
        with atomic_path(out) as temporary:
            media.run(sound.output(str(temporary), acodec="aac", audio_bitrate="160k", ar=timeline.audio_rate,
                                   map_metadata=-1, fflags="+bitexact"))


# 5. Mux

def master(picture: Path, sound: Path, subtitles: Path | None, language: str, tags: dict[str, str],
           out: Path) -> None:
    """Picture and sound as they are, the subtitles as a soft `mov_text` track, `tags` as global metadata (custom
    keys such as `AIGC` survive only with `use_metadata_tags`)."""
    streams = [ffmpeg.input(str(picture)).video, ffmpeg.input(str(sound)).audio]
    options: dict[str, object] = {"c:v": "copy", "c:a": "copy", "movflags": "+faststart+use_metadata_tags",
                                  "map_metadata": -1, "fflags": "+bitexact"}
    if subtitles is not None:
        streams.append(ffmpeg.input(str(subtitles))["s"])
        options["c:s"] = "mov_text"
        options["metadata:s:s:0"] = f"language={ISO_639_2.get(language.split('-')[0], 'und')}"
    for number, (key, value) in enumerate(tags.items()):
        options[f"metadata:g:{number}"] = f"{key}={value}"
    with atomic_path(out) as temporary:
        media.run(ffmpeg.output(*streams, str(temporary), **options))
