"""What leaves the building: one folder per episode with the master (`episode.mp4`: picture, sound, soft subtitles,
AIGC labels), `episode.srt` / `episode.vtt`, `timeline.otio` with its EDL, FCP XML and AAF, and `manifest.json`, which
lists every shot, take, line and file by hash and holds the timeline, so a delivery can be checked, or rendered
again (`render_from_manifest`), without the database or the script."""

import json
import platform
import re
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from aigms.db import ledger, models, spend
from aigms.db.session import session_scope
from aigms.production import settings
from aigms.production.deliver import interchange
from aigms.production.generate.takes import RenderedTake
from aigms.production.post import edit, labels, subtitles, transcribe
from aigms.production.post.voice import LineAudio
from aigms.production.store import assets, media
from aigms.production.store.files import atomic_write_text
from aigms.production.user_files import CONTROL, CONTROL_FIX, MANIFEST_BYTES, describe_char, read_text
from aigms.schemas.errors import InputError
from aigms.schemas.manifest import AssetRef, LineCheck, Manifest, ManifestCall, ManifestShot
from aigms.schemas.series import Series
from aigms.schemas.shotlist import ShotList
from aigms.schemas.timeline import Media, Timeline

FILES = {"video": "episode.mp4", "subtitles": "episode.srt", "webvtt": "episode.vtt", "otio": "timeline.otio",
         "edl": "episode.edl", "fcp_xml": "episode.xml", "aaf": "episode.aaf"}


@dataclass(frozen=True)
class Delivered:
    folder: Path
    manifest: Manifest
    segments: list[edit.PictureRun]
    warnings: list[str]

    def path(self, name: str) -> Path:
        return self.folder / FILES[name]

    @property
    def video(self) -> Path:
        return self.path("video")

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"


@cache
def software_versions() -> dict[str, str]:
    """Versions that change pixels or sound; a reproduction with other versions may differ, and should say so."""
    versions = {"aigms": version("aigms"), "python": platform.python_version()}
    for tool, argument in ((media.ffmpeg_exe(), "-version"), ("espeak-ng", "--version")):
        try:
            first = subprocess.run([tool, argument], capture_output=True, text=True, check=True).stdout.splitlines()
        except (OSError, subprocess.CalledProcessError):
            continue
        versions[Path(tool).name] = first[0] if first else "unknown"
    return versions


def describe(path: Path) -> AssetRef:
    """A delivered file as the manifest lists it: its name beside the manifest, its hash and size."""
    return AssetRef(path=path.name, sha256=assets.sha256_file(path), size=path.stat().st_size)


def draft_manifest(series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
                   dialogue_hashes: dict[str, str], calls: dict[int, list[ManifestCall]] | None = None,
                   take_costs: dict[int, float] | None = None, spent: float | None = None) -> Manifest:
    """The manifest's account of the shots, their takes' model calls and what they cost; `deliver` adds the
    timeline, the checks and the files."""
    take_costs = take_costs or {}
    episode = series.episode(shotlist.episode)
    entries = []
    start = 0.0
    for shot in shotlist.shots:
        take = takes[shot.id]
        entries.append(ManifestShot(
            id=shot.id, start=round(start, 6), duration=shot.duration, kind=shot.kind, characters=shot.characters,
            location=shot.location, lines=shot.lines, prompt=shot.prompt, take=take.recipe_sha256,
            clip_sha256=take.clip_sha256, dialogue_sha256=dialogue_hashes.get(shot.id),
            calls=(calls or {}).get(take.take_id, []), cost=take_costs.get(take.take_id),
        ))
        start += shot.duration
    return Manifest(
        series=series.id, series_title=series.title, episode=shotlist.episode, episode_title=episode.title,
        language=shotlist.language, delivery=series.delivery, generator=series.generator,
        duration=round(shotlist.duration, 6), shots=entries, created=datetime.now(UTC),
        currency=series.costs.currency, spent=spent,
    )


