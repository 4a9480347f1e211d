"""Consistency checks: does a take show the cast and the set of the bible, hold together across its segment joins
and across the cut to the next shot, move without flicker, freezing or black, and match the delivery spec? Each
check is a named function giving a score in [0, 1] and a reason a person can read; `series.yaml`'s `qc` section
sets the thresholds. Results are `QCResult` rows, naming the feature extractor that produced them.

Per-shot checks run right after each take (`check_take`, called by the generate stage's retake policy); the
checks across shots (continuity across the cut, the location against the other shots of its scene) run once every
shot is filmed (`check_episode`), scoring again only the pairs of shots whose takes changed."""

import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import cv2
import ffmpeg
import numpy as np
from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production.qc import identity as faces_in
from aigms.production.qc.faces import face_extractor_for
from aigms.production.store import assets, media
from aigms.production.store.assets import canonical_sha256
from aigms.production.store.files import atomic_path, atomic_write_text
from aigms.production.qc.features import ANALYSIS_HEIGHT, Window, extractor_for, faces, shrink
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot, ShotList

STILL_DIFFERENCE = 0.5  # mean absolute difference (of 255) below which two frames are the same picture
BLACK_LUMA = 16.0  # a frame darker than this on average is black (video black level)
MOTION_PIXELS = 0.25  # a frame pair moves when the top 5 % of its flow exceeds this, in pixels at analysis size
CROSS_SHOT = ("continuity", "scene_location")
PLATE_ZOOMS = (1.0, 1.3, 1.7)  # centre crops of a location reference tried against the frame
WINDOW_HEIGHTS = (0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.7)  # a character's sizes searched, as parts of the frame


@dataclass(frozen=True)
class Check:
    """One check's verdict on a take."""

    name: str
    score: float
    threshold: float
    reason: str
    extractor: str = "pixels"  # flicker, motion, frozen and black read the pixels themselves

    @property
    def passed(self) -> bool:
        return self.score >= self.threshold


@dataclass(frozen=True)
class Verdict:
    take_id: int
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def score(self) -> float:
        """How far the take clears its thresholds on the whole: the mean margin, so the best of several failing
        takes is the one that fails least."""
        return float(np.mean([check.score - check.threshold for check in self.checks])) if self.checks else 0.0

    def failed(self) -> str:
        return "; ".join(f"{c.name} {c.score:.2f} < {c.threshold:.2f} ({c.reason})" for c in self.checks
                         if not c.passed)


# Frames


def decode(clip: Path, height: int = ANALYSIS_HEIGHT) -> tuple[np.ndarray, float]:
    """Every frame of a clip at the analysis height, RGB, with the clip's frame rate."""
    info = media.probe(clip)
    width = max(2, round(info.width * height / info.height / 2) * 2)
    data, _ = (
        ffmpeg.input(str(clip)).filter("scale", width, height, flags="area")
        .output("pipe:", format="rawvideo", pix_fmt="rgb24", vsync="passthrough")
        .run(cmd=media.ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    )
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, height, width, 3), float(info.fps or 1.0)


def sample(frames: np.ndarray, count: int = 3) -> list[np.ndarray]:
    """First, middle and last frame (or `count` spread evenly)."""
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    return [frames[index] for index in picks]


