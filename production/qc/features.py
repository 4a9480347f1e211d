"""What the consistency checks compare pictures with: feature extractors as plugins. The classical one needs no
weights (colour histograms, structural similarity, OpenCV's face cascades); CLIP and DINOv2 through transformers
are used when `series.yaml` names a local folder of their weights (`qc.extractor: clip:/models/clip`).

An extractor turns an RGB picture (uint8, height × width × 3) into features, and scores two features' likeness in
[0, 1]. Every score the checks store names the extractor that made it."""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from aigms.schemas.errors import InputError

ANALYSIS_HEIGHT = 144  # pictures are compared at this height: enough for colour and layout, cheap on 2 cores
LAB_BINS = (6, 12, 12)  # lightness, green–red, blue–yellow: greys stay in one bin, unlike hue
BIN_COUNT = LAB_BINS[0] * LAB_BINS[1] * LAB_BINS[2]
BATCH = 64  # pictures a neural extractor embeds in one forward pass

Box = tuple[int, int, int, int]  # x, y, width, height
Window = tuple[Box, np.ndarray | None]  # a part of a picture: its box, and an outline the box's size or None


class Extractor(Protocol):
    name: str

    def features(self, picture: np.ndarray, mask: np.ndarray | None = None) -> Any: ...

    def similarity(self, a: Any, b: Any) -> float: ...

    def region_similarities(self, reference: Any, picture: np.ndarray, windows: Sequence[Window]) -> np.ndarray:
        """Likeness of a reference (its `features`) to each part of a picture cut to its outline, where layout means
        nothing: a search scores thousands of windows of one frame, so they are asked for together."""
        ...


def shrink(picture: np.ndarray, height: int = ANALYSIS_HEIGHT) -> np.ndarray:
    if picture.shape[0] <= height:
        return picture
    width = max(1, round(picture.shape[1] * height / picture.shape[0]))
    return cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)