def deliver(folder: Path, timeline: Timeline, checks: Sequence[LineCheck] | Future[list[LineCheck]],
            failures: list[interchange.QCFailure], draft: Manifest,
            alternates: dict[str, list[interchange.Alternate]] | None = None, notes: list[interchange.FrameNote] = (),
            cache_dir: Path | None = None) -> Delivered:
    """Subtitles, master, interchange files and manifest (the master carries the subtitles and a label that names
    the picture's hash; the manifest names every file's hash). `checks`, what was heard of each line, may still be
    being heard (a Future): the picture, which needs them only to burn subtitles in, and the sound are made
    meanwhile. `failures`, the takes' failed checks, and the lines flagged become the editor's markers;
    `alternates`, each shot's good takes, go into the OTIO for the editor to swap; `notes`, people's notes at a
    frame, become markers too. The edit keeps its work (takes conformed to the house encode, rendered runs, the
    sound) in `cache_dir`, so the next delivery re-encodes only what changed."""
    folder.mkdir(parents=True, exist_ok=True)
    burn_in = folder / FILES["subtitles"] if timeline.subtitles.burn_in else None
    with tempfile.TemporaryDirectory(dir=folder) as scratch, ThreadPoolExecutor(max_workers=2) as work:
        picture, sound = Path(scratch) / "picture.mp4", Path(scratch) / "sound.m4a"
        mixed = work.submit(edit.render_sound, timeline.sound, sound, cache_dir)
        cut_early = None if burn_in else work.submit(edit.render_picture, timeline, picture, None, cache_dir)
        checks = checks.result() if isinstance(checks, Future) else list(checks)
        cues, warnings = subtitles.make_cues(timeline, checks)
        subtitles.write_srt(cues, folder / FILES["subtitles"])
        subtitles.write_vtt(cues, folder / FILES["webvtt"])
        segments = cut_early.result() if cut_early else edit.render_picture(timeline, picture, burn_in, cache_dir)
        otio_timeline = interchange.to_otio(timeline, checks, failures + interchange.line_failures(checks),
                                            alternates, notes=notes)
        written = work.submit(interchange.write_interchange, otio_timeline, folder / FILES["otio"],
                              folder / FILES["edl"], folder / FILES["fcp_xml"], folder / FILES["aaf"])
        picture_sha256 = media.picture_sha256(picture)
        aigc = labels.aigc_label(timeline, picture_sha256)
        soft = folder / FILES["subtitles"] if cues else None
        mixed.result()
        edit.master(picture, sound, soft, timeline.language,
                    labels.file_tags(timeline, aigc), folder / FILES["video"])
        written.result()
    manifest = draft.model_copy(update={
        "duration": round(timeline.duration, 6), "timeline": timeline, "lines": checks,
        "picture_sha256": picture_sha256, "aigc": aigc, "software": software_versions(),
        "outputs": {name: describe(folder / file) for name, file in FILES.items()}, "created": datetime.now(UTC),
    })
    atomic_write_text(folder / "manifest.json", manifest.model_dump_json(indent=2) + "\n")
    flagged = [f"line {check.line} (shot {check.shot}): the audio does not say its text (word error rate "
               f"{check.wer:.2f}; heard {check.heard!r})" for check in checks if check.flagged]
    return Delivered(folder, manifest, segments, flagged + warnings)


@dataclass(frozen=True)
class Cut:
    """The delivered episode, with the hash of each file, so a cut made before is trusted only while its files
    hold."""

    video: Path
    subtitles: Path
    manifest: Path
    sha256: dict[str, str]
    warnings: list[str]

    def is_there(self) -> bool:
        return all(path.is_file() and assets.sha256_file(path) == self.sha256[name]
                   for name, path in (("video", self.video), ("subtitles", self.subtitles),
                                      ("manifest", self.manifest)))


