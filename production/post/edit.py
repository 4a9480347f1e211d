"""The episode master. The timeline (`aigms.schemas.timeline`) is built from the shot list and the selected takes;
rendering it re-encodes only the frames that change pixels, a GOP at a time — the GOPs a dissolve, a fade or the
visible AIGC label overlaps — and copies every other GOP as it is, because the picture is the expensive part. This
works because every take is in the house encode (`media.house_encode`): the same H.264 headers, and a keyframe that
opens a closed GOP every `gop` frames. The sound is dialogue at its shots, an optional music bed ducked under it,
normalised to the loudness target (EBU R128, two passes).

What an unchanged input would only make again — a take conformed to the house encode, a rendered run, the mixed and
normalised sound — is kept in a cache folder under the hash of what made it, so a render after a small edit encodes
only what the edit touched.

Steps of a render: 1. plan the picture into copied GOPs and rendered runs, 2. bring every take into the house encode,
3. render the runs, 4. join by stream copy, 5. mix and normalise the sound, 6. mux picture, sound, soft subtitles and
the implicit label into the MP4."""

import json
import shutil
import tempfile
import wave
from bisect import bisect_right
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ffmpeg
import numpy as np
from filelock import FileLock

from aigms.production.store import assets, media
from aigms.production.store.assets import canonical_sha256
from aigms.production.store.files import atomic_path, atomic_write_text
from aigms.production.generate.takes import RenderedTake
from aigms.production.post.voice import LineAudio
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot, ShotList
from aigms.schemas.timeline import DialogueClip, Media, MusicClip, PictureClip, Sound, Timeline

LEAD_IN = 0.25
LABEL_MARGIN = 0.03
SHORT_RUN_SECONDS = 10
LOUDNESS_RANGE = 11.0  # LU: a wider mix is normalised dynamically, as loudnorm does
ISO_639_2 = {"zh": "chi", "en": "eng", "yue": "chi", "ja": "jpn", "ko": "kor", "fr": "fre", "de": "ger", "es": "spa"}


@dataclass(frozen=True)
class PictureRun:
    """A stretch of the picture, timeline frames `start` up to `end`: GOPs of one clip copied as they are, or a run
    rendered (re-encoded) from the clips under it. (Not a shot's `Segment`, which is one model call.)"""

    start: int
    end: int
    clips: tuple[int, ...]
    render: bool

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Source:
    """What the edit cuts a clip from: a file in the house encode holding at least the clip's frames, and the frames
    of it where a GOP starts."""

    path: Path
    keyframes: tuple[int, ...]


def build_timeline(series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
                   lines: dict[str, LineAudio]) -> tuple[Timeline, list[str]]:
    """Shots end to end in whole frames; each line starts `LEAD_IN` into its shot; a line longer than its shot is
    cut at the shot's end, and reported."""
    fps = shotlist.fps
    lengths = {"dissolve": series.edit.dissolve, "fade_in": series.edit.fade, "fade_out": series.edit.fade}
    picture = []
    frame = 0
    for shot in shotlist.shots:
        take = takes[shot.id]
        picture.append(PictureClip(
            shot=shot.id, take=take.recipe_sha256, media=Media(path=str(take.clip), sha256=take.clip_sha256),
            start_frame=frame, frames=_frames(shot, fps), transition=shot.transition,
            transition_frames=round(lengths.get(shot.transition, 0) * fps),
        ))
        frame += _frames(shot, fps)
    dialogue, warnings = place_lines(shotlist, lines)
    timeline = Timeline(
        series=series.id, episode=shotlist.episode, language=shotlist.language, width=series.delivery.width,
        height=series.delivery.height, fps=fps, audio_rate=series.delivery.audio_rate, picture=picture,
        gop=series.edit.gop, ending_frames=round(series.edit.fade * fps) if shotlist.ending == "fade_out" else 0,
        dialogue=dialogue, music=_music(series), loudness=series.edit.loudness, true_peak=series.edit.true_peak,
        label=series.labels.visible, implicit_label=series.labels.implicit,
        content_producer=series.labels.implicit.content_producer or series.title, subtitles=series.subtitles,
    )
    return timeline, warnings


def _frames(shot: Shot, fps: int) -> int:
    return max(1, round(shot.duration * fps))


