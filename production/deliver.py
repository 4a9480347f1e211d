"""What leaves the building: the episode's files in one folder and `manifest.json`, which lists every shot, take
and file by hash so a delivery can be checked, or rebuilt, without the database."""

import platform
import subprocess
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path

from aigms.production import assets, media
from aigms.production.files import atomic_write_text
from aigms.production.generate import RenderedTake
from aigms.schemas.manifest import AssetRef, Manifest, ManifestShot
from aigms.schemas.series import Series
from aigms.schemas.shotlist import ShotList


@cache
def software_versions() -> dict[str, str]:
    """Versions that change pixels or sound; a reproduction with other versions may differ, and should say so."""
    versions = {"aigms": version("aigms"), "python": platform.python_version()}
    for tool, argument in ((media.ffmpeg_exe(), "-version"), ("espeak-ng", "--version")):
        try:
            first = subprocess.run([tool, argument], capture_output=True, text=True, check=True).stdout.splitlines()
        except (OSError, subprocess.CalledProcessError):
            continue
        versions[Path(tool).name] = first[0] if first else "unknown"
    return versions


def describe(path: Path) -> AssetRef:
    """A delivered file as the manifest lists it: its name beside the manifest, its hash and size."""
    return AssetRef(path=path.name, sha256=assets.sha256_file(path), size=path.stat().st_size)


def write_manifest(
    folder: Path, series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
    dialogue_hashes: dict[str, str], outputs: dict[str, AssetRef],
) -> Manifest:
    episode = series.episode(shotlist.episode)
    entries = []
    start = 0.0
    for shot in shotlist.shots:
        take = takes[shot.id]
        entries.append(ManifestShot(
            id=shot.id, start=round(start, 6), duration=shot.duration, kind=shot.kind, characters=shot.characters,
            location=shot.location, lines=shot.lines, prompt=shot.prompt, take=take.recipe_sha256,
            clip_sha256=take.clip_sha256, dialogue_sha256=dialogue_hashes.get(shot.id),
        ))
        start += shot.duration
    manifest = Manifest(
        series=series.id, series_title=series.title, episode=shotlist.episode, episode_title=episode.title,
        language=shotlist.language, delivery=series.delivery, generator=series.generator,
        duration=round(shotlist.duration, 6), shots=entries, outputs=outputs, software=software_versions(),
        created=datetime.now(UTC),
    )
    atomic_write_text(folder / "manifest.json", manifest.model_dump_json(indent=2) + "\n")
    return manifest
