"""Who is in a take, by their faces. Each character's face bank is the faces of its reference images (one face
each; `aigms bible check` reports the others), cached by the image's sha256. In a take, faces are found in every
`qc.face_every`-th frame, tracked through the shot, and each track is given to one of the shot's cast by best match
(the Hungarian assignment, when several characters share a shot); a track nobody in the cast takes is an unknown
face. A character scores the mean likeness of its track's faces to its bank.

Faceless characters (`faceless: true`), characters whose references show no face and characters whose face is not
found in the take are left to the silhouette check (`checks.identity`)."""

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import ffmpeg
import numpy as np
from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production.qc.faces import Face, FaceExtractor
from aigms.production.store import media
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

SAMPLE_HEIGHT = 720  # frames are decoded at most this tall to look for faces
TRACK_OVERLAP = 0.2  # a face overlapping a track's last box this much (IoU) continues it
MATCH = 0.5  # likeness at the model's same-person line


# The bible's faces


@dataclass(frozen=True)
class ReferenceFaces:
    character: str
    path: Path  # relative to series.yaml, as the bible names it
    faces: list[Face]

    @property
    def problem(self) -> str | None:
        """Why this reference adds nothing to the character's face bank."""
        if not self.faces:
            return "no face found"
        return f"{len(self.faces)} faces found; crop it to the character" if len(self.faces) > 1 else None


def reference_picture(path: Path) -> np.ndarray:
    """RGB; a transparent background becomes mid-grey, which no detector mistakes for skin."""
    image = Image.open(path)
    if image.mode in ("RGBA", "LA", "P"):
        canvas = Image.new("RGBA", image.size, (128, 128, 128, 255))
        canvas.alpha_composite(image.convert("RGBA"))
        image = canvas
    return np.asarray(image.convert("RGB"))


_known: dict[tuple[str, str], list[Face]] = {}
_known_lock = threading.Lock()


def reference_faces(path: Path, extractor: FaceExtractor, engine: Engine | None = None) -> list[Face]:
    """The faces of one reference image, computed once per image content and extractor: kept for the process and,
    with a database, in `reference_faces` for every later run."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    key = (digest, extractor.name)
    with _known_lock:
        if key in _known:
            return _known[key]
    found = _stored(engine, *key) if engine is not None else None
    if found is None:
        found = extractor.faces(reference_picture(path))
        if engine is not None:
            _store(engine, digest, extractor.name, found)
    with _known_lock:
        _known[key] = found
    return found


def _stored(engine: Engine, digest: str, extractor: str) -> list[Face] | None:
    with session_scope(engine) as session:
        row = session.scalar(select(models.ReferenceFaces).filter_by(sha256=digest, extractor=extractor))
        return None if row is None else [Face(tuple(face["box"]), face["score"], np.asarray(face["embedding"],
                                                                                            dtype=np.float32))
                                         for face in row.faces]


def _store(engine: Engine, digest: str, extractor: str, faces: list[Face]) -> None:
    rows = [{"box": list(face.box), "score": round(face.score, 4), "embedding": _vector(face.embedding)}
            for face in faces]
    try:
        with session_scope(engine) as session:
            session.add(models.ReferenceFaces(sha256=digest, extractor=extractor, faces=rows))
    except IntegrityError:
        pass  # another thread stored the same image's faces first


def _vector(embedding: np.ndarray) -> list[float]:
    return [round(float(value), 6) for value in embedding]


def bible_faces(series: Series, extractor: FaceExtractor, engine: Engine | None = None) -> list[ReferenceFaces]:
    """Every reference image of every character who has a face, with the faces found in it."""
    return [ReferenceFaces(key, path, reference_faces(series.root / path, extractor, engine))
            for key, character in series.characters.items() if not character.faceless
            for path in character.references]


def face_bank(series: Series, keys: list[str], extractor: FaceExtractor,
              engine: Engine | None = None) -> dict[str, list[np.ndarray]]:
    """The embeddings of the references that show exactly one face, per character; faceless characters and those
    without such a reference are left out."""
    bank: dict[str, list[np.ndarray]] = {}
    for key in keys:
        character = series.characters[key]
        if character.faceless:
            continue
        faces = [reference_faces(series.root / path, extractor, engine) for path in character.references]
        embeddings = [found[0].embedding for found in faces if len(found) == 1]
        if embeddings:
            bank[key] = embeddings
    return bank


# Frames


def sample_frames(frame_count: int, every: int) -> list[int]:
    """Every `every`-th frame from the first, and the last."""
    picks = list(range(0, frame_count, every))
    if frame_count and picks[-1] != frame_count - 1:
        picks.append(frame_count - 1)
    return picks


def decode_frames(clip: Path, indices: list[int], height: int = SAMPLE_HEIGHT) -> np.ndarray:
    """The frames at `indices`, RGB, at most `height` tall (never enlarged)."""
    info = media.probe(clip)
    height = min(height, info.height or height)
    width = max(2, round((info.width or height) * height / (info.height or height) / 2) * 2)
    wanted = "+".join(f"eq(n,{index})" for index in indices)
    data, _ = (
        ffmpeg.input(str(clip)).filter("select", wanted).filter("scale", width, height, flags="area")
        .output("pipe:", format="rawvideo", pix_fmt="rgb24", vsync="passthrough")
        .run(cmd=media.ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    )
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, height, width, 3)


# Tracks and the cast


@dataclass
class Track:
    """One face followed through the sampled frames (positions in the sample, not frame numbers)."""

    positions: list[int] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)

    def mean_embedding(self) -> np.ndarray:
        return np.mean([face.embedding for face in self.faces], axis=0)


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two boxes."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def track(per_frame: list[list[Face]], extractor: FaceExtractor) -> list[Track]:
    """Faces linked frame to frame: a face continues the track whose last face it overlaps, or, having moved, the
    track whose last face the model calls the same person; each frame's links are one assignment, so two tracks
    never take the same face. A face the model no longer recognises stays in the track it overlaps: a face that
    changes in place is the drift the check is for."""
    tracks: list[Track] = []
    for position, faces in enumerate(per_frame):
        links = np.zeros((len(faces), len(tracks)))
        for i, face in enumerate(faces):
            for j, existing in enumerate(tracks):
                last = existing.faces[-1]
                iou = overlap(face.box, last.box) if existing.positions[-1] == position - 1 else 0.0
                same = extractor.likeness(face.embedding, last.embedding)
                if iou >= TRACK_OVERLAP or same >= MATCH:
                    links[i, j] = iou + same
        taken: set[int] = set()
        if links.size:
            for i, j in zip(*_best_pairs(links)):
                if links[i, j] > 0:
                    tracks[j].positions.append(position)
                    tracks[j].faces.append(faces[i])
                    taken.add(i)
        tracks += [Track([position], [face]) for i, face in enumerate(faces) if i not in taken]
    return tracks


def _best_pairs(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns paired for the largest sum (the Hungarian assignment). scipy.optimize is imported here:
    it takes ~0.35 s, and every process that imports the flows would pay it, looking for faces or not."""
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(scores, maximize=True)


