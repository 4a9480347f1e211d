"""Faces in a picture, found, aligned and embedded, for the identity check. Two plugins, named by `qc.faces`:

- `dlib`: dlib's HOG face detector, its 68-point landmarks and its ResNet face descriptor (128-d), whose weights
  ship inside the `face-recognition-models` package (`pip install 'aigms[faces]'`): nothing is downloaded.
- `insightface:<folder>`: an ArcFace recognition model (ONNX, 112 × 112 input, e.g. insightface's `w600k_r50.onnx`)
  that a studio keeps in a local folder, run by onnxruntime; faces are found and their five alignment points placed
  by dlib's detector and landmarks.

An extractor's `likeness` of two faces lies in [0, 1] and is 0.5 exactly at its model's same-person line, so the
identity threshold means the same whichever model judges; the research metrics use the raw embeddings."""

import importlib.util
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from aigms.schemas.errors import InputError

DETECT_HEIGHT = 720  # taller pictures are scaled down to find faces: a face then needs ~80 px here (120 px at 1080p)
MIN_DETECTION_SCORE = 0.4  # HOG's margin; on the astronaut a suit fires at 0.17, faces score above 1
DLIB_MATCH_DISTANCE = 0.6  # dlib's published same-person line for its descriptor (99.38 % on LFW)
ARCFACE_MATCH_COSINE = 0.3  # a middle line; tune the identity threshold on the studio's own footage
ARCFACE_SIZE = 112
# Where ArcFace models expect the eyes, nose tip and mouth corners in their 112 × 112 input (insightface's template).
ARCFACE_POINTS = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                           [70.7299, 92.2041]], dtype=np.float32)
INSTALL_FIX = "install the extra: pip install 'aigms[faces]' (dlib-bin and face-recognition-models)"


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in the picture's pixels
    score: float  # the detector's confidence: the first face of a frame is the most confident
    embedding: np.ndarray

    @property
    def area(self) -> int:
        return max(0, self.box[2] - self.box[0]) * max(0, self.box[3] - self.box[1])


class FaceExtractor(Protocol):
    name: str

    def faces(self, picture: np.ndarray) -> list[Face]: ...

    def likeness(self, a: np.ndarray, b: np.ndarray) -> float: ...


