"""The storyboard sheet: numbered panels a person can print and draw on — a frame of each shot (its keyframe when
one was made for the shot as it stands, else its current take's first frame, else the previs frame), its size,
move, duration and what is said."""

import base64
import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
from PIL import Image
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.production import templating
from aigms.production.store import assets, media
from aigms.production.store.files import atomic_path, atomic_write_text
from aigms.production.storyboard.plan import SIZE_WORDS, speaker_name
from aigms.production.storyboard.previs import first_frame
from aigms.production.storyboard.timing import duration_report
from aigms.schemas.errors import InputError
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot, ShotList

PANEL_WIDTH = 480


@dataclass(frozen=True)
class Panel:
    number: int
    shot: Shot
    image: str
    source: str
    speaker: str
    size: str


def filmed_clips(session: Session, store: Path, episode: models.Episode) -> dict[str, Path]:
    """Clips of the selected takes that were filmed from the shot exactly as it now stands."""
    clips = {}
    for row in episode.shots:
        take = row.selected_take
        if take is None or take.asset is None or not assets.has_file(store, take.asset):
            continue
        if take.recipe.get("shot") == Shot.model_validate(row.spec).filmed():
            clips[row.code] = assets.asset_file(store, take.asset)
    return clips


def _jpeg(image: Image.Image) -> str:
    height = round(image.height * PANEL_WIDTH / image.width)
    buffer = io.BytesIO()
    image.convert("RGB").resize((PANEL_WIDTH, height), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _clip_frame(clip: Path) -> Image.Image:
    data, _ = (
        ffmpeg.input(str(clip)).output("pipe:", vframes=1, format="image2", vcodec="png")
        .run(cmd=media.ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    )
    return Image.open(io.BytesIO(data))


def write_board(series: Series, shotlist: ShotList, out: Path, clips: dict[str, Path], approval: str | None,
                keyframes: dict[str, Path] | None = None) -> Path:
    """One self-contained HTML file (pictures inlined), laid out to print three panels to a row; `keyframes` are
    the stills made for the shots as they stand (`aigms.production.generate.current_keyframes`)."""
    panels = []
    for number, shot in enumerate(shotlist.shots, start=1):
        still, clip = (keyframes or {}).get(shot.id), clips.get(shot.id)
        if still:
            picture, source = Image.open(still), "keyframe"
        elif clip:
            picture, source = _clip_frame(clip), "take"
        else:
            picture, source = first_frame(shot, series, series.generator.seed), "animatic"
        panels.append(Panel(number, shot, _jpeg(picture), source, speaker_name(shot, series), SIZE_WORDS[shot.size]))
    report = duration_report(shotlist.shots, series.storyboard.target_seconds)
    html = templating.pages().get_template("board/sheet.html.j2").render(
        series=series, shotlist=shotlist, panels=panels, report=report, approval=approval,
    )
    atomic_write_text(out, html)
    return out


def print_pdf(html: Path, pdf: Path) -> Path:
    """The sheet as the browser prints it (A4 landscape, from the page's own print styles): headless Chromium is
    the renderer the dashboard tests already install, so the PDF looks exactly like the page."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise InputError(pdf, None, "printing a PDF needs Chromium, which is not installed",
                         "install it (`apt install chromium`) or write the sheet as .html and print it from a browser")
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile, atomic_path(pdf) as temporary:
        command = [browser, "--headless", "--disable-gpu", "--no-pdf-header-footer", f"--user-data-dir={profile}",
                   f"--print-to-pdf={temporary}", html.resolve().as_uri()]
        if os.geteuid() == 0:
            command.insert(1, "--no-sandbox")
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
        if done.returncode != 0 or not temporary.is_file() or temporary.stat().st_size == 0:
            raise InputError(pdf, None, f"Chromium could not print the sheet: {done.stderr.strip()[-300:]}",
                             "write the sheet as .html and print it from a browser")
    return pdf