def place_lines(shotlist: ShotList, lines: dict[str, LineAudio]) -> tuple[list[DialogueClip], list[str]]:
    """Each line `LEAD_IN` into its shot, cut where the shot ends; a line cut short is reported."""
    fps = shotlist.fps
    dialogue, warnings = [], []
    frame = 0
    for shot in shotlist.shots:
        frames = _frames(shot, fps)
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
    return dialogue, warnings


def _music(series: Series) -> MusicClip | None:
    if series.edit.music is None:
        return None
    path = series.root / series.edit.music.path
    return MusicClip(media=Media(path=str(path), sha256=assets.sha256_file(path)),
                     gain_db=series.edit.music.gain_db, duck_ratio=series.edit.music.duck_ratio)


def episode_sound(series: Series, shotlist: ShotList, lines: dict[str, LineAudio]) -> Sound:
    """The sound of the timeline `build_timeline` will make, known before any shot is filmed."""
    frames = sum(_frames(shot, shotlist.fps) for shot in shotlist.shots)
    return Sound(duration=frames / shotlist.fps, audio_rate=series.delivery.audio_rate,
                 dialogue=place_lines(shotlist, lines)[0], music=_music(series), loudness=series.edit.loudness,
                 true_peak=series.edit.true_peak)


# 1. Plan the picture

_HOUSE_SIGNATURES: dict[tuple[int, int, int, int], tuple[str, ...]] = {}


def house_signature(width: int, height: int, fps: int, gop: int = media.DEFAULT_GOP,
                    scratch: Path | None = None) -> tuple[str, ...]:
    """The stream signature of a clip encoded the house way at this size, rate and GOP, from a one-frame encode
    made in `scratch` (a folder of the store's, so a killed render leaves nothing in the system's temp folder);
    once per size, rate and GOP in a process."""
    key = (width, height, fps, gop)
    if key not in _HOUSE_SIGNATURES:
        if scratch is not None:
            scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            probe = Path(folder) / "reference.mp4"
            media.run(ffmpeg.input(f"color=black:s={width}x{height}:r={fps}", f="lavfi")
                      .output(str(probe), vframes=1, r=fps, **media.house_encode(gop)))
            _HOUSE_SIGNATURES[key] = media.layout(probe).signature
    return _HOUSE_SIGNATURES[key]


def label_frames(timeline: Timeline) -> int:
    seconds = timeline.label.seconds
    return timeline.frames if seconds is None else min(timeline.frames, round(seconds * timeline.fps))


