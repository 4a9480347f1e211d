"""The `animatic` backend: previs built from the series' own reference images — the location as a plate, the
characters composited in, the action or line as a caption, a slow push-in — at the delivery size and frame rate.
It needs no GPU and no weights, so a director can judge timing and coverage before any model time is spent.

Steps: 1. check the references, 2. compose one still a little larger than the frame, 3. let ffmpeg push in on it
and encode. Every clip is encoded with the same settings so the edit can join them without re-encoding."""

import random
import textwrap
from pathlib import Path
from typing import Any

import ffmpeg
from PIL import Image, ImageDraw, ImageFont

from aigms.production.store import media
from aigms.production.generate.generators import Capabilities, SegmentRequest
from aigms.schemas.errors import InputError
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

NAME = "animatic"
VERSION = "2"
# How much of the frame a standing figure fills, and how far the plate is pushed in, per shot size: a storyboard in
# which a close-up looks like a wide shot tells a director nothing.
FIGURE_HEIGHT = {"EWS": 0.35, "WS": 0.5, "MLS": 0.62, "MS": 0.75, "MCU": 1.0, "CU": 1.35, "ECU": 1.8}
PLATE_ZOOM = {"EWS": 1.0, "WS": 1.0, "MLS": 1.05, "MS": 1.15, "MCU": 1.3, "CU": 1.5, "ECU": 1.8}
CAPTION_BAND = 0.2


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    """Any length in one call, at the delivery's own size and frame rate; it reads the reference images itself."""
    return Capabilities(reference_images=True)


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {}


def release(model: str | None = None) -> None:
    """Nothing is kept warm."""


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    _render(request.shot, request.series, out, request.seed, request.frames, request.width, request.height,
            request.fps)
    return {"frames": request.frames, "width": request.width, "height": request.height, "fps": request.fps}


def render(shot: Shot, series: Series, out: Path, seed: int) -> None:
    """Write `out`: H.264, the delivery size and fps, exactly round(duration × fps) frames, no audio."""
    delivery = series.delivery
    frames = max(1, round(shot.duration * delivery.fps))
    _render(shot, series, out, seed, frames, delivery.width, delivery.height, delivery.fps)


def _render(shot: Shot, series: Series, out: Path, seed: int, frames: int, width: int, height: int, fps: int) -> None:
    # 1. Check the references, 2. compose the still
    still, rng, zoom = _composed(shot, series, seed, width, height)
    still_path = out.with_name(out.stem + ".still.png")
    still.save(still_path, compress_level=1)
    # 3. Push in and encode
    progress = f"(n/{max(frames - 1, 1)})"
    scale = f"(1+{zoom:.4f}*{progress})/(1+{zoom:.4f})"
    drift_x, drift_y = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5)
    try:
        stream = (
            ffmpeg.input(str(still_path), loop=1, framerate=fps)
            .filter("scale", w=f"max({width},ceil(iw*{scale}/2)*2)", h=f"max({height},ceil(ih*{scale}/2)*2)", eval="frame",
                    flags="bicubic")
            .filter("crop", width, height, x=f"(iw-{width})*(0.5+{drift_x:.3f}*{progress})",
                    y=f"(ih-{height})*(0.5+{drift_y:.3f}*{progress})")
            .filter("setsar", 1)
            .output(str(out), vframes=frames, r=fps, **media.HOUSE_ENCODE)
        )
        media.run(stream)
    finally:
        still_path.unlink(missing_ok=True)


def _composed(shot: Shot, series: Series, seed: int, width: int,
              height: int) -> tuple[Image.Image, random.Random, float]:
    """The still and the random state the push-in goes on with: the same seed and shot, the same clip."""
    plate, figures = _references(shot, series)
    rng = random.Random(f"{seed}:{shot.id}")
    zoom = rng.uniform(0.05, 0.08)
    return compose(shot, series, plate, figures, rng, zoom, width, height), rng, zoom


def first_frame(shot: Shot, series: Series, seed: int) -> Image.Image:
    """The picture the clip opens on, without encoding a clip: a storyboard panel."""
    width, height = series.delivery.width, series.delivery.height
    still, _, _ = _composed(shot, series, seed, width, height)
    return still.resize((width, height), Image.Resampling.LANCZOS)


def layout(shot: Shot, series: Series, width: int, height: int, seed: int) -> Image.Image:
    """The location's plate with the cast placed in it and no caption: where a keyframe model starts from, so
    the characters and the set look like their reference images."""
    plate, figures = _references(shot, series)
    canvas = _plate(plate, width, height, PLATE_ZOOM[shot.size])
    _place_figures(canvas, shot, figures, random.Random(f"{seed}:{shot.id}"))
    return canvas.convert("RGB")