def reference(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """A reference image at the analysis size, and the mask of its opaque pixels when it has transparency (a
    character drawn on nothing is compared by the character alone). Read once per version of the file: every take
    of a character's shots is compared with it."""
    stat = path.stat()
    return _reference(path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _reference(path: Path, _inode: int, _size: int, _modified: int) -> tuple[np.ndarray, np.ndarray | None]:
    image = Image.open(path)
    rgba = np.asarray(image.convert("RGBA"))
    mask = (rgba[..., 3] > 127).astype(np.uint8) if image.mode in ("RGBA", "LA", "P") else None
    picture = rgba[..., :3].copy()
    if mask is not None and mask.any():
        ys, xs = np.nonzero(mask)
        top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        picture, mask = picture[top:bottom, left:right].copy(), mask[top:bottom, left:right].copy()
    if mask is not None and mask.all():
        mask = None
    scale = min(1.0, ANALYSIS_HEIGHT * 2 / picture.shape[0])
    if scale < 1.0:
        size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
        mask = None if mask is None else cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    for array in (picture, mask):
        if array is not None:
            array.setflags(write=False)  # shared by every caller
    return picture, mask


# Per-shot checks


def identity(frames: np.ndarray, shot: Shot, series: Series, extractor_spec: str,
             seen: faces_in.FacesInTake | None = None) -> Check | None:
    """Each character of the shot against its reference images; the shot scores as its least recognisable
    character. With `qc.faces`, a character is judged by its face (`identity.watch`: the mean likeness of its
    faces to its face bank); a faceless one, one whose references show no face, and one whose face the take never
    shows are judged by their silhouette (`silhouette`)."""
    cast = [key for key in shot.characters if series.characters[key].references]
    if not cast:
        return None
    found: dict[str, float] = {}
    notes: dict[str, str] = {}
    for key in cast:
        if seen is not None and key in seen.characters:
            face = seen.characters[key]
            found[key] = face.similarity
            notes[key] = f"face, {face.matched}/{face.seen} matched in {face.seen}/{face.sampled} frames"
            continue
        found[key] = silhouette(frames, key, series, extractor_spec)
        if seen is not None:
            notes[key] = ("silhouette: faceless" if series.characters[key].faceless else
                          "silhouette: no face in the references" if key not in seen.banked else
                          "silhouette: face not found")
    worst = min(found, key=found.get)
    reason = ", ".join(f"{series.characters[key].name} {score:.2f}" + (f" ({notes[key]})" if key in notes else "")
                       for key, score in found.items())
    name = seen.extractor if seen is not None else extractor_for(extractor_spec).name
    return Check("identity", found[worst], series.qc.thresholds["identity"],
                 f"likest place to each reference: {reason}" if seen is None else reason, name)


def silhouette(frames: np.ndarray, key: str, series: Series, extractor_spec: str) -> float:
    """A character looked for in the first, middle and last frame: the reference's silhouette slides over the frame
    at several sizes (taller than the frame too, hung from the top, as in a close-up) and the colours under it are
    compared with the reference's own; where the reference and the frame both show a face (OpenCV's cascade), the
    faces are compared too. The likest place counts."""
    extractor = extractor_for(extractor_spec)
    picked = sample(frames)
    frame_faces: dict[int, list[Window]] = {}
    best = 0.0
    for path in series.characters[key].references:
        picture, mask = reference(series.root / path)
        outline = extractor.features(picture, mask)
        windows = _silhouettes(picture, mask, picked[0].shape[:2])
        face = [extractor.features(picture[y:y + h, x:x + w]) for x, y, w, h in faces(picture)[:1]]
        per_frame = []
        for index, frame in enumerate(picked):
            scores = list(extractor.region_similarities(outline, frame, windows))
            if face:
                if index not in frame_faces:
                    frame_faces[index] = [(box, None) for box in faces(frame)]
                scores += list(extractor.region_similarities(face[0], frame, frame_faces[index]))
            per_frame.append(max(scores, default=0.0))
        best = max(best, float(np.median(per_frame)))
    return best


def unknown_faces(seen: faces_in.FacesInTake, series: Series) -> Check:
    """Faces nobody in the shot's cast takes (an extra where none is cast): 1 − the share of sampled frames that
    show one. The default threshold 0 reports them without filming again."""
    frames = round(seen.unknown_share * len(seen.frames))
    reason = (f"{len(seen.unknown)} face(s) not in the cast, in {frames} of {len(seen.frames)} sampled frames"
              if seen.unknown else "no face outside the cast")
    return Check("unknown_faces", 1.0 - seen.unknown_share, series.qc.thresholds["unknown_faces"], reason,
                 seen.extractor)


def _silhouettes(picture: np.ndarray, mask: np.ndarray | None, frame: tuple[int, int]) -> list[Window]:
    """Windows of a frame of this (height, width) under the reference's outline, at every size in WINDOW_HEIGHTS,
    a quarter step apart, each with the outline at its size."""
    height, width = frame
    found = []
    for part in WINDOW_HEIGHTS:
        h = max(8, round(height * part))
        w = max(4, round(picture.shape[1] * h / picture.shape[0]))
        if w > width:
            continue
        shape = None if mask is None else cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)[:height]
        h = min(h, height)
        for y in range(0, height - h + 1, max(1, h // 4)):
            for x in range(0, width - w + 1, max(1, w // 4)):
                found.append(((x, y, w, h), shape))
    return found


def location(frames: np.ndarray, shot: Shot, series: Series, extractor_spec: str) -> Check | None:
    """The set against the location's reference images, colour and layout of the whole frame. A closer shot sees
    the middle of the set larger, so each reference is also tried cropped to its centre (PLATE_ZOOMS)."""
    if not shot.location or not series.locations[shot.location].references:
        return None
    extractor = extractor_for(extractor_spec)
    seen = [extractor.features(frame) for frame in sample(frames)]
    scores = []
    for path in series.locations[shot.location].references:
        plate = shrink(reference(series.root / path)[0])
        for zoom in PLATE_ZOOMS:
            features = extractor.features(_centre(plate, zoom))
            scores.append(float(np.median([extractor.similarity(features, frame) for frame in seen])))
    name = series.locations[shot.location].name
    return Check("location", max(scores), series.qc.thresholds["location"],
                 f"likeness to {name}'s reference images", extractor.name)


def _centre(picture: np.ndarray, zoom: float) -> np.ndarray:
    height, width = picture.shape[:2]
    h, w = round(height / zoom), round(width / zoom)
    top, left = (height - h) // 2, (width - w) // 2
    return picture[top:top + h, left:left + w]


def seam_frames(shot: Shot, calls: int, frame_count: int) -> list[int]:
    """The first frame of every segment after the first: the storyboard's segment starts, or, when the generator
    cut the shot into more model calls than planned, equal parts."""
    if calls > 1 and calls != max(1, len(shot.segments)):
        starts = [shot.duration * k / calls for k in range(1, calls)]
    else:
        starts = [segment.start for segment in shot.segments[1:]]
    return [index for index in (round(start / shot.duration * frame_count) for start in starts)
            if 0 < index < frame_count]


def seams(frames: np.ndarray, shot: Shot, calls: int, series: Series, extractor_spec: str, fps: float) -> Check | None:
    """Both sides of each join inside a shot: a continuation should not jump."""
    joins = seam_frames(shot, calls, len(frames))
    if not joins:
        return None
    extractor = extractor_for(extractor_spec)
    scores = {index: extractor.similarity(extractor.features(frames[index - 1]), extractor.features(frames[index]))
              for index in joins}
    worst = min(scores, key=scores.get)
    return Check("seams", scores[worst], series.qc.thresholds["seams"],
                 f"{len(joins)} join(s); least alike at {worst / fps:.2f} s", extractor.name)


def _differences(frames: np.ndarray) -> np.ndarray:
    if len(frames) < 2:
        return np.zeros(0)
    size = frames[0].size
    return np.array([cv2.norm(a, b, cv2.NORM_L1) / size for a, b in zip(frames[:-1], frames[1:])])


def flicker(frames: np.ndarray, series: Series) -> Check:
    """VBench's temporal flickering: 1 − mean absolute difference of consecutive frames / 255."""
    differences = _differences(frames)
    score = 1.0 - float(differences.mean()) / 255.0 if len(differences) else 1.0
    return Check("flicker", score, series.qc.thresholds["flicker"],
                 f"mean change between frames {float(differences.mean()) if len(differences) else 0.0:.1f}/255")


def motion(frames: np.ndarray, series: Series) -> Check:
    """A dynamic-degree proxy: the share of sampled frame pairs whose strongest optical flow (Farnebäck, top 5 %
    of pixels) moves more than a quarter pixel. 0 is a still picture; the threshold (default 0) is for a studio
    that wants its generator to move."""
    picks = np.linspace(0, len(frames) - 2, min(12, max(len(frames) - 1, 0))).round().astype(int)
    moving = []
    for index in picks:
        a = cv2.cvtColor(frames[index], cv2.COLOR_RGB2GRAY)
        b = cv2.cvtColor(frames[index + 1], cv2.COLOR_RGB2GRAY)
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        magnitude = np.linalg.norm(flow, axis=2).ravel()
        strongest = max(1, len(magnitude) // 20)
        top = np.partition(magnitude, -strongest)[-strongest:]
        moving.append(float(top.mean()) > MOTION_PIXELS)
    score = float(np.mean(moving)) if moving else 0.0
    return Check("motion", score, series.qc.thresholds["motion"], f"{sum(moving)} of {len(moving)} frame pairs move")


def frozen(frames: np.ndarray, series: Series, fps: float) -> Check:
    """Stretches where the picture stops (longer than `qc.frozen_seconds`): score 1 − their share of the shot."""
    still = _differences(frames) < STILL_DIFFERENCE
    longest, run, stopped = 0, 0, 0
    limit = series.qc.frozen_seconds * fps
    for value in [*still, False]:
        if value:
            run += 1
            continue
        if run >= limit:
            stopped += run + 1
        longest, run = max(longest, run), 0
    share = min(1.0, stopped / max(len(frames), 1))
    return Check("frozen", 1.0 - share, series.qc.thresholds["frozen"],
                 f"longest still stretch {(longest + 1) / fps if longest else 0.0:.2f} s")


def black(frames: np.ndarray, series: Series, fps: float) -> Check:
    """Frames that are all black (mean luma below video black): score 1 − their share of the shot."""
    luma = frames.mean(axis=(1, 2, 3)) if len(frames) else np.zeros(0)
    dark = int((luma < BLACK_LUMA).sum())
    return Check("black", 1.0 - dark / max(len(frames), 1), series.qc.thresholds["black"],
                 f"{dark} black frame(s), {dark / fps:.2f} s")


def conformance(clip: Path, shot: Shot, series: Series) -> Check:
    """Duration, size and frame rate as delivered, and audio where the shot has dialogue and clips carry sound."""
    info, delivery = media.probe(clip), series.delivery
    wanted_frames = max(1, round(shot.duration * delivery.fps))
    problems = []
    if (info.width, info.height) != (delivery.width, delivery.height):
        problems.append(f"size {info.width}×{info.height}, not {delivery.width}×{delivery.height}")
    if info.fps is None or abs(info.fps - delivery.fps) > 0.01:
        problems.append(f"{info.fps} fps, not {delivery.fps}")
    if info.frames is None or abs(info.frames - wanted_frames) > 1:
        problems.append(f"{info.frames} frames, not {wanted_frames}")
    if series.qc.audio_in_clips and shot.dialogue and info.audio_codec is None:
        problems.append("no audio under dialogue")
    conditions = 4 if series.qc.audio_in_clips and shot.dialogue else 3
    return Check("conformance", 1.0 - len(problems) / conditions, series.qc.thresholds["conformance"],
                 "; ".join(problems) or "duration, size and fps as delivered", "ffprobe")


def look_for_faces(clip: Path, shot: Shot, series: Series,
                   engine: Engine | None = None) -> faces_in.FacesInTake | None:
    """The take's faces when `qc.faces` names a face extractor."""
    if not series.qc.faces:
        return None
    return faces_in.watch(clip, shot, series, face_extractor_for(series.qc.faces), engine)


def shot_checks(clip: Path, shot: Shot, series: Series, calls: int = 1,
                seen: faces_in.FacesInTake | None = None, samples: Path | None = None) -> list[Check]:
    """Every per-shot check of one clip; `seen` is its faces (`look_for_faces`), looked for here when not given.
    The frames the checks across shots compare are kept in `samples` (`samples_file`): they are decoded here
    anyway, and decoding a 1080p take again for three frames costs as much as the checks themselves."""
    frames, fps = decode(clip)
    if samples is not None and not samples.is_file():
        _keep(samples, np.stack(sample(frames)))
    spec = series.qc.extractor
    seen = seen if seen is not None else look_for_faces(clip, shot, series)
    found = [identity(frames, shot, series, spec, seen), location(frames, shot, series, spec),
             seams(frames, shot, calls, series, spec, fps), flicker(frames, series), motion(frames, series),
             frozen(frames, series, fps), black(frames, series, fps), conformance(clip, shot, series),
             unknown_faces(seen, series) if seen is not None else None]
    return [check for check in found if check is not None]


# Recording


def record(engine: Engine, take_id: int, checks: list[Check]) -> None:
    """The take's rows for these checks, replacing earlier ones (thresholds may have changed since)."""
    with session_scope(engine) as session:
        session.execute(delete(models.QCResult).where(models.QCResult.take_id == take_id,
                                                      models.QCResult.check.in_([c.name for c in checks])))
        for check in checks:
            session.add(models.QCResult(take_id=take_id, check=check.name, score=round(check.score, 4),
                                        threshold=check.threshold, passed=check.passed, reason=check.reason,
                                        extractor=check.extractor))


def check_take(engine: Engine, series: Series, shot: Shot, take_id: int, clip: Path, calls: int,
               reused: bool = False, samples: Path | None = None) -> Verdict:
    """Check a take and record the results. A take found again (same recipe, same pixels) keeps the scores it was
    given by the same extractor; only its verdicts are renewed, as the thresholds may have changed."""
    checks, judged = _known(engine, series, take_id) if reused else ([], False)
    if not checks:
        seen = look_for_faces(clip, shot, series, engine)
        checks = shot_checks(clip, shot, series, calls, seen, samples)
        if seen is not None:
            faces_in.record(engine, take_id, seen)
    if not judged:
        record(engine, take_id, checks)
    return Verdict(take_id, checks)


def _known(engine: Engine, series: Series, take_id: int) -> tuple[list[Check], bool]:
    """The stored checks of a take under today's thresholds, and whether its rows already say so; none unless
    every picture check was scored by the extractor the series names now (and faces looked for, if it asks)."""
    scene = extractor_for(series.qc.extractor).name
    face = face_extractor_for(series.qc.faces).name if series.qc.faces else None
    wanted = {"location": scene, "seams": scene, "identity": face or scene, "unknown_faces": face}
    with session_scope(engine) as session:
        rows = session.scalars(select(models.QCResult).where(models.QCResult.take_id == take_id,
                                                             models.QCResult.check.not_in(CROSS_SHOT))).all()
        names = {row.check for row in rows}
        if not rows or any(row.check in wanted and row.extractor != wanted[row.check] for row in rows) or (
                face is not None and "unknown_faces" not in names):
            return [], False
        checks = [Check(row.check, row.score, series.qc.thresholds[row.check], row.reason, row.extractor)
                  for row in rows]
        return checks, all(row.threshold == check.threshold for row, check in zip(rows, checks))


# Across shots


def sample_frames(clip: Path, count: int = 3, height: int = ANALYSIS_HEIGHT) -> np.ndarray:
    """The frames `sample` picks (first, middle, last), at the analysis height, decoding no others to pictures."""
    info = media.probe(clip)
    if not info.frames:
        frames, _ = decode(clip, height)
        return np.stack(sample(frames, count))
    picks = np.linspace(0, info.frames - 1, min(count, info.frames)).round().astype(int)
    wanted = sorted(set(picks.tolist()))
    width = max(2, round(info.width * height / info.height / 2) * 2)
    select = "+".join(f"eq(n\\,{number})" for number in wanted)
    done = subprocess.run(
        [media.ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(clip), "-vf",
         f"select={select},scale={width}:{height}:flags=area", "-vsync", "passthrough", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"], capture_output=True,
    )
    frames = np.frombuffer(done.stdout, dtype=np.uint8).reshape(-1, height, width, 3)
    if done.returncode or len(frames) != len(wanted):
        raise media.MediaError(f"{clip}: cannot read frames {wanted}: {done.stderr.decode(errors='replace')[-300:]}")
    return np.stack([frames[wanted.index(number)] for number in picks])


def samples_file(cache_dir: Path, sha256: str) -> Path:
    """Where a take's sampled frames are kept, by the take's hash: a render after an edit decodes only the new
    takes, and a take checked on its own (`check_take`) leaves them for the checks across shots."""
    return cache_dir / "samples" / f"{sha256}-{ANALYSIS_HEIGHT}.npy"


def _keep(path: Path, frames: np.ndarray) -> None:
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.save(handle, frames, allow_pickle=False)


def _samples(clip: Path, sha256: str, cache_dir: Path | None) -> np.ndarray:
    kept = samples_file(cache_dir, sha256) if cache_dir else None
    if kept is not None and kept.is_file():
        return np.load(kept, allow_pickle=False)
    frames = sample_frames(clip)
    if kept is not None:
        _keep(kept, frames)
    return frames


@cache
def _extractor_code(module: str) -> str:
    """The hash of the module an extractor is written in: a kept score is the score of this code."""
    return assets.sha256_file(Path(sys.modules[module].__file__))


def check_episode(engine: Engine, series: Series, shotlist: ShotList, clips: dict[str, tuple[int, Path, str]],
                  cache_dir: Path | None = None) -> list[str]:
    """Continuity across each cut inside a scene (last frame of a shot against the first of the next) and each
    shot's set against the other shots of its scene; `clips` maps shot id → (selected take id, clip, its sha256).
    Returns a warning per failed check; the rows go on the selected takes, so the edit marks them.

    Each pair's likeness is kept in `cache_dir` under the two takes' hashes and the extractor (with its code), and
    each take's sampled frames under its hash: after a retake only the pairs with the new take are scored, and only
    the takes in those pairs are decoded."""
    if not series.qc.enabled:
        return []
    extractor = extractor_for(series.qc.extractor)
    judge = [extractor.name, _extractor_code(type(extractor).__module__), ANALYSIS_HEIGHT]
    features: dict[str, tuple[object, ...]] = {}

    def likeness(kind: str, one: str, other: str, frames: tuple[int, int]) -> float:
        key = canonical_sha256([*judge, kind, frames, clips[one][2], clips[other][2]])
        kept = cache_dir / "pairs" / f"{key}.json" if cache_dir else None
        if kept is not None and kept.is_file():
            return float(json.loads(kept.read_text())["score"])
        for shot_id in (one, other):
            if shot_id not in features:
                _, clip, sha256 = clips[shot_id]
                features[shot_id] = tuple(extractor.features(frame) for frame in _samples(clip, sha256, cache_dir))
        score = extractor.similarity(features[one][frames[0]], features[other][frames[1]])
        if kept is not None:
            atomic_write_text(kept, json.dumps({"score": score}))
        return score

    results: dict[str, list[Check]] = {}
    shots = [shot for shot in shotlist.shots if shot.id in clips]
    for before, after in zip(shots, shots[1:]):
        if before.scene != after.scene:
            continue
        results.setdefault(after.id, []).append(Check(
            "continuity", likeness("continuity", before.id, after.id, (2, 0)), series.qc.thresholds["continuity"],
            f"last frame of {before.id} against the first of {after.id}", extractor.name))
    for shot in shots:
        others = [other for other in shots if other.scene == shot.scene and other.id != shot.id]
        if not others:
            continue
        score = float(np.mean([likeness("scene_location", *sorted((shot.id, other.id), key=lambda i: clips[i][2]),
                                        (1, 1)) for other in others]))
        results.setdefault(shot.id, []).append(Check(
            "scene_location", score, series.qc.thresholds["scene_location"],
            f"middle frame against {len(others)} other shot(s) of scene {shot.scene}", extractor.name))
    warnings = []
    for shot_id, checks in results.items():
        record(engine, clips[shot_id][0], checks)
        warnings += [f"shot {shot_id}: QC {c.name} {c.score:.2f} < {c.threshold:.2f} ({c.reason})"
                     for c in checks if not c.passed]
    return warnings
