"""Draws the reference images of the example series, so the demo needs no downloaded art and anyone can see
exactly where every pixel came from. Run it again to redraw them: `python examples/draw_references.py`."""

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent / "bronze-echoes" / "bible"
PLATE = (1920, 1080)
FIGURE = (480, 800)

Colour = tuple[int, int, int]


def vertical_gradient(size: tuple[int, int], top: Colour, bottom: Colour) -> Image.Image:
    width, height = size
    column = Image.new("RGB", (1, height))
    for y in range(height):
        mix = y / (height - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom)))
    return column.resize(size)


def dig_site() -> Image.Image:
    image = vertical_gradient(PLATE, (12, 16, 40), (60, 44, 40))
    draw = ImageDraw.Draw(image)
    rng = random.Random(1)
    for _ in range(180):
        x, y = rng.randrange(PLATE[0]), rng.randrange(420)
        draw.point((x, y), fill=(230, 230, 255))
    draw.polygon([(0, 520), (500, 420), (1100, 480), (1920, 400), (1920, 1080), (0, 1080)], fill=(70, 50, 38))
    draw.polygon([(360, 700), (1560, 700), (1420, 980), (500, 980)], fill=(42, 30, 24))
    for x in range(420, 1520, 120):
        draw.line([(x, 700), (x + 20, 980)], fill=(90, 70, 50), width=4)
    for x in (300, 1620):
        draw.line([(x, 300), (x, 700)], fill=(40, 40, 40), width=10)
        draw.ellipse([x - 60, 240, x + 60, 330], fill=(255, 240, 190))
    glow = Image.new("RGB", PLATE, (0, 0, 0))
    ImageDraw.Draw(glow).ellipse([700, 760, 1220, 920], fill=(120, 90, 30))
    return Image.blend(image, glow.filter(ImageFilter.GaussianBlur(60)), 0.25)


def restoration_lab() -> Image.Image:
    image = vertical_gradient(PLATE, (28, 38, 46), (16, 20, 24))
    draw = ImageDraw.Draw(image)
    for shelf in range(4):
        y = 160 + shelf * 150
        draw.rectangle([80, y, 760, y + 16], fill=(80, 70, 60))
        for item in range(6):
            x = 110 + item * 110
            draw.rectangle([x, y - 70 + (item % 3) * 15, x + 60, y], fill=(110 - item * 8, 90, 60 + item * 10))
    draw.rectangle([900, 120, 1800, 560], fill=(40, 60, 70))
    draw.rectangle([920, 140, 1780, 540], fill=(70, 110, 120))
    draw.polygon([(300, 760), (1700, 760), (1900, 1080), (100, 1080)], fill=(70, 62, 55))
    draw.ellipse([820, 640, 1100, 720], fill=(255, 250, 220))
    return image.filter(ImageFilter.GaussianBlur(1.5))


def bronze_tree_hall() -> Image.Image:
    image = vertical_gradient(PLATE, (6, 8, 14), (30, 24, 18))
    draw = ImageDraw.Draw(image)
    draw.rectangle([930, 260, 990, 1000], fill=(120, 90, 40))

    def branch(x: float, y: float, angle: float, length: float, depth: int) -> None:
        if depth == 0:
            draw.ellipse([x - 12, y - 12, x + 12, y + 12], fill=(255, 200, 90))
            return
        end = (x + length * math.cos(angle), y - length * math.sin(angle))
        draw.line([(x, y), end], fill=(140, 105, 45), width=depth * 3)
        branch(*end, angle + 0.5, length * 0.7, depth - 1)
        branch(*end, angle - 0.5, length * 0.7, depth - 1)

    for height in (420, 600, 780):
        branch(960, height, math.pi / 2 + 0.9, 200, 4)
        branch(960, height, math.pi / 2 - 0.9, 200, 4)
    draw.rectangle([0, 1000, 1920, 1080], fill=(50, 40, 30))
    return image


def figure(skin: Colour, hair: Colour, coat: Colour, accent: Colour, *, headlamp: bool = False,
           glasses: bool = False, grey: bool = False) -> Image.Image:
    image = Image.new("RGBA", FIGURE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(110, 800), (150, 330), (330, 330), (370, 800)], fill=coat)
    draw.rectangle([205, 280, 275, 340], fill=skin)
    draw.polygon([(150, 330), (330, 330), (300, 390), (180, 390)], fill=accent)
    draw.ellipse([150, 90, 330, 300], fill=skin)
    draw.chord([140, 70, 340, 260], 180, 360, fill=(200, 200, 200) if grey else hair)
    draw.ellipse([195, 180, 215, 200], fill=(30, 30, 30))
    draw.ellipse([265, 180, 285, 200], fill=(30, 30, 30))
    draw.arc([210, 220, 270, 260], 20, 160, fill=(120, 50, 50), width=4)
    if headlamp:
        draw.rectangle([150, 130, 330, 150], fill=(50, 50, 50))
        draw.ellipse([220, 110, 260, 150], fill=(255, 250, 200))
    if glasses:
        draw.ellipse([185, 170, 225, 210], outline=(20, 20, 20), width=4)
        draw.ellipse([255, 170, 295, 210], outline=(20, 20, 20), width=4)
    return image


def drone() -> Image.Image:
    image = Image.new("RGBA", FIGURE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse([90, 260, 390, 560], fill=(190, 195, 205))
    draw.ellipse([170, 340, 310, 480], fill=(20, 40, 70))
    draw.ellipse([205, 375, 275, 445], fill=(80, 200, 255))
    for x in (40, 340):
        draw.rectangle([x, 390, x + 100, 420], fill=(150, 155, 165))
        draw.ellipse([x - 10, 370, x + 110, 400], fill=(120, 125, 135))
    draw.line([(240, 260), (240, 190)], fill=(150, 155, 165), width=8)
    draw.ellipse([225, 170, 255, 200], fill=(255, 90, 90))
    return image


def main() -> None:
    locations = {"dig-site": dig_site, "restoration-lab": restoration_lab, "bronze-tree-hall": bronze_tree_hall}
    for name, draw in locations.items():
        draw().save(HERE / "locations" / f"{name}.png", optimize=True)
    characters = {
        "lin-yue": figure((236, 200, 170), (30, 20, 20), (60, 90, 70), (200, 40, 40), headlamp=True),
        "zhou": figure((225, 190, 160), (40, 40, 40), (90, 80, 70), (60, 60, 90), glasses=True, grey=True),
        "kai": drone(),
    }
    for name, image in characters.items():
        image.save(HERE / "characters" / f"{name}.png", optimize=True)


if __name__ == "__main__":
    main()