def _model_file(name: str) -> str:
    """A weights file of the `face-recognition-models` package, found without importing it (its `__init__` needs
    setuptools' pkg_resources, gone from new setuptools)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"qc.faces needs the face-recognition-models package: {INSTALL_FIX}")
    path = Path(spec.submodule_search_locations[0]) / "models" / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from face-recognition-models: reinstall it ({INSTALL_FIX})")
    return str(path)


class Landmarks:
    """Frontal faces and their 68 landmarks, by dlib. dlib's calls hold the interpreter lock and its network keeps
    scratch state, so one lock serialises them (threads gain nothing here anyway)."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError:
            raise RuntimeError(f"qc.faces needs dlib: {INSTALL_FIX}") from None
        self.dlib = dlib
        self.lock = threading.Lock()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(_model_file("shape_predictor_68_face_landmarks.dat"))

    def find(self, picture: np.ndarray) -> list[tuple[tuple[int, int, int, int], float, Any]]:
        """(box, score, dlib landmarks) per face, most confident first; call while holding `lock`."""
        scale = min(1.0, DETECT_HEIGHT / picture.shape[0])
        small = picture if scale == 1.0 else cv2.resize(
            picture, (round(picture.shape[1] * scale), round(picture.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        rects, scores, _kinds = self._detector.run(small, 0, 0.0)
        found = []
        for rect, score in sorted(zip(rects, scores), key=lambda pair: -pair[1]):
            if score < MIN_DETECTION_SCORE:
                continue
            box = tuple(int(round(value / scale)) for value in (rect.left(), rect.top(), rect.right(), rect.bottom()))
            shape = self._predictor(picture, self.dlib.rectangle(*box))
            found.append((box, float(score), shape))
        return found


@cache
def landmarks() -> Landmarks:
    return Landmarks()


def _picture(picture: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(picture[..., :3], dtype=np.uint8)


class Dlib:
    """dlib's ResNet descriptor (Euclidean distance below 0.6: the same person), on faces it aligns itself."""

    name = "dlib"

    def __init__(self) -> None:
        self._landmarks = landmarks()
        self._net = self._landmarks.dlib.face_recognition_model_v1(
            _model_file("dlib_face_recognition_resnet_model_v1.dat"))

    def faces(self, picture: np.ndarray) -> list[Face]:
        picture = _picture(picture)
        with self._landmarks.lock:
            found = self._landmarks.find(picture)
            if not found:
                return []
            shapes = self._landmarks.dlib.full_object_detections()
            for _box, _score, shape in found:
                shapes.append(shape)
            descriptors = self._net.compute_face_descriptor(picture, shapes)
        return [Face(box, score, np.asarray(descriptor, dtype=np.float32))
                for (box, score, _shape), descriptor in zip(found, descriptors)]

    def likeness(self, a: np.ndarray, b: np.ndarray) -> float:
        distance = float(np.linalg.norm(a - b))
        return float(np.clip(1.0 - distance / (2 * DLIB_MATCH_DISTANCE), 0.0, 1.0))


def five_points(shape: Any) -> np.ndarray:
    """The eye centres, nose tip and mouth corners ArcFace aligns on, from dlib's 68 landmarks."""
    points = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float32)
    return np.stack([points[36:42].mean(axis=0), points[42:48].mean(axis=0), points[30], points[48], points[54]])


def align(picture: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The face warped (rotation, uniform scale, shift) so its five points land on ArcFace's template, 112 × 112."""
    matrix, _ = cv2.estimateAffinePartial2D(points.astype(np.float32), ARCFACE_POINTS, method=cv2.LMEDS)
    return cv2.warpAffine(picture, matrix, (ARCFACE_SIZE, ARCFACE_SIZE), borderValue=0)


def arcface_input(crops: list[np.ndarray]) -> np.ndarray:
    """RGB crops to ArcFace's input: N × 3 × 112 × 112 float32, (pixel − 127.5) / 127.5."""
    return ((np.stack(crops).astype(np.float32) - 127.5) / 127.5).transpose(0, 3, 1, 2).copy()


class ArcFace:
    """An ArcFace ONNX model from a local folder; likeness is its cosine similarity, 0.5 at `ARCFACE_MATCH_COSINE`."""

    def __init__(self, folder: Path, match: float = ARCFACE_MATCH_COSINE) -> None:
        import onnxruntime

        self.name = f"insightface:{folder.name}"
        self.match = match
        self._session, self._input = _recognition_model(folder, onnxruntime)
        self._batch = self._session.get_inputs()[0].shape[0]
        self._landmarks = landmarks()

    def faces(self, picture: np.ndarray) -> list[Face]:
        picture = _picture(picture)
        with self._landmarks.lock:
            found = self._landmarks.find(picture)
        if not found:
            return []
        crops = [align(picture, five_points(shape)) for _box, _score, shape in found]
        return [Face(box, score, vector) for (box, score, _shape), vector in zip(found, self.embed(crops))]

    def embed(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Unit embeddings of aligned 112 × 112 RGB crops (one at a time when the model's batch is fixed at 1)."""
        batches = [crops] if not isinstance(self._batch, int) or self._batch != 1 else [[crop] for crop in crops]
        vectors = [row for batch in batches
                   for row in self._session.run(None, {self._input: arcface_input(batch)})[0]]
        return [(vector / max(float(np.linalg.norm(vector)), 1e-8)).astype(np.float32) for vector in vectors]

    def likeness(self, a: np.ndarray, b: np.ndarray) -> float:
        cosine = float(np.clip(a @ b, -1.0, 1.0))
        if cosine <= self.match:
            return 0.5 * (cosine + 1.0) / (self.match + 1.0)
        return 0.5 + 0.5 * (cosine - self.match) / (1.0 - self.match)


def _recognition_model(folder: Path, onnxruntime: Any) -> tuple[Any, str]:
    """The folder's ONNX model that takes 3 × 112 × 112 faces (a buffalo_l folder holds a detector and more)."""
    fix = "give qc.faces a folder holding an ArcFace ONNX model with a 3 × 112 × 112 input, e.g. w600k_r50.onnx"
    if not folder.is_dir():
        raise InputError(folder, None, "face model folder not found", fix)
    for path in sorted(folder.glob("*.onnx")):
        try:
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 — a file onnxruntime cannot read is not the model looked for
            continue
        inputs = session.get_inputs()
        if len(inputs) == 1 and list(inputs[0].shape[1:]) == [3, ARCFACE_SIZE, ARCFACE_SIZE]:
            return session, inputs[0].name
    raise InputError(folder, None, "no ONNX model with a 3 × 112 × 112 input (ArcFace) in this folder", fix)


@cache
def face_extractor_for(spec: str) -> Dlib | ArcFace:
    """`dlib` or `insightface:<folder>`; a model is loaded once per process."""
    kind, _, folder = spec.partition(":")
    if kind == "dlib" and not folder:
        return Dlib()
    if kind == "insightface" and folder:
        return ArcFace(Path(folder))
    raise ValueError(f"unknown face extractor {spec!r}; use dlib or insightface:<folder>")