def colour_histogram(picture: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """CIELAB colours, normalised to sum 1: what colours a picture holds, wherever they are."""
    return lab_histogram(cv2.cvtColor(picture, cv2.COLOR_RGB2LAB), mask)


def lab_histogram(lab: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """`colour_histogram` of a picture already in CIELAB."""
    histogram = cv2.calcHist([lab], [0, 1, 2], mask, list(LAB_BINS), [0, 256, 0, 256, 0, 256]).ravel()
    return histogram / max(float(histogram.sum()), 1.0)


def colour_bins(picture: np.ndarray) -> np.ndarray:
    """Each pixel's bin of `colour_histogram`, numbered as its flattened histogram is: `calcHist`'s even bins of
    0–255, ⌊value × bins / 256⌋ per channel."""
    lab = cv2.cvtColor(picture, cv2.COLOR_RGB2LAB).astype(np.intp)
    lightness, green_red, blue_yellow = LAB_BINS
    return ((lab[..., 0] * lightness >> 8) * green_red + (lab[..., 1] * green_red >> 8)) * blue_yellow + (
        lab[..., 2] * blue_yellow >> 8)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) of two grey pictures of one size, Gaussian window σ = 1.5."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2, blur(a * b) - mu_a * mu_b
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(value.mean())


@dataclass(frozen=True)
class ClassicalFeatures:
    histogram: np.ndarray
    grey: np.ndarray  # a 64 × 36 thumbnail for the structure term


class Classical:
    """Colour histogram intersection (what is in the picture) averaged with SSIM of small grey thumbnails (where it
    is). No weights, ~1 ms a picture once decoded at the analysis size."""

    name = "classical"

    def features(self, picture: np.ndarray, mask: np.ndarray | None = None) -> ClassicalFeatures:
        picture = shrink(picture)
        if mask is not None and mask.shape != picture.shape[:2]:
            mask = cv2.resize(mask, (picture.shape[1], picture.shape[0]), interpolation=cv2.INTER_NEAREST)
        grey = cv2.resize(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA)
        return ClassicalFeatures(colour_histogram(picture, mask), grey)

    def similarity(self, a: ClassicalFeatures, b: ClassicalFeatures) -> float:
        colour = float(np.minimum(a.histogram, b.histogram).sum())
        return float(np.clip(0.5 * colour + 0.5 * max(ssim(a.grey, b.grey), 0.0), 0.0, 1.0))

    def region_similarities(self, reference: ClassicalFeatures, picture: np.ndarray,
                            windows: Sequence[Window]) -> np.ndarray:
        """Colour alone: histogram intersection. The picture's pixels are given their CIELAB bin once; the windows
        of one size and outline are then counted together, a gather and one `bincount`, where a histogram a
        window took ~17 µs of Python and OpenCV each (a silhouette search reads ~10,000 windows a take)."""
        used = np.flatnonzero(reference.histogram)  # a colour the reference lacks adds nothing to the intersection
        compact = np.full(BIN_COUNT, len(used), dtype=np.intp)
        compact[used] = np.arange(len(used))
        bins = compact[colour_bins(picture)]
        kept = reference.histogram[used]
        size = len(used) + 1
        height, width = bins.shape
        scores = np.zeros(len(windows))
        groups: dict[tuple[int, int, int], list[int]] = {}
        for index, ((x, y, w, h), outline) in enumerate(windows):
            groups.setdefault((min(w, width - x), min(h, height - y), id(outline)), []).append(index)
        for (w, h, _), members in groups.items():
            outline = windows[members[0]][1]
            rows, columns = np.nonzero(outline) if outline is not None else np.divmod(np.arange(w * h), w)
            offsets = rows * width + columns
            starts = np.array([windows[i][0][1] * width + windows[i][0][0] for i in members], dtype=np.intp)
            picked = bins.ravel()[starts[:, None] + offsets[None, :]] + (np.arange(len(members)) * size)[:, None]
            counts = np.bincount(picked.ravel(), minlength=len(members) * size).reshape(len(members), size)
            histograms = counts[:, :-1].astype(np.float32) / max(float(len(offsets)), 1.0)
            scores[members] = np.minimum(kept, histograms).sum(axis=1)
        return scores


class Neural:
    """Image embeddings from a local CLIP or DINOv2 folder; likeness is the cosine similarity mapped to [0, 1]."""

    def __init__(self, kind: str, folder: Path) -> None:
        import torch
        from transformers import AutoModel, CLIPModel

        if not folder.is_dir():
            raise InputError(folder, None, f"{kind} weights not found",
                             "give qc.extractor a folder saved with save_pretrained, or use 'classical'")
        self.name = f"{kind}:{folder.name}"
        self._torch = torch
        self._kind = kind
        self._model = (CLIPModel if kind == "clip" else AutoModel).from_pretrained(folder).eval()
        vision = self._model.config.vision_config if kind == "clip" else self._model.config
        self._size = int(vision.image_size)
        self._mean = np.array([0.48145466, 0.4578275, 0.40821073] if kind == "clip" else [0.485, 0.456, 0.406])
        self._std = np.array([0.26862954, 0.26130258, 0.27577711] if kind == "clip" else [0.229, 0.224, 0.225])

    def features(self, picture: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        return self._embed(self._pixels(picture, mask)[None])[0]

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.clip((1.0 + float(a @ b)) / 2.0, 0.0, 1.0))

    def region_similarities(self, reference: np.ndarray, picture: np.ndarray,
                            windows: Sequence[Window]) -> np.ndarray:
        """The windows go through the model in batches: one forward pass a window cost more in Python and torch's
        dispatch than in the model itself (~10,000 windows a take for the silhouette search)."""
        if not windows:
            return np.zeros(0)
        embeddings = np.concatenate([
            self._embed(np.stack([self._pixels(picture[y:y + h, x:x + w], outline)
                                  for (x, y, w, h), outline in windows[start:start + BATCH]]))
            for start in range(0, len(windows), BATCH)])
        return np.clip((1.0 + embeddings @ reference) / 2.0, 0.0, 1.0)

    def _pixels(self, picture: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """The model's input for one picture: outside the outline grey, resized, normalised, channels first."""
        if mask is not None:
            picture = np.where(mask[..., None] > 0, picture, 127).astype(np.uint8)
        resized = cv2.resize(picture, (self._size, self._size), interpolation=cv2.INTER_AREA) / 255.0
        return ((resized - self._mean) / self._std).transpose(2, 0, 1).astype(np.float32)

    def _embed(self, pixels: np.ndarray) -> np.ndarray:
        """Unit-length embeddings of a batch of inputs."""
        with self._torch.no_grad():
            tensor = self._torch.from_numpy(pixels)
            if self._kind == "clip":
                output = self._model.get_image_features(pixel_values=tensor)
                embedding = output if isinstance(output, self._torch.Tensor) else output.pooler_output
            else:
                embedding = self._model(pixel_values=tensor).pooler_output
        vectors = embedding.numpy()
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-8)


@cache
def extractor_for(spec: str) -> Classical | Neural:
    """`classical`, `clip:<folder>` or `dinov2:<folder>`; a neural model is loaded once per process."""
    kind, _, folder = spec.partition(":")
    if kind == "classical":
        return Classical()
    if kind in ("clip", "dinov2") and folder:
        return Neural(kind, Path(folder))
    raise ValueError(f"unknown QC extractor {spec!r}; use classical, clip:<folder> or dinov2:<folder>")


_per_thread = threading.local()


def _face_cascade() -> cv2.CascadeClassifier:
    """One per thread: a cascade keeps the scales of the picture it is searching, so threads sharing one, on
    pictures of different sizes, trip OpenCV's assertions (shots are checked in parallel)."""
    if not hasattr(_per_thread, "face_cascade"):
        _per_thread.face_cascade = cv2.CascadeClassifier(
            str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    return _per_thread.face_cascade


def faces(picture: np.ndarray) -> list[Box]:
    """Frontal faces (x, y, width, height) found by the cascade OpenCV ships; none in a flat drawing."""
    grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
    found = _face_cascade().detectMultiScale(grey, scaleFactor=1.15, minNeighbors=5, minSize=(24, 24))
    return [tuple(int(v) for v in box) for box in found]
