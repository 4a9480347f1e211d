"""The edit for other editors: the timeline as OpenTimelineIO (a track per picture, dialogue and music, one clip per
shot carrying every good take of its shot as a media reference, the selected one active, a marker for each QC
failure and for each note a person left at a frame of the take, our own data under an `aigms` key) and, through
OTIO's adapters, as a CMX 3600 EDL, an FCP 7 XML and an AAF that Premiere, Resolve and Avid open.

Media are referenced where they are: in the asset store, by absolute path, which serves a studio whose store is
mounted at the same place on every machine. `write_bundle` makes the portable form: an OTIO directory bundle
(`.otiod`, OTIO's own layout) holding the timeline and its media, every take included, by relative path."""

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aaf2.mobid
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
class Alternate:
    """A good take of a shot that the editor may cut in instead of the selected one."""

    take: str  # the hash of its recipe: the media reference's key
    path: str
    sha256: str
    label: str


MediaURL = Callable[[str], str]


def file_url(path: str) -> str:
    return Path(path).resolve().as_uri()


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


def _clip(name: str, path: str, frames: int, rate: int, metadata: dict, url: MediaURL) -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(target_url=url(path), available_range=_range(0, frames, rate))
    clip = otio.schema.Clip(name=name, media_reference=reference, source_range=_range(0, frames, rate))
    clip.metadata["aigms"] = metadata
    return clip


def _takes(clip: otio.schema.Clip, selected: str, sha256: str, alternates: list[Alternate], frames: int, rate: int,
           url: MediaURL) -> None:
    """Every good take of the shot as a media reference keyed by its recipe hash, the selected one active."""
    references = {}
    for alternate in alternates:
        reference = otio.schema.ExternalReference(target_url=url(alternate.path),
                                                  available_range=_range(0, frames, rate))
        reference.name = alternate.label
        reference.metadata["aigms"] = {"take": alternate.take, "sha256": alternate.sha256}
        references[alternate.take] = reference
    if selected not in references:
        reference = clip.media_reference
        reference.metadata["aigms"] = {"take": selected, "sha256": sha256}
        references[selected] = reference
    clip.set_media_references(references, selected)


def line_failures(checks: list[LineCheck]) -> list[QCFailure]:
    return [QCFailure(check.shot, "subtitle_wer", check.wer or 0.0, 0.0,
                      f"line {check.line}: heard {check.heard!r} for {check.text!r}")
            for check in checks if check.flagged]


def to_otio(timeline: Timeline, checks: list[LineCheck], failures: list[QCFailure],
            alternates: dict[str, list[Alternate]] | None = None, url: MediaURL = file_url,
            notes: list[FrameNote] = ()) -> otio.schema.Timeline:
    """`alternates` are each shot's good takes (the selected one among them or not); `url` turns a media path into
    the reference's target URL; `notes` are people's notes at a frame of the takes cut in, markers there."""
    rate = timeline.fps
    alternates = alternates or {}
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
                      "transition": clip.transition, "transition_frames": clip.transition_frames}, url)
        _takes(item, clip.take, clip.media.sha256, alternates.get(clip.shot, []), clip.frames, rate, url)
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
        }, url))
        position = first + frames
    if timeline.frames > position:
        dialogue.append(otio.schema.Gap(source_range=_range(0, timeline.frames - position, rate)))
    music = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    if timeline.music is not None:
        music.append(_clip("music", timeline.music.media.path, timeline.frames, rate, {
            "sha256": timeline.music.media.sha256, "gain_db": timeline.music.gain_db,
            "duck_ratio": timeline.music.duck_ratio}, url))
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


# The dissolve as Avid Media Composer writes it (the operation AAF files from Avid name VideoDissolve_2): the
# AAF adapter writes a transition only from this description, and a linear level from 0 to 1 across it.
AVID_DISSOLVE = {"Identification": "89d9b67e-5584-302d-9abd-8bd330c46841", "Name": "VideoDissolve_2",
                 "Description": "", "DataDefinition": {"Name": "Picture"}, "IsTimeWarp": False, "Bypass": 1,
                 "NumberInputs": 2, "OperationCategory": "OperationCategory_Effect"}


def for_aaf(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """AAF names media by MobID: each file gets one made from its hash, so the same take is the same master clip in
    every AAF we write, and Avid or Premiere relinks it once. Each dissolve carries the effect AAF describes it by,
    cut at its middle (where the EDL cuts)."""
    copy = timeline.deepcopy()
    for clip in copy.find_clips():
        mob_id = aaf2.mobid.MobID.new()
        mob_id.material = uuid.UUID(hex=clip.metadata["aigms"]["sha256"][:32])
        clip.media_reference.metadata["AAF"] = {"MobID": str(mob_id.urn)}
    for transition in copy.find_children(descended_from_type=otio.schema.Transition):
        transition.metadata["AAF"] = {
            "CutPoint": int(transition.in_offset.value), "OperationGroup": {"Operation": dict(AVID_DISSOLVE)},
            "PointList": [{"Time": 0.0, "Value": 0.0}, {"Time": 1.0, "Value": 1.0}]}
    return copy


def write_interchange(timeline: otio.schema.Timeline, otio_path: Path, edl_path: Path, xml_path: Path,
                      aaf_path: Path | None = None) -> None:
    with atomic_path(otio_path) as temporary:
        otio.adapters.write_to_file(timeline, str(temporary), adapter_name="otio_json")
    with atomic_path(edl_path) as temporary:
        otio.adapters.write_to_file(picture_only(timeline), str(temporary), adapter_name="cmx_3600",
                                    reelname_len=EDL_REEL_LENGTH)
    with atomic_path(xml_path) as temporary:
        otio.adapters.write_to_file(timeline, str(temporary), adapter_name="fcp_xml")
    if aaf_path is not None:
        with atomic_path(aaf_path) as temporary:
            otio.adapters.write_to_file(for_aaf(timeline), str(temporary), adapter_name="AAF")


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link costs no space when the folder is on the store's filesystem; a copy otherwise. Either way the
    folder holds the bytes and can be moved or zipped to another machine."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        with atomic_path(target) as temporary:
            shutil.copyfile(source, temporary)


BUNDLE_MEDIA = "media"  # OTIO's directory bundle: content.otio beside a media folder


def write_bundle(timeline: Timeline, checks: list[LineCheck], failures: list[QCFailure],
                 alternates: dict[str, list[Alternate]], folder: Path) -> Path:
    """The timeline as an OTIO directory bundle: `content.otio` and `media/` with every file it references (each
    shot's every good take too), by paths relative to the bundle, so it opens on any machine it is copied to.
    OTIO's own `otiod` adapter bundles only the active references, so the files are placed here."""
    names: dict[str, str] = {}

    def bundled(path: str) -> str:
        if path not in names:
            name = Path(path).name
            link_or_copy(Path(path), folder / BUNDLE_MEDIA / name)
            names[path] = f"{BUNDLE_MEDIA}/{name}"
        return names[path]

    result = to_otio(timeline, checks, failures, alternates, bundled)
    with atomic_path(folder / "content.otio") as temporary:
        otio.adapters.write_to_file(result, str(temporary), adapter_name="otio_json")
    return folder / "content.otio"