def bank_likeness(faces: list[Face], embeddings: list[np.ndarray], extractor: FaceExtractor) -> list[float]:
    """Each face's likeness to the closest face of a bank."""
    return [max(extractor.likeness(face.embedding, reference) for reference in embeddings) for face in faces]


def assign(bank: dict[str, list[np.ndarray]], tracks: list[Track], extractor: FaceExtractor) -> dict[str, int]:
    """Character → track index, maximising the summed mean likeness (Hungarian assignment): with two characters in
    a shot, each face goes to the one it resembles most, wherever they stand."""
    keys = list(bank)
    if not keys or not tracks:
        return {}
    scores = np.array([[float(np.mean(bank_likeness(t.faces, bank[key], extractor))) for t in tracks] for key in keys])
    rows, columns = _best_pairs(scores)
    return {keys[row]: int(column) for row, column in zip(rows, columns)}


@dataclass(frozen=True)
class CharacterIdentity:
    character: str
    similarity: float  # mean likeness of the character's faces to its bank, 0.5 at the model's same-person line
    matched: int  # faces at or above that line
    seen: int  # sampled frames the character's face is in
    sampled: int
    embedding: np.ndarray  # mean of the character's face embeddings in the take

    @property
    def match_rate(self) -> float:
        return self.matched / self.seen if self.seen else 0.0


@dataclass(frozen=True)
class FacesInTake:
    extractor: str
    frames: list[int]  # the frame numbers sampled
    first_faces: list[np.ndarray | None]  # the most confident face of each sampled frame (VGoT's per-frame face)
    characters: dict[str, CharacterIdentity]  # the cast characters whose faces were found
    unknown: list[Track]  # faces nobody in the cast took, seen in at least two sampled frames
    banked: frozenset[str]  # the cast characters that have a face bank

    @property
    def unknown_share(self) -> float:
        """The share of sampled frames showing a face that is not in the cast."""
        frames = {position for found in self.unknown for position in found.positions}
        return len(frames) / len(self.frames) if self.frames else 0.0


def watch(clip: Path, shot: Shot, series: Series, extractor: FaceExtractor,
          engine: Engine | None = None) -> FacesInTake:
    """Faces of a take: sampled, tracked, assigned to the shot's cast and scored against the bible."""
    info = media.probe(clip)
    indices = sample_frames(info.frames or 1, series.qc.face_every)
    frames = decode_frames(clip, indices)
    per_frame = [extractor.faces(frame) for frame in frames]
    tracks = track(per_frame, extractor)
    bank = face_bank(series, [key for key in shot.characters if key in series.characters], extractor, engine)
    assigned = assign(bank, tracks, extractor)
    characters = {}
    for key, index in assigned.items():
        likeness = bank_likeness(tracks[index].faces, bank[key], extractor)
        characters[key] = CharacterIdentity(key, float(np.mean(likeness)), sum(value >= MATCH for value in likeness),
                                            len(tracks[index].positions), len(frames), tracks[index].mean_embedding())
    taken = set(assigned.values())
    unknown = [found for index, found in enumerate(tracks)
               if index not in taken and len(found.positions) >= min(2, len(frames))]
    first = [faces[0].embedding if faces else None for faces in per_frame]
    return FacesInTake(extractor.name, indices[:len(frames)], first, characters, unknown, frozenset(bank))


def record(engine: Engine, take_id: int, seen: FacesInTake) -> None:
    """The take's faces for the research metrics and the series chart, replacing earlier ones."""
    with session_scope(engine) as session:
        session.execute(delete(models.IdentityScore).where(models.IdentityScore.take_id == take_id))
        session.execute(delete(models.TakeFaces).where(models.TakeFaces.take_id == take_id))
        session.add(models.TakeFaces(take_id=take_id, extractor=seen.extractor, frames=seen.frames,
                                     faces=[None if face is None else _vector(face) for face in seen.first_faces],
                                     unknown=len(seen.unknown)))
        for found in seen.characters.values():
            session.add(models.IdentityScore(
                take_id=take_id, character=found.character, extractor=seen.extractor,
                similarity=round(found.similarity, 4), matched=found.matched, seen=found.seen,
                sampled=found.sampled, embedding=_vector(found.embedding)))