def cut(engine: Engine, store: Path, series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
        audio: dict[str, LineAudio], folder: Path, notes: Sequence[interchange.FrameNote] = (),
        transcriber: str | None = None) -> Cut:
    """Edit, subtitle and deliver the episode into `folder`: the selected take of every shot, every line's audio,
    the subtitles timed by the recogniser (`transcriber`, default `AIGMS_WHISPER`), people's notes on the takes as
    markers for the editor and each shot's other good takes beside it in the OTIO, every take's calls and cost in
    the manifest. The lines are heard while the picture and the sound are made. The delivered files also go into the
    asset store, each line's check into the database."""
    timeline, warnings = edit.build_timeline(series, shotlist, takes, audio)
    recogniser = transcribe.parse_transcriber(transcriber or settings.whisper())
    with ThreadPoolExecutor(max_workers=1) as hearing:
        checks = hearing.submit(subtitles.hear, timeline, recogniser, assets.derived_dir(store, "transcripts"))
        with session_scope(engine) as session:
            failures = take_failures(session, takes)
            calls = take_calls(session, takes)
            take_costs = spend.take_costs(session, [take.take_id for take in takes.values()])
            episode_id = session.scalar(select(models.Episode.id).filter_by(series_id=series.id,
                                                                             code=shotlist.episode))
            spent = spend.episode_costs(session, series.id).get(episode_id)
            alternates = alternate_takes(session, store, episode_id)
        draft = draft_manifest(series, shotlist, takes, {shot_id: line.sha256 for shot_id, line in audio.items()},
                               calls, take_costs, spent)
        delivered = deliver(folder, timeline, checks, failures, draft, alternates, list(notes),
                            assets.derived_dir(store, "edit"))
    with session_scope(engine) as session:
        if timeline.music is not None:
            assets.put_file(session, store, Path(timeline.music.media.path), "music", move=False)
        for name, kind in (("video", "episode"), ("subtitles", "subtitle"), ("webvtt", "subtitle"),
                           ("otio", "timeline"), ("edl", "timeline"), ("fcp_xml", "timeline"), ("aaf", "timeline")):
            assets.put_file(session, store, delivered.path(name), kind, move=False)
        assets.put_file(session, store, delivered.manifest_path, "manifest", move=False)
        record_lines(session, series.id, timeline, delivered.manifest.lines)
    files = {"video": delivered.video, "subtitles": delivered.path("subtitles"), "manifest": delivered.manifest_path}
    return Cut(**files, sha256={name: assets.sha256_file(path) for name, path in files.items()},
               warnings=warnings + delivered.warnings)


def alternate_takes(session: Session, store: Path, episode_id: int) -> dict[str, list[interchange.Alternate]]:
    """Each shot's good clips still in the store, oldest first: the takes an editor may swap in."""
    rows = session.execute(
        select(models.Shot.code, models.Take, models.Asset).join(models.Take, models.Take.shot_id == models.Shot.id)
        .join(models.Asset, models.Take.asset_id == models.Asset.id)
        .where(models.Shot.episode_id == episode_id, models.Take.status == models.TAKE_OK,
               models.Take.kind == models.TAKE_CLIP)
        .order_by(models.Shot.position, models.Take.id))
    alternates: dict[str, list[interchange.Alternate]] = {}
    for code, take, asset in rows:
        if assets.has_file(store, asset):
            number = len(alternates.setdefault(code, [])) + 1
            alternates[code].append(interchange.Alternate(
                take.recipe_sha256, str(assets.asset_file(store, asset)), asset.sha256,
                f"{code} take {number} (seed {take.seed})"))
    return alternates


def take_failures(session: Session, takes: dict[str, RenderedTake]) -> list[interchange.QCFailure]:
    """Failed QC checks of the selected takes, for the editor's markers."""
    shot_of = {take.take_id: shot_id for shot_id, take in takes.items()}
    rows = session.scalars(select(models.QCResult).where(models.QCResult.take_id.in_(shot_of),
                                                         models.QCResult.passed.is_(False)))
    return [interchange.QCFailure(shot_of[row.take_id], row.check, row.score, row.threshold, row.reason)
            for row in rows]


def take_calls(session: Session, takes: dict[str, RenderedTake]) -> dict[int, list[ManifestCall]]:
    """The ledger's model calls of each selected take, as the manifest lists them."""
    found = ledger.for_takes(session, [take.take_id for take in takes.values()])
    return {take_id: [ManifestCall(kind=call.kind, segment=call.segment_index, backend=call.backend,
                                   model=call.model, provider=call.provider, task_id=call.provider_task_id,
                                   billed_units=call.billed_units, unit=call.unit, cost=call.cost,
                                   currency=call.currency) for call in calls]
            for take_id, calls in found.items()}


def take_notes(engine: Engine, takes: dict[str, RenderedTake]) -> list[interchange.FrameNote]:
    """People's notes at a frame of the selected takes, oldest first, for the editor's markers (read before the
    cut, which is made again when they change)."""
    shot_of = {take.take_id: shot_id for shot_id, take in takes.items()}
    with session_scope(engine) as session:
        rows = session.scalars(select(models.Review).where(
            models.Review.target_type == "take", models.Review.target_id.in_(shot_of),
            models.Review.frame.is_not(None)).order_by(models.Review.id))
        return [interchange.FrameNote(shot_of[row.target_id], row.frame, row.note, row.author, row.status,
                                      row.region) for row in rows]


