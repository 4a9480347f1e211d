"""Small series built in a test's own folder: drawn references, small delivery size, so stages run in seconds."""

from pathlib import Path

import yaml
from PIL import Image, ImageDraw

from aigms.schemas.series import Character, Delivery, Location, Series, Voice


def draw_plate(path: Path, colour: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (640, 360), colour)
    ImageDraw.Draw(image).rectangle([0, 250, 640, 360], fill=(40, 30, 20))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def draw_figure(path: Path, colour: tuple[int, int, int]) -> Path:
    image = Image.new("RGBA", (120, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle([20, 40, 100, 200], fill=(*colour, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def tiny_series(root: Path, width: int = 320, height: int = 180) -> Series:
    draw_plate(root / "bible" / "lab.png", (30, 90, 140))
    draw_figure(root / "bible" / "lin.png", (220, 40, 40))
    draw_figure(root / "bible" / "kai.png", (40, 220, 40))
    series = Series(
        id="tiny", title="Tiny", language="en", style="flat colours",
        delivery=Delivery(width=width, height=height, fps=24),
        characters={
            "lin": Character(name="LIN", aliases=["林"], references=[Path("bible/lin.png")], voice=Voice(variant="f3")),
            "kai": Character(name="KAI", references=[Path("bible/kai.png")]),
        },
        locations={"lab": Location(name="LAB", aliases=["实验室"], references=[Path("bible/lab.png")])},
    )
    return series.at(root)


TINY_SCRIPT = """Title: Tiny

INT. LAB - NIGHT

Lin waits by the bench.

LIN
The hum is back.

KAI
It never left.
"""


def series_folder(root: Path, scripts: dict[str, str], series: Series | None = None) -> Path:
    """A series folder a person could have written: `series.yaml` (the tiny series, or `series`) and one Fountain
    script per episode id. No establishing shots, so an episode is a shot per paragraph and per line."""
    series = series or tiny_series(root)
    series.storyboard.rules = ["dialogue_coverage", "action_coverage", "scene_transition"]
    bible = series.model_dump(mode="json")
    bible["episodes"] = [{"id": episode, "script": f"episodes/{episode}.fountain"} for episode in scripts]
    (root / "episodes").mkdir(parents=True, exist_ok=True)
    for episode, text in scripts.items():
        (root / "episodes" / f"{episode}.fountain").write_text(text)
    (root / "series.yaml").write_text(yaml.safe_dump(bible, allow_unicode=True, sort_keys=False))
    return root
