"""Real photographs of two people that ship inside packages, nothing downloaded: scikit-image's astronaut (Eileen
Collins) and matplotlib's Grace Hopper; head-and-shoulders crops of them, and frames that stand them in a plain
set at a size, angle and light of the test's choosing."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance


@cache
def astronaut() -> Image.Image:
    import skimage.data

    return Image.fromarray(skimage.data.astronaut())


@cache
def hopper() -> Image.Image:
    from matplotlib import cbook

    return Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")


def astronaut_head() -> Image.Image:
    """The face (dlib finds it at 179, 83 – 266, 170) with hair and collar: 190 × 210."""
    return astronaut().crop((128, 20, 318, 230))


def hopper_head() -> Image.Image:
    """The face (161, 137 – 376, 352) with cap and collar, shrunk to a face the astronaut's size: 190 × 210."""
    return hopper().crop((100, 40, 440, 416)).resize((190, 210), Image.LANCZOS)


def save(picture: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path


@dataclass(frozen=True)
class Standing:
    """A head in the frame: where its left edge stands (a share of the width), how big, turned and lit."""

    head: Image.Image
    x: float
    scale: float = 1.0
    angle: float = 0.0
    light: float = 1.0


def frames(people: list[Standing], count: int, width: int = 480, height: int = 270,
           step: int = 2) -> np.ndarray:
    """`count` frames of a grey-blue set with the heads in it, drifting `step` pixels a frame."""
    pictures = []
    for index in range(count):
        canvas = Image.new("RGB", (width, height), (70, 90, 110))
        for person in people:
            size = (round(person.head.width * person.scale), round(person.head.height * person.scale))
            head = person.head.resize(size, Image.LANCZOS)
            head = head.rotate(person.angle, resample=Image.BICUBIC, expand=False, fillcolor=(70, 90, 110))
            head = ImageEnhance.Brightness(head).enhance(person.light)
            top = max(0, (height - head.height) // 2)
            canvas.paste(head, (round(person.x * width) + index * step, top))
        pictures.append(np.asarray(canvas))
    return np.stack(pictures)