def _dissolve_half(timeline: Timeline, index: int) -> int:
    """Half a dissolve, in frames: without handles each side holds its edge frame for this long."""
    clip = timeline.picture[index]
    if index == 0 or clip.transition != "dissolve" or clip.transition_frames == 0:
        return 0
    previous = timeline.picture[index - 1]
    return max(1, min(clip.transition_frames // 2, previous.frames, clip.frames))


def changed_frames(timeline: Timeline, burn_in: bool = False) -> list[tuple[int, int]]:
    """The frames whose pixels the edit changes, as (first, end) on the timeline: the visible label, each fade, each
    dissolve (centred on its cut); every frame when subtitles are burnt in."""
    if burn_in:
        return [(0, timeline.frames)]
    clips = timeline.picture
    spans = [(0, label_frames(timeline))]
    for index, clip in enumerate(clips):
        if clip.transition == "dissolve":
            half = _dissolve_half(timeline, index)
            spans.append((clip.start_frame - half, clip.start_frame + half))
        elif clip.transition == "fade_in":
            spans.append((clip.start_frame, clip.start_frame + min(clip.transition_frames, clip.frames)))
        elif clip.transition == "fade_out" and index > 0:
            spans.append((clip.start_frame - min(clip.transition_frames, clips[index - 1].frames), clip.start_frame))
    if timeline.ending_frames and clips:
        spans.append((timeline.frames - min(timeline.ending_frames, clips[-1].frames), timeline.frames))
    return [(first, end) for first, end in spans if end > first]


def plan_picture(timeline: Timeline, keyframes: list[tuple[int, ...]], burn_in: bool = False) -> list[PictureRun]:
    """The changed frames widened to whole GOPs — from the keyframe at or before their first frame to the keyframe
    after their last, or the end of that clip — and merged where they meet are rendered; the GOPs between them are
    copied. `keyframes` holds, for each clip, the frames of its source a GOP starts at (0 first)."""
    clips = timeline.picture
    starts = [clip.start_frame for clip in clips]

    def clip_at(frame: int) -> int:
        return bisect_right(starts, frame) - 1

    def keyframe_before(frame: int) -> int:
        index = clip_at(frame)
        local = frame - starts[index]
        return starts[index] + max(key for key in keyframes[index] if key <= local)

    def keyframe_after(end: int) -> int:
        index = clip_at(end - 1)
        local = end - starts[index]
        return starts[index] + min([key for key in keyframes[index] if local <= key < clips[index].frames]
                                   + [clips[index].frames])

    runs: list[tuple[int, int]] = []
    for first, end in sorted((keyframe_before(first), keyframe_after(end))
                             for first, end in changed_frames(timeline, burn_in)):
        if runs and first <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((first, end))
    segments: list[PictureRun] = []
    position = 0
    for first, end in [*runs, (timeline.frames, timeline.frames)]:
        while position < first:
            index = clip_at(position)
            stop = min(first, starts[index] + clips[index].frames)
            segments.append(PictureRun(position, stop, (index,), False))
            position = stop
        if end > first:
            segments.append(PictureRun(first, end, tuple(range(clip_at(first), clip_at(end - 1) + 1)), True))
            position = end
    return segments


# 2. The sources: every clip in the house encode

def _kept_encode(stream, frames: int, timeline: Timeline, inputs: dict[str, str], folder: Path,
                 encode: dict[str, Any]) -> Path:
    """Encode `stream` into `folder` (`encode`: the house encode or a run's), unless the same encode is there
    already: it is kept under the hash of its ffmpeg command (with each input file named by its content hash) and
    of the ffmpeg that ran it."""
    options = {"vframes": frames, "r": timeline.fps, **encode}
    command = " ".join(stream.output("piece.mp4", **options).get_args())
    for path, sha256 in inputs.items():
        command = command.replace(path, sha256)
    kept = folder / f"{canonical_sha256([media.ffmpeg_version(), command])}.mp4"
    if not kept.is_file():
        with atomic_path(kept) as temporary:
            media.run(stream.output(str(temporary), **options))
    return kept


def _layout(path: Path, sha256: str, folder: Path) -> media.Layout:
    """A take's layout, kept by its hash: reading every packet header of every take is most of a join's work."""
    kept = folder / f"{sha256}.json"
    if kept.is_file():
        data = json.loads(kept.read_text())
        return media.Layout(tuple(data["signature"]), data["frames"], tuple(data["keyframes"]), data["regular"])
    found = media.layout(path)
    atomic_write_text(kept, json.dumps(asdict(found)))
    return found


def cut_sources(timeline: Timeline, cache_dir: Path) -> list[Source]:
    """Each clip as the edit cuts it: the take itself when it is in the house encode at the timeline's size, rate
    and GOP and holds every frame the timeline plays; else the take conformed to that (scaled, its rate changed,
    its last frame held) once, and kept by hash."""
    house = house_signature(timeline.width, timeline.height, timeline.fps, timeline.gop, cache_dir / "tmp")

    def source(clip: PictureClip) -> Source:
        path = Path(clip.media.path)
        found = _layout(path, clip.media.sha256, cache_dir / "layouts")
        if (found.signature == house and found.regular and found.frames >= clip.frames
                and found.keyframes[:1] == (0,)):
            return Source(path, found.keyframes)
        stream = (
            ffmpeg.input(str(path)).video
            .filter("fps", timeline.fps)
            .filter("scale", timeline.width, timeline.height)
            .filter("setsar", 1)
            .filter("format", "yuv420p")
            .filter("tpad", stop=clip.frames, stop_mode="clone")
            .filter("trim", end_frame=clip.frames)
            .filter("setpts", "PTS-STARTPTS")
        )
        conformed = _kept_encode(stream, clip.frames, timeline, {str(path): clip.media.sha256},
                                 cache_dir / "conformed", media.house_encode(timeline.gop))
        return Source(conformed, media.layout(conformed).keyframes)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(source, timeline.picture))


# 3. Render a run

def _microseconds(frames: int, fps: int) -> int:
    return round(frames * 1_000_000 / fps)


def _seconds(microseconds: int) -> str:
    return f"{microseconds // 1_000_000}.{microseconds % 1_000_000:06d}"


def _clip_stream(timeline: Timeline, sources: list[Source], index: int, segment: PictureRun):
    """The part of clip `index` under the run, from its keyframe on (a seek, not a decode of what comes before),
    with its fades, and its edge frames held for the dissolves inside the run."""
    clip = timeline.picture[index]
    following = timeline.picture[index + 1] if index + 1 < len(timeline.picture) else None
    first = max(segment.start, clip.start_frame) - clip.start_frame
    frames = min(segment.end, clip.start_frame + clip.frames) - clip.start_frame - first
    seek = {"ss": _seconds(-(-first * 1_000_000 // timeline.fps))} if first else {}
    # the input read for the frames the run takes and half a frame more: past them ffmpeg would go on decoding the
    # rest of the take only for `trim` to drop it (135 frames of the next shot under each dissolve)
    stream = (
        ffmpeg.input(str(sources[index].path), **seek, t=_seconds((2 * frames + 1) * 1_000_000 // (2 * timeline.fps)))
        .video
        .filter("trim", end_frame=frames)
        .filter("setpts", "PTS-STARTPTS")
        .filter("settb", f"1/{timeline.fps}")
        .filter("setsar", 1)
        .filter("format", "yuv420p")
    )
    if clip.transition == "fade_in" and clip.transition_frames:
        stream = stream.filter("fade", type="in", start_frame=0, nb_frames=min(clip.transition_frames, clip.frames))
    fade_out = (following.transition_frames if following.transition == "fade_out" else 0) if following else (
        timeline.ending_frames)
    if fade_out:
        length = min(fade_out, clip.frames)
        stream = stream.filter("fade", type="out", start_frame=clip.frames - length - first, nb_frames=length)
    half_in = 0 if index == segment.clips[0] else _dissolve_half(timeline, index)
    half_out = 0 if index == segment.clips[-1] else _dissolve_half(timeline, index + 1)
    if half_in:
        stream = stream.filter("tpad", start=half_in, start_mode="clone")
    if half_out:
        stream = stream.filter("tpad", stop=half_out, stop_mode="clone")
    return stream, frames + half_in + half_out, half_in


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


def render_run(timeline: Timeline, sources: list[Source], segment: PictureRun, cache_dir: Path,
               burn_in: Path | None = None) -> Path:
    """The frames of a rendered segment in one encode, in the house encode, so the run joins the copied GOPs; kept
    in `cache_dir` by its ffmpeg command, so a run an edit did not touch is not encoded again."""
    streams = [_clip_stream(timeline, sources, index, segment) for index in segment.clips]
    joined, length, _ = streams[0]
    for stream, frames, half_in in streams[1:]:
        if half_in:
            # the dissolve: the next clip laid over the end of this one, its opacity rising from 0 by 1/(2 half_in)
            # a frame, as xfade's `fade` would blend them; but in 8-bit 4:2:0 throughout, where xfade (ffmpeg 5.1)
            # blends in floating point and only in 4:4:4, so the frames went through two chroma conversions
            overlap = length - 2 * half_in
            under = joined.filter("tpad", stop=frames - 2 * half_in, stop_mode="clone")
            over = (stream.filter("format", "yuva420p")
                    .filter("fade", type="in", start_frame=0, nb_frames=2 * half_in, alpha=1)
                    .filter("setpts", f"PTS+{overlap}"))
            joined = ffmpeg.filter([under, over], "overlay", format="yuv420", eof_action="pass")
            length += frames - 2 * half_in
        else:
            joined = ffmpeg.concat(joined, stream, v=1, a=0).filter("settb", f"1/{timeline.fps}")
            length += frames
    inputs = {timeline.picture[index].media.path: timeline.picture[index].media.sha256 for index in segment.clips}
    if label_frames(timeline) > segment.start:
        text = timeline.label.text
        textfile = cache_dir / "labels" / f"{assets.sha256_bytes(text.encode())}.txt"
        if not textfile.is_file():
            atomic_write_text(textfile, text)
        joined = _label_filter(joined, timeline, segment.start, textfile)
    if burn_in is not None:
        subtitles = cache_dir / "subtitles" / f"{assets.sha256_file(burn_in)}.srt"
        if not subtitles.is_file():
            with atomic_path(subtitles) as temporary:
                shutil.copyfile(burn_in, temporary)
        # by name: ffmpeg-python escapes a named option once per filtergraph level, a positional one once too
        # often, and a store folder named with `'` or `:` was not found
        joined = joined.filter("subtitles", filename=str(subtitles), charenc="UTF-8")
    # a short run (a few GOPs, rendered two at a time) is encoded the lighter way on one thread; a long one, such as
    # a whole picture with subtitles burnt in, is most of the file's bits and keeps the house encode
    short = segment.frames <= SHORT_RUN_SECONDS * timeline.fps
    encode = media.run_encode(timeline.gop) if short else media.house_encode(timeline.gop)
    return _kept_encode(joined, segment.frames, timeline, inputs, cache_dir / "runs", encode)


# 4. Join

def _piece(path: Path, first: int, end: int, segment: PictureRun, fps: int) -> str:
    """A piece for the concat demuxer: the file from its keyframe `first` to before its frame `end`. The demuxer
    places each piece after the durations of those before it, so each is given in whole microseconds that add up
    to the timeline's own times (the in point rounded up, the out point half a frame early, so neither lands on the
    wrong frame)."""
    quoted = str(path.resolve()).replace("'", "'\\''")
    lines = [f"file '{quoted}'"]
    if first:
        lines.append(f"inpoint {_seconds(-(-first * 1_000_000 // fps))}")
    lines.append(f"outpoint {_seconds((2 * end - 1) * 1_000_000 // (2 * fps))}")
    lines.append(f"duration {_seconds(_microseconds(segment.end, fps) - _microseconds(segment.start, fps))}")
    return "\n".join(lines) + "\n"


def render_picture(timeline: Timeline, out: Path, burn_in: Path | None = None,
                   cache_dir: Path | None = None) -> list[PictureRun]:
    """Write the picture of the episode; returns the plan it followed (which frames were copied, which rendered).
    Conformed takes and rendered runs are kept in `cache_dir` (a scratch folder when None)."""
    with tempfile.TemporaryDirectory(dir=out.parent) as folder:
        keep = cache_dir or Path(folder)
        sources = cut_sources(timeline, keep)
        segments = plan_picture(timeline, [source.keyframes for source in sources], burn_in is not None)
        rendered = [segment for segment in segments if segment.render]
        media.ffmpeg_version()  # asked once here: the two threads below would each run `ffmpeg -version` for it
        # two runs at once: a short run decodes, filters and encodes on about one core
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = dict(zip(rendered, pool.map(lambda segment: render_run(timeline, sources, segment, keep, burn_in),
                                               rendered)))
        listing = []
        for segment in segments:
            if segment.render:
                listing.append(_piece(runs[segment], 0, segment.frames, segment, timeline.fps))
            else:
                (index,) = segment.clips
                first = segment.start - timeline.picture[index].start_frame
                listing.append(_piece(sources[index].path, first, first + segment.frames, segment, timeline.fps))
        pieces = Path(folder) / "pieces.txt"
        pieces.write_text("".join(listing))
        with atomic_path(out) as temporary:
            media.run_args(["-f", "concat", "-safe", "0", "-i", str(pieces), "-map", "0:v:0", "-c", "copy",
                            "-fflags", "+bitexact", str(temporary)])
    return segments


# 5. Sound

def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    with wave.open(str(path)) as audio:
        if audio.getframerate() != sample_rate or audio.getnchannels() != 1 or audio.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit WAV at {sample_rate} Hz")
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float32)


def placed_line(line: DialogueClip, rate: int, total: int) -> tuple[int, np.ndarray]:
    """A line's first sample on the timeline and its samples as the edit plays them: cut at its shot's end."""
    samples = read_wav(Path(line.media.path), rate)
    first = round(line.start * rate)
    last = min(round(line.shot_end * rate), total, first + len(samples))
    return first, samples[: max(0, last - first)]


def write_wav(samples: np.ndarray, rate: int, out: Path) -> None:
    pcm = np.clip(samples, -32768, 32767).astype("<i2")
    with atomic_path(out) as temporary, wave.open(str(temporary), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(pcm.tobytes())


def dialogue_track(sound: Sound, out: Path) -> None:
    """Silence with every line added in at its sample and cut at its shot's end; overlaps sum and are clipped."""
    rate = sound.audio_rate
    total = round(sound.duration * rate)
    track = np.zeros(total, dtype=np.float32)
    for line in sound.dialogue:
        first, samples = placed_line(line, rate, total)
        track[first:first + len(samples)] += samples
    write_wav(track, rate, out)


def _mix(sound: Sound, dialogue: Path):
    """Dialogue over the music bed; the bed is compressed by the dialogue's own level (ducking)."""
    voice = ffmpeg.input(str(dialogue)).audio
    if sound.music is None:
        return voice
    bed = (
        ffmpeg.input(sound.music.media.path, stream_loop=-1).audio
        .filter("atrim", duration=sound.duration)
        .filter("aformat", sample_rates=sound.audio_rate, channel_layouts="mono")
        .filter("volume", f"{sound.music.gain_db}dB")
    )
    split = voice.filter_multi_output("asplit")
    ducked = ffmpeg.filter([bed, split[1]], "sidechaincompress", threshold=0.015, ratio=sound.music.duck_ratio,
                           attack=20, release=400)
    return ffmpeg.filter([split[0], ducked], "amix", inputs=2, duration="first", normalize=0)


def _normalised(sound: Sound, dialogue: Path, measured: dict[str, float], out: str) -> tuple[Any, Any]:
    """The second pass, as two graphs that run side by side joined by a pipe (`media.run_piped`): the gain
    loudnorm's two-pass linear mode would apply, where it would apply it (the peak stays under the ceiling and the
    range within 11 LU), without its 192 kHz round trip, else loudnorm's dynamic mode with the measured values, to
    32-bit float samples at the delivery rate; then, in the second ffmpeg, AAC stereo. One ffmpeg would normalise
    and encode each block in turn on one core (6.2 s on the benchmark episode; 4.6 s as two)."""
    target = {"i": sound.loudness, "tp": sound.true_peak, "lra": LOUDNESS_RANGE}
    mixed = _mix(sound, dialogue)
    if measured["i"] > -70:
        gain = sound.loudness - measured["i"]
        if measured["tp"] + gain <= sound.true_peak and 0 < measured["lra"] <= LOUDNESS_RANGE:
            mixed = mixed.filter("volume", f"{gain:.2f}dB")
        else:
            mixed = mixed.filter("loudnorm", **target, measured_i=measured["i"], measured_tp=measured["tp"],
                                 measured_lra=measured["lra"], measured_thresh=measured["thresh"], linear="false")
    samples = mixed.filter("aresample", sound.audio_rate).output("pipe:", format="f32le", acodec="pcm_f32le", ac=1,
                                                                 ar=sound.audio_rate)
    encoded = (ffmpeg.input("pipe:", format="f32le", ar=sound.audio_rate, ac=1).audio
               .filter("aformat", channel_layouts="stereo")
               .output(out, acodec="aac", audio_bitrate="160k", ar=sound.audio_rate, map_metadata=-1,
                       fflags="+bitexact"))
    return samples, encoded


def _sound_key(sound: Sound, dialogue: Path, measuring) -> str:
    """Both passes' ffmpeg commands, each input named by its content hash, and the ffmpeg that runs them."""
    example = {"i": -20.0, "tp": -3.0, "lra": 5.0, "thresh": -30.0}
    normalising = _normalised(sound, dialogue, example, "sound.m4a")
    command = " ".join([*measuring.get_args(), *normalising[0].get_args(), *normalising[1].get_args()])
    inputs = {str(dialogue): assets.sha256_file(dialogue)}
    if sound.music is not None:
        inputs[sound.music.media.path] = sound.music.media.sha256
    for path, sha256 in inputs.items():
        command = command.replace(path, sha256)
    return canonical_sha256([media.ffmpeg_version(), command])


def kept_sound(sound: Sound, cache_dir: Path) -> Path:
    """The episode's sound, made unless `cache_dir` holds it already: mixed, measured (EBU R128: loudness, range,
    true peak), normalised to the target and encoded AAC — two passes over the mix. It is kept under the hash of
    the mixed dialogue track, the music bed and both passes' commands, so an episode whose sound did not change is
    not mixed, measured and encoded again. Made under a lock of that hash: the render mixes the sound while its
    shots are filmed, and the cut that wants it before it is done waits for it instead of making it twice."""
    folder = cache_dir / "sound"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        dialogue = Path(scratch) / "dialogue.wav"
        dialogue_track(sound, dialogue)
        measuring = _mix(sound, dialogue).filter("ebur128", peak="true").output("-", format="null")
        key = _sound_key(sound, dialogue, measuring)
        kept = folder / f"{key}.m4a"
        with FileLock(folder / f"{key}.lock"):
            if not kept.is_file():
                measured = media.loudness_summary(media.run(measuring))
                with atomic_path(kept) as temporary:
                    media.run_piped(*_normalised(sound, dialogue, measured, str(temporary)))
        return kept


def render_sound(sound: Sound, out: Path, cache_dir: Path | None = None) -> None:
    """Write the episode's sound (`kept_sound`), kept in `cache_dir` (a scratch folder when None)."""
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        kept = kept_sound(sound, cache_dir or Path(scratch))
        with atomic_path(out) as temporary:
            shutil.copyfile(kept, temporary)


# 6. Mux

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
