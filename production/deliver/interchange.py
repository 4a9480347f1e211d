"""The edit for other editors: the timeline as OpenTimelineIO (a track per picture, dialogue and music, one clip per
shot pointing at its take's media, a marker for each QC failure and for each note a person left at a frame of the
take, our own data under an `aigms` key) and, through
OTIO's adapters, as a CMX 3600 EDL and an FCP 7 XML that Premiere, Resolve and Avid open."""

from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio

from aigms.production.store.files import atomic_path
from aigms.schemas.manifest import LineCheck
from aigms.schemas.timeline import Timeline

EDL_REEL_LENGTH = 8


@dataclass(frozen=True)
class QCFailure:
    """A failed check on a shot's take (or its line), shown to the editor as a red marker on the shot."""

    shot: str
    check: str
    score: float
    threshold: float
    reason: str


@dataclass(frozen=True)
class FrameNote:
    """A person's note at a frame of a shot's take (and maybe a rectangle on it), a marker at that frame."""

    shot: str
    frame: int
    note: str
    author: str
    status: str
    region: dict[str, float] | None = None


NOTE_COLOURS = {"retake": otio.schema.MarkerColor.ORANGE, "done": otio.schema.MarkerColor.GREEN}


def _range(start_frames: float, frames: float, rate: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start_frames, rate),
                                   otio.opentime.RationalTime(frames, rate))


def _clip(name: str, path: str, frames: int, rate: int, metadata: dict) -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(target_url=Path(path).resolve().as_uri(),
                                              available_range=_range(0, frames, rate))
    clip = otio.schema.Clip(name=name, media_reference=reference, source_range=_range(0, frames, rate))
    clip.metadata["aigms"] = metadata
    return clip


def line_failures(checks: list[LineCheck]) -> list[QCFailure]:
    return [QCFailure(check.shot, "subtitle_wer", check.wer or 0.0, 0.0,
                      f"line {check.line}: heard {check.heard!r} for {check.text!r}")
            for check in checks if check.flagged]


def to_otio(timeline: Timeline, checks: list[LineCheck], failures: list[QCFailure],
            notes: list[FrameNote] = ()) -> otio.schema.Timeline:
    rate = timeline.fps
    result = otio.schema.Timeline(name=f"{timeline.series} {timeline.episode}",
                                  global_start_time=otio.opentime.RationalTime(0, rate))
    result.metadata["aigms"] = {"series": timeline.series, "episode": timeline.episode,
                                "language": timeline.language, "loudness": timeline.loudness,
                                "label": timeline.label.model_dump(mode="json")}
    picture = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    for index, clip in enumerate(timeline.picture):
        if clip.transition == "dissolve" and clip.transition_frames and index > 0:
            half = max(1, clip.transition_frames // 2)
            picture.append(otio.schema.Transition(
                name="dissolve", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=otio.opentime.RationalTime(half, rate), out_offset=otio.opentime.RationalTime(half, rate),
            ))
        item = _clip(clip.shot, clip.media.path, clip.frames, rate,
                     {"shot": clip.shot, "take": clip.take, "sha256": clip.media.sha256,
                      "transition": clip.transition, "transition_frames": clip.transition_frames})
        for failure in (failure for failure in failures if failure.shot == clip.shot):
            marker = otio.schema.Marker(name=f"QC {failure.check}", marked_range=_range(0, clip.frames, rate),
                                        color=otio.schema.MarkerColor.RED)
            marker.metadata["aigms"] = {"check": failure.check, "score": failure.score,
                                        "threshold": failure.threshold, "reason": failure.reason}
            item.markers.append(marker)
        for note in (note for note in notes if note.shot == clip.shot and note.frame < clip.frames):
            marker = otio.schema.Marker(name=f"{note.author}: {note.note}"[:200],
                                        marked_range=_range(note.frame, 1, rate), comment=note.note,
                                        color=NOTE_COLOURS.get(note.status, otio.schema.MarkerColor.YELLOW))
            marker.metadata["aigms"] = {"note": note.note, "author": note.author, "status": note.status,
                                        "frame": note.frame, "region": note.region}
            item.markers.append(marker)
        picture.append(item)
    dialogue = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
    position = 0
    by_line = {check.line: check for check in checks}
    for line in timeline.dialogue:
        first = round(line.start * rate)
        frames = max(1, round(line.end * rate) - first)
        if first > position:
            dialogue.append(otio.schema.Gap(source_range=_range(0, first - position, rate)))
        check = by_line.get(line.line)
        dialogue.append(_clip(f"line {line.line}", line.media.path, frames, rate, {
            "line": line.line, "shot": line.shot, "speaker": line.speaker, "text": line.text,
            "source": line.source, "sha256": line.media.sha256, "overrun": line.overrun,
            "wer": check.wer if check else None, "flagged": check.flagged if check else False,
        }))
        position = first + frames
    if timeline.frames > position:
        dialogue.append(otio.schema.Gap(source_range=_range(0, timeline.frames - position, rate)))
    music = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    if timeline.music is not None:
        music.append(_clip("music", timeline.music.media.path, timeline.frames, rate, {
            "sha256": timeline.music.media.sha256, "gain_db": timeline.music.gain_db,
            "duck_ratio": timeline.music.duck_ratio}))
    else:
        music.append(otio.schema.Gap(source_range=_range(0, timeline.frames, rate)))
    result.tracks.extend([picture, dialogue, music])
    return result


def picture_only(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """What a CMX 3600 EDL can say: one picture track of cuts. Its dissolves would need frames before each
    take's first (handles) that generated takes do not have; they stay in the OTIO and the XML."""
    copy = timeline.deepcopy()
    for index in reversed(range(len(copy.tracks))):
        if copy.tracks[index].kind != otio.schema.TrackKind.Video:
            del copy.tracks[index]
    picture = copy.tracks[0]
    for index in reversed(range(len(picture))):
        if isinstance(picture[index], otio.schema.Transition):
            del picture[index]
    return copy


def write_interchange(timeline: otio.schema.Timeline, otio_path: Path, edl_path: Path, xml_path: Path) -> None:
    with atomic_path(otio_path) as temporary:
        otio.adapters.write_to_file(timeline, str(temporary), adapter_name="otio_json")
    with atomic_path(edl_path) as temporary:
        otio.adapters.write_to_file(picture_only(timeline), str(temporary), adapter_name="cmx_3600",
                                    reelname_len=EDL_REEL_LENGTH)
    with atomic_path(xml_path) as temporary:
        otio.adapters.write_to_file(timeline, str(temporary), adapter_name="fcp_xml")