def record_lines(session: Session, series_id: str, timeline: Timeline, checks: list[LineCheck]) -> None:
    """One row per delivered line: its audio and what was heard of it (the subtitle QC a producer queries)."""
    episode = session.scalar(select(models.Episode).filter_by(series_id=series_id, code=timeline.episode))
    shots = {shot.code: shot.id for shot in session.scalars(select(models.Shot).filter_by(episode_id=episode.id))}
    by_line = {check.line: check for check in checks}
    for line in timeline.dialogue:
        check = by_line[line.line]
        asset = session.scalar(select(models.Asset).filter_by(sha256=line.media.sha256))
        values = {"speaker": line.speaker, "text": line.text, "source": line.source, "duration": line.duration,
                  "overrun": line.overrun, "asset_id": asset.id if asset else None, "heard": check.heard,
                  "wer": check.wer, "flagged": check.flagged, "transcriber": check.transcriber}
        row = session.scalar(select(models.DialogueLine).filter_by(shot_id=shots[line.shot], code=line.line))
        if row is None:
            session.add(models.DialogueLine(shot_id=shots[line.shot], code=line.line, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


def read_manifest(path: Path) -> Manifest:
    """A manifest is a file anyone may hand over: bounded, validated (its series and episode are ids, every number in
    range) and free of control characters before anything is rendered from it."""
    text = read_text(path, MANIFEST_BYTES, "manifest")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError(path, getattr(error, "lineno", None), f"not valid JSON ({error})",
                         "give the manifest.json of a delivered episode") from None
    for value in _strings(data):
        if match := CONTROL.search(value):
            escape = re.search(re.escape(f"\\u{ord(match.group()):04x}"), text, re.IGNORECASE)
            line = text.count("\n", 0, escape.start()) + 1 if escape else None
            raise InputError(path, line, f"control character {describe_char(match.group())} in a value", CONTROL_FIX)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(path, None, f"{where}: {first['msg']}", "see `aigms schema manifest`") from None
    if manifest.timeline is None:
        raise InputError(path, None, "the manifest holds no timeline (made by an older aigms)",
                         "render the episode from its script instead")
    return manifest


def _strings(data: Any) -> Iterator[str]:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def find_media(item: Media, store: Path, manifest_path: Path, what: str) -> Media:
    """The file a manifest names, found in the asset store by its hash, and only if its bytes are the same. The path
    the manifest gives is never read: a manifest is a file anyone may hand over, and its paths could name any file."""
    for candidate in sorted((store / item.sha256[:2]).glob(f"{item.sha256}.*")):
        if candidate.is_file() and assets.sha256_file(candidate) == item.sha256:
            return Media(path=str(candidate), sha256=item.sha256)
    raise InputError(manifest_path, None, f"{what} (sha256 {item.sha256[:12]}…) is not in the asset store {store}",
                     "render from the manifest on the machine whose store made it (`--home`), or from the script")


def stored_timeline(manifest: Manifest, store: Path, path: Path) -> Timeline:
    """The manifest's timeline with every file it names found in the asset store by hash (`find_media`)."""
    timeline = manifest.timeline.model_copy(deep=True)
    for clip in timeline.picture:
        clip.media = find_media(clip.media, store, path, f"the take of shot {clip.shot}")
    for line in timeline.dialogue:
        line.media = find_media(line.media, store, path, f"the audio of line {line.line}")
    if timeline.music is not None:
        timeline.music.media = find_media(timeline.music.media, store, path, "the music bed")
    return timeline


def render_from_manifest(path: Path, store: Path, out: Path) -> Delivered:
    """The same episode again, from the manifest alone: its timeline, its media found by hash, its subtitle
    timings; no script, no generator, no recogniser."""
    manifest = read_manifest(path)
    timeline = stored_timeline(manifest, store, path)
    folder = out / manifest.series / manifest.episode
    return deliver(folder, timeline, manifest.lines, [], manifest, cache_dir=assets.derived_dir(store, "edit"))
