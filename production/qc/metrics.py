"""The research metrics of identity, computed as their papers define them over the cut-in takes of an episode and of
the whole series, stored in `identity_metrics`, and shown beside the figures the papers report for their systems.

- VGoT (Zheng et al., "VideoGen-of-Thought", arXiv:2412.02259; definitions as in its evaluation code,
  `evaluate/code/eval_face.py`): each frame's first detected face is embedded (a frame without a face counts as a
  zero vector, whose similarity is 0). **Within-shot face consistency** (WS-FC) is the mean cosine similarity of
  consecutive frames' faces in a shot, averaged over the shots of a story. **Cross-shot face consistency** (CS-FC)
  pairs the last 8 frames of a shot with the first 8 of the next, frame by frame, and averages the cosine
  similarities over the pairs and then over the cuts. We read the frames `qc.face_every` samples (every frame with
  `face_every: 1`, VGoT's own setting) and pair each shot with the one that follows it in the cut.
- DreamFactory (Xie et al., "DreamFactory: Pioneering Multi-Scene Long Video Generation with a Multi-Agent
  Framework", arXiv:2408.11788) proposes the **cross-scene face distance** (CSFD, lower is better): the face distance
  between a character's appearances in different scenes of a long video. Here: the Euclidean distance between the
  character's mean face embedding in each scene (dlib's face distance with the `dlib` extractor), averaged over every
  pair of scenes and then over the characters. The paper's text was not at hand to check its exact pairing of
  scenes, so it reports no figures beside ours."""

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aigms.db import models

CROSS_SHOT_FRAMES = 8  # VGoT's window at each side of a cut
WITHIN_SHOT, CROSS_SHOT, CROSS_SCENE = "vgot_within_shot_fc", "vgot_cross_shot_fc", "dreamfactory_csfd"
METRICS = {
    WITHIN_SHOT: "within-shot face consistency (VGoT WS-FC, ↑)",
    CROSS_SHOT: "cross-shot face consistency (VGoT CS-FC, ↑)",
    CROSS_SCENE: "cross-scene face distance (DreamFactory CSFD, ↓)",
}
# VGoT's comparison as its paper and repository README report it (arXiv:2412.02259, Table 1).
PAPER_FIGURES: dict[str, dict[str, float]] = {
    WITHIN_SHOT: {"VGoT": 0.8138, "CogVideo": 0.6099, "VideoCrafter2": 0.5569, "EasyAnimate": 0.4705,
                  "VideoCrafter1": 0.3706},
    CROSS_SHOT: {"VGoT": 0.2688, "VideoCrafter2": 0.0686, "VideoCrafter1": 0.0350, "EasyAnimate": 0.0268,
                 "CogVideo": 0.0222},
    CROSS_SCENE: {},
}


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None  # None: nothing to measure (no faces, a single shot or scene)
    count: int  # shots, cuts or characters it averages over
    extractor: str


@dataclass(frozen=True)
class CutShot:
    """A shot as cut in: its faces per sampled frame and its characters' mean faces."""

    scene: tuple[str, object]  # (episode code, scene number): scenes are told apart across episodes
    frames: list[int]
    faces: list[np.ndarray | None]
    characters: dict[str, np.ndarray]
    extractor: str


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """VGoT's frame similarity: 1 − cosine distance, 0 where either frame has no face."""
    if a is None or b is None:
        return 0.0
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


def within_shot(faces: list[np.ndarray | None]) -> float:
    """Mean similarity of consecutive frames' faces; 0 for a shot of one sampled frame."""
    pairs = [cosine(a, b) for a, b in zip(faces, faces[1:])]
    return float(np.mean(pairs)) if pairs else 0.0


def cross_shot(before: CutShot, after: CutShot) -> float | None:
    """The last 8 frames of a shot against the first 8 of the next, frame by frame."""
    last = before.frames[-1] if before.frames else 0
    tail = [face for frame, face in zip(before.frames, before.faces) if frame > last - CROSS_SHOT_FRAMES]
    head = [face for frame, face in zip(after.frames, after.faces) if frame < CROSS_SHOT_FRAMES]
    pairs = [cosine(a, b) for a, b in zip(tail, head)]
    return float(np.mean(pairs)) if pairs else None


