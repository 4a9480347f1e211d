"""Previs pictures drawn from the bible's own reference images: the location as a plate, the cast placed in it by
shot size (the speaker larger and in front), the action or line as a caption and a slate. One picture serves three
places: a panel of the storyboard sheet (`first_frame`), the still the `animatic` backend pushes in on
(`composed`), and the layout a keyframe model starts from, so faces and sets keep their look (`layout`)."""

import random
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from aigms.production.bible import shot_references
from aigms.production.store import media
from aigms.schemas.errors import InputError
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

# How much of the frame a standing figure fills, and how far the plate is pushed in, per shot size: a storyboard in
# which a close-up looks like a wide shot tells a director nothing.
FIGURE_HEIGHT = {"EWS": 0.35, "WS": 0.5, "MLS": 0.62, "MS": 0.75, "MCU": 1.0, "CU": 1.35, "ECU": 1.8}
PLATE_ZOOM = {"EWS": 1.0, "WS": 1.0, "MLS": 1.05, "MS": 1.15, "MCU": 1.3, "CU": 1.5, "ECU": 1.8}
CAPTION_BAND = 0.2


def plate_and_figures(shot: Shot, series: Series) -> tuple[Path | None, list[tuple[str, Path]]]:
    """The first reference of the shot's location and of each of its characters, checked to be on disk."""
    plate, figures = None, {}
    for reference in shot_references(series, shot):
        path = series.root / reference.path
        if reference.kind == "location" and plate is None:
            plate = path
        elif reference.kind == "character":
            figures.setdefault(reference.key, path)
    for path in [plate, *figures.values()]:
        if path is not None and not path.is_file():
            raise InputError(path, None, "reference image not found", "restore the file or fix series.yaml")
    return plate, list(figures.items())


def composed(shot: Shot, series: Series, seed: int, width: int,
             height: int) -> tuple[Image.Image, random.Random, float]:
    """The whole shot as one picture at (1 + zoom) × the frame, so a push-in never runs out of image, with the
    random state and zoom a push-in goes on with: the same seed and shot, the same picture."""
    plate, figures = plate_and_figures(shot, series)
    rng = random.Random(f"{seed}:{shot.id}")
    zoom = rng.uniform(0.05, 0.08)
    width = round(width * (1 + zoom) / 2) * 2
    height = round(height * (1 + zoom) / 2) * 2
    canvas = _plate(plate, width, height, PLATE_ZOOM[shot.size])
    _place_figures(canvas, shot, figures, rng)
    _caption(canvas, shot, series)
    _slate(canvas, shot)
    return canvas.convert("RGB"), rng, zoom


def first_frame(shot: Shot, series: Series, seed: int) -> Image.Image:
    """The picture the animatic opens on, at the delivery size, without encoding a clip: a storyboard panel."""
    width, height = series.delivery.width, series.delivery.height
    still, _, _ = composed(shot, series, seed, width, height)
    return still.resize((width, height), Image.Resampling.LANCZOS)


def layout(shot: Shot, series: Series, width: int, height: int, seed: int) -> Image.Image:
    """The location's plate with the cast placed in it and no caption: where a keyframe model starts from, so
    the characters and the set look like their reference images."""
    plate, figures = plate_and_figures(shot, series)
    canvas = _plate(plate, width, height, PLATE_ZOOM[shot.size])
    _place_figures(canvas, shot, figures, random.Random(f"{seed}:{shot.id}"))
    return canvas.convert("RGB")


def _plate(path: Path | None, width: int, height: int, zoom: float) -> Image.Image:
    if path is None:
        gradient = Image.linear_gradient("L").resize((width, height)).convert("RGBA")
        return Image.blend(gradient, Image.new("RGBA", (width, height), (40, 50, 70, 255)), 0.6)
    image = Image.open(path).convert("RGBA")
    ratio = max(width / image.width, height / image.height) * zoom
    # Only the middle of the reference that the frame shows is resampled: a close-up's zoom would otherwise resize
    # a picture three times the frame's area and crop most of it away. `min` keeps that box inside the reference
    # where float rounding puts it a hair past an edge (Pillow refuses such a box).
    seen_width, seen_height = min(image.width, width / ratio), min(image.height, height / ratio)
    left, top = (image.width - seen_width) / 2, (image.height - seen_height) / 2
    return image.resize((width, height), Image.Resampling.LANCZOS,
                        box=(left, top, left + seen_width, top + seen_height))


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