def _references(shot: Shot, series: Series) -> tuple[Path | None, list[tuple[str, Path]]]:
    plate = None
    if shot.location:
        location = series.locations[shot.location]
        plate = series.root / location.references[0] if location.references else None
    figures = [
        (key, series.root / series.characters[key].references[0])
        for key in shot.characters if series.characters[key].references
    ]
    for path in [plate, *(path for _, path in figures)]:
        if path is not None and not path.is_file():
            raise InputError(path, None, "reference image not found", "restore the file or fix series.yaml")
    return plate, figures


def compose(shot: Shot, series: Series, plate: Path | None, figures: list[tuple[str, Path]], rng: random.Random,
            zoom: float, width: int, height: int) -> Image.Image:
    """The whole shot as one picture at (1 + zoom) × the frame, so the push-in never runs out of image."""
    width = round(width * (1 + zoom) / 2) * 2
    height = round(height * (1 + zoom) / 2) * 2
    canvas = _plate(plate, width, height, PLATE_ZOOM[shot.size])
    _place_figures(canvas, shot, figures, rng)
    _caption(canvas, shot, series)
    _slate(canvas, shot)
    return canvas.convert("RGB")


def _plate(path: Path | None, width: int, height: int, zoom: float) -> Image.Image:
    if path is None:
        gradient = Image.linear_gradient("L").resize((width, height)).convert("RGBA")
        return Image.blend(gradient, Image.new("RGBA", (width, height), (40, 50, 70, 255)), 0.6)
    image = Image.open(path).convert("RGBA")
    ratio = max(width / image.width, height / image.height) * zoom
    resized = image.resize((round(image.width * ratio), round(image.height * ratio)), Image.Resampling.LANCZOS)
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _place_figures(canvas: Image.Image, shot: Shot, figures: list[tuple[str, Path]], rng: random.Random) -> None:
    """Side by side, sized by the shot size; in a dialogue shot the speaker stands larger and in front. A figure
    taller than the frame (a close-up) is hung from the top, so the face is what is seen."""
    if not figures:
        return
    width, height = canvas.size
    ordered = sorted(figures, key=lambda item: item[0] == shot.speaker)
    slot = width / (len(ordered) + 1)
    for index, (key, path) in enumerate(ordered, start=1):
        figure = Image.open(path).convert("RGBA")
        target = height * FIGURE_HEIGHT[shot.size] * (1.0 if key == shot.speaker or not shot.speaker else 0.83)
        ratio = target / figure.height
        figure = figure.resize((max(1, round(figure.width * ratio)), max(1, round(target))),
                               Image.Resampling.LANCZOS)
        centre = slot * index + rng.uniform(-0.04, 0.04) * width
        left = round(centre - figure.width / 2)
        top = round(height * (1 - CAPTION_BAND * 0.5) - figure.height)
        if figure.height > height * (1 - CAPTION_BAND):
            top = round(height * 0.06)
        canvas.alpha_composite(figure, (max(-figure.width // 2, left), max(0, top)))


def _font(size: int, cjk: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = media.font_path(cjk)
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def _caption(canvas: Image.Image, shot: Shot, series: Series) -> None:
    width, height = canvas.size
    band = round(height * CAPTION_BAND)
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle([0, height - band, width, height], fill=(0, 0, 0, 170))
    text = " ".join(shot.text.split())
    if shot.speaker:
        speaker = shot.speaker.removeprefix("extra:")
        name = series.characters[speaker].name if speaker in series.characters else speaker
        text = f"{name}: {text}"
    cjk = media.has_cjk(text)
    size = max(10, round(height / 24))
    font = _font(size, cjk)
    columns = max(8, int(width * 0.86 / (size * (1.0 if cjk else 0.5))))
    lines = textwrap.wrap(text, columns)[:3]
    top = height - band + (band - len(lines) * size * 1.3) / 2
    for number, line in enumerate(lines):
        line_width = draw.textlength(line, font=font)
        draw.text(((width - line_width) / 2, top + number * size * 1.3), line, font=font, fill=(255, 255, 255, 255))
    canvas.alpha_composite(overlay)


def _slate(canvas: Image.Image, shot: Shot) -> None:
    width, height = canvas.size
    size = max(8, round(height / 40))
    draw = ImageDraw.Draw(canvas)
    label = f"SHOT {shot.id} · {shot.duration:.1f}s"
    margin = round(width * 0.06)
    draw.text((margin, margin * 0.6), label, font=_font(size, False), fill=(255, 255, 255, 200))
