"""A 剪映 (Jianying Pro / CapCut desktop) draft of a delivered cut, written with pyJianYingDraft: the picture track
with every shot's selected take at its place, dissolves between them and fades where the edit fades, the
dialogue track, the music bed (looped to the end as the mix loops it) and the subtitles as a text track.

pyJianYingDraft writes the draft format of Jianying Pro 5.9 (`draft_content.json` version 360000, the version
its authors test); later versions open such a draft and save it back in their own, encrypted, form.

The draft folder carries its media (hard links into the asset store where the filesystem allows, copies
otherwise) and names them relative to itself through the app's draft-folder placeholder, so the folder can be
copied into the drafts folder of an editor's machine as it is; `absolute=True` names them by absolute path
instead, for an app that cannot resolve the placeholder (then the draft opens on this machine only)."""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyJianYingDraft as jy

from aigms.production.deliver.delivered import DeliveredCut
from aigms.production.deliver.interchange import link_or_copy
from aigms.production.store.files import atomic_write_text
from aigms.schemas.timeline import Media

APP_VERSION = "5.9"
DRAFT_FOLDER_PLACEHOLDER = "##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##"
MEDIA_FOLDER = "Resources/local"
TRACKS = {"picture": "画面", "dialogue": "对白", "music": "音乐", "subtitles": "字幕"}
SECOND = 1_000_000


@dataclass(frozen=True)
class Draft:
    folder: Path
    name: str


def _frame(frame: int, fps: int) -> int:
    """A frame's time in microseconds, the draft's unit; segments end where the next starts, with no gap."""
    return round(frame * SECOND / fps)


def _second(seconds: float) -> int:
    return round(seconds * SECOND)


def _fit(material: jy.VideoMaterial | jy.AudioMaterial, length: int, tolerance: int, what: str) -> None:
    """MediaInfo gives durations in whole milliseconds; a file whose length is a fraction of a millisecond past
    that is long enough for its place, so the material is given the length it really has."""
    if length - material.duration > tolerance:
        raise ValueError(f"{what} lasts {material.duration / SECOND:.3f} s, shorter than its "
                         f"{length / SECOND:.3f} s in the cut")
    material.duration = max(material.duration, length)


def write_draft(cut: DeliveredCut, out: Path, name: str, absolute: bool = False) -> Draft:
    """Write the draft folder `out/name` (replacing one of that name) and return it."""
    timeline = cut.timeline
    out.mkdir(parents=True, exist_ok=True)
    folder = out / name
    script = jy.DraftFolder(str(out)).create_draft(name, timeline.width, timeline.height, timeline.fps,
                                                   allow_replace=True)
    one_frame = _frame(1, timeline.fps)

    def local(media: Media) -> Path:
        path = folder / MEDIA_FOLDER / f"{media.sha256}{Path(media.path).suffix}"
        if not path.exists():
            link_or_copy(Path(media.path), path)
        return path

    def material(kind: type, media: Media, label: str, length: int, what: str):
        made = kind(str(local(media)), material_name=label)
        _fit(made, length, one_frame, what)
        if not absolute:
            made.path = f"{DRAFT_FOLDER_PLACEHOLDER}/{MEDIA_FOLDER}/{Path(made.path).name}"
        return made

    # 1. The picture: one segment a shot, end to end; a dissolve sits on the shot before the cut, as Jianying has it
    picture = script.append_track(jy.TrackSpec(jy.TrackType.video, TRACKS["picture"]))
    segments = []
    for clip in timeline.picture:
        start, end = _frame(clip.start_frame, timeline.fps), _frame(clip.start_frame + clip.frames, timeline.fps)
        video = material(jy.VideoMaterial, clip.media, f"{clip.shot} {clip.take[:8]}", end - start,
                         f"the take of shot {clip.shot}")
        segments.append(jy.VideoSegment(video, jy.Timerange(start, end - start),
                                        source_timerange=jy.Timerange(0, end - start)))
    for index, clip in enumerate(timeline.picture):
        length = _frame(clip.transition_frames, timeline.fps)
        if not length:
            continue
        if clip.transition == "dissolve" and index > 0:
            segments[index - 1].add_transition(jy.TransitionType.叠化, duration=length)
        elif clip.transition == "fade_in":
            segments[index].add_animation(jy.IntroType.渐显, duration=length)
        elif clip.transition == "fade_out" and index > 0:
            segments[index - 1].add_animation(jy.OutroType.渐隐, duration=length)
    if timeline.ending_frames:
        segments[-1].add_animation(jy.OutroType.渐隐, duration=_frame(timeline.ending_frames, timeline.fps))
    for segment in segments:
        script.add_segment(segment, picture)

    # 2. The dialogue, each line where the edit places it, cut where its shot ends
    dialogue = script.append_track(jy.TrackSpec(jy.TrackType.audio, TRACKS["dialogue"]))
    for line in timeline.dialogue:
        start, end = _second(line.start), _second(line.end)
        audio = material(jy.AudioMaterial, line.media, f"{line.line} {line.speaker}".strip(), end - start,
                         f"the audio of line {line.line}")
        script.add_segment(jy.AudioSegment(audio, jy.Timerange(start, end - start),
                                           source_timerange=jy.Timerange(0, end - start)), dialogue)

    # 3. The music bed, looped to the end at its gain (the ducking under dialogue is left to the editor)
    if timeline.music is not None:
        music = script.append_track(jy.TrackSpec(jy.TrackType.audio, TRACKS["music"]))
        bed = material(jy.AudioMaterial, timeline.music.media, "music", 0, "the music bed")
        total, start = _frame(timeline.frames, timeline.fps), 0
        while start < total:
            length = min(bed.duration, total - start)
            script.add_segment(jy.AudioSegment(bed, jy.Timerange(start, length), source_timerange=jy.Timerange(
                0, length), volume=10 ** (timeline.music.gain_db / 20)), music)
            start += length

    # 4. The subtitles as Jianying imports an SRT: a text track at the bottom of the frame
    if cut.subtitles is not None and cut.subtitles.stat().st_size:
        script.import_srt(str(cut.subtitles), TRACKS["subtitles"])

    draft_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"aigms:jianying:{name}")).upper()
    script.content.update({"id": draft_id, "name": name})
    script.save()
    meta_path = folder / "draft_meta_info.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update({"draft_id": draft_id, "draft_name": name, "tm_duration": script.duration})
    atomic_write_text(meta_path, json.dumps(meta, ensure_ascii=False, indent=1))
    return Draft(folder, name)