def cross_scene_distance(shots: list[CutShot]) -> tuple[float | None, int]:
    """Mean over characters of the mean distance between their faces in every two scenes."""
    per_character: dict[str, dict[tuple[str, object], list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    for shot in shots:
        for key, embedding in shot.characters.items():
            per_character[key][shot.scene].append(embedding)
    distances = []
    for scenes in per_character.values():
        means = [np.mean(embeddings, axis=0) for embeddings in scenes.values()]
        pairs = [float(np.linalg.norm(a - b)) for a, b in combinations(means, 2)]
        if pairs:
            distances.append(float(np.mean(pairs)))
    return (float(np.mean(distances)) if distances else None), len(distances)


def story_metrics(stories: list[list[CutShot]]) -> list[Metric]:
    """The three metrics over stories (an episode is one story, a series several), averaged the way VGoT averages
    its stories: per story first, then over the stories."""
    extractor = next((shot.extractor for story in stories for shot in story), "")
    within = [float(np.mean([within_shot(shot.faces) for shot in story])) for story in stories if story]
    cuts = [[value for value in (cross_shot(a, b) for a, b in zip(story, story[1:])) if value is not None]
            for story in stories]
    across = [float(np.mean(values)) for values in cuts if values]
    distance, characters = cross_scene_distance([shot for story in stories for shot in story])
    return [Metric(WITHIN_SHOT, float(np.mean(within)) if within else None, sum(len(s) for s in stories), extractor),
            Metric(CROSS_SHOT, float(np.mean(across)) if across else None, sum(len(c) for c in cuts), extractor),
            Metric(CROSS_SCENE, distance, characters, extractor)]


def cut_shots(session: Session, episode: models.Episode) -> list[CutShot]:
    """The episode's cut-in takes whose faces were looked for, in story order."""
    take_ids = [shot.selected_take_id for shot in episode.shots if shot.selected_take_id is not None]
    faces = {row.take_id: row for row in session.scalars(
        select(models.TakeFaces).where(models.TakeFaces.take_id.in_(take_ids)))}
    characters: dict[int, dict[str, np.ndarray]] = defaultdict(dict)
    for row in session.scalars(select(models.IdentityScore).where(models.IdentityScore.take_id.in_(take_ids))):
        characters[row.take_id][row.character] = np.asarray(row.embedding, dtype=np.float32)
    shots = []
    for shot in episode.shots:
        row = faces.get(shot.selected_take_id)
        if row is not None:
            shots.append(CutShot((episode.code, shot.spec.get("scene")), list(row.frames),
                                 [None if face is None else np.asarray(face, dtype=np.float32) for face in row.faces],
                                 characters[row.take_id], row.extractor))
    return shots


def episodes_in_order(session: Session, series_id: str) -> list[models.Episode]:
    return list(session.scalars(select(models.Episode).join(models.Season, models.Episode.season_id == models.Season.id)
                                .where(models.Episode.series_id == series_id)
                                .order_by(models.Season.number, models.Episode.number, models.Episode.code)))


def measure(session: Session, episode: models.Episode) -> tuple[list[Metric], list[Metric]]:
    """The metrics of an episode and of its whole series, returned and, once faces have been looked for in the
    series, stored (replacing earlier ones)."""
    episodes = episodes_in_order(session, episode.series_id)
    stories = {row.id: cut_shots(session, row) for row in episodes}
    own = story_metrics([stories[episode.id]])
    whole = story_metrics([story for story in stories.values() if story])
    if any(stories.values()):
        store(session, episode.series_id, episode.id, own)
        store(session, episode.series_id, None, whole)
    return own, whole


def store(session: Session, series_id: str, episode_id: int | None, metrics: list[Metric]) -> None:
    session.execute(delete(models.IdentityMetric).where(models.IdentityMetric.series_id == series_id,
                                                        models.IdentityMetric.episode_id.is_(None) if episode_id is None
                                                        else models.IdentityMetric.episode_id == episode_id))
    session.add_all(models.IdentityMetric(series_id=series_id, episode_id=episode_id, metric=metric.name,
                                          value=None if metric.value is None else round(metric.value, 4),
                                          count=metric.count, extractor=metric.extractor) for metric in metrics)


@dataclass(frozen=True)
class StoredMetric:
    metric: str
    episode: str | None  # None: the whole series
    value: float | None
    count: int
    extractor: str


def stored(session: Session, series_id: str) -> list[StoredMetric]:
    """The metrics last measured (`aigms qc`), per episode in story order, then the whole series."""
    episodes = {episode.id: episode.code for episode in episodes_in_order(session, series_id)}
    position = {code: index for index, code in enumerate(episodes.values())}
    rank = {name: index for index, name in enumerate(METRICS)}
    rows = session.scalars(select(models.IdentityMetric).where(models.IdentityMetric.series_id == series_id)).all()
    found = [StoredMetric(row.metric, episodes.get(row.episode_id), row.value, row.count, row.extractor)
             for row in rows if row.episode_id is None or row.episode_id in episodes]
    return sorted(found, key=lambda row: (row.episode is None, position.get(row.episode, 0), rank[row.metric]))
