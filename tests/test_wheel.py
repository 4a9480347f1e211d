"""aigms as a person installs it: a wheel built from this checkout and installed into an empty virtual environment,
run from a folder outside the repository. The environment reaches the dependencies already installed for the tests
through a .pth file and the wheel goes in with --no-deps, so nothing is downloaded. There, `aigms demo` renders the
example series shipped inside the package — the suite's one demo run at the delivery size, with Prefect's temporary
server as a user first meets it and no traceback on the way — and a backend from a package of its own
(`tests/plugin`, found through its `aigms.generators` entry point) films an episode."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from sqlalchemy import select

from aigms.db import models
from aigms.db.session import default_database_url, open_database, session_scope
from aigms.production.generate import footage
from aigms.production.store.media import probe
from aigms.schemas.series import GeneratorSettings
from builders import TINY_SCRIPT, series_folder, tiny_series

REPO = Path(__file__).resolve().parent.parent
NOT_SHIPPED = ("tests", "benchmarks", ".venv", ".git", "__pycache__", "*.egg-info", "build", "demo-out", ".aigms",
               "renders", "test-artifacts", ".pytest_cache")
# What the test suite sets for itself and a person's shell does not: the installed aigms must cope without it.
SUITE_ONLY = ("PREFECT_API_URL", "PREFECT_HOME", "DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED",
              "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "PREFECT_LOGGING_LEVEL", "PYTHONPATH",
              "AIGMS_HOME", "AIGMS_DATABASE_URL", "AIGMS_WHISPER", "AIGMS_TEST_DATABASE_URL")


def pip(python: Path, *args: str) -> None:
    """This environment's pip, installing into the environment of `python` (which has no pip of its own)."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check", "install",
                    "--quiet", "--no-deps", "--no-index", *args], check=True, stdin=subprocess.DEVNULL, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of an empty environment with the wheel of this checkout and the stripes backend in it."""
    root = tmp_path_factory.mktemp("wheel")
    source = shutil.copytree(REPO, root / "source", ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(root / "dist"), str(source)], check=True, stdin=subprocess.DEVNULL, timeout=600)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=120)
    python = root / "venv" / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    reachable = [path for path in sys.path if path.endswith("site-packages")] or [sysconfig.get_paths()["purelib"]]
    (Path(purelib) / "dependencies.pth").write_text("\n".join(reachable) + "\n")
    pip(python, *map(str, (root / "dist").glob("aigms-*.whl")))
    pip(python, "--no-build-isolation", str(shutil.copytree(REPO / "tests" / "plugin", root / "plugin")))
    return python.parent


def run(bin_dir: Path, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=1800)


def a_persons_environment(**extra: str) -> dict[str, str]:
    return {**{key: value for key, value in os.environ.items() if key not in SUITE_ONLY}, "COLUMNS": "200", **extra}


def test_the_installed_package_is_the_one_that_runs(installed: Path, tmp_path: Path) -> None:
    done = run(installed, "python", "-c", "import aigms.cli; print(aigms.cli.__file__); "
               "print(aigms.cli.example_series())", cwd=tmp_path, env=a_persons_environment())
    assert done.returncode == 0, done.stderr
    module, example = (Path(line) for line in done.stdout.split())
    assert module.is_relative_to(installed.parent) and example.is_relative_to(installed.parent)
    assert (example / "series.yaml").is_file() and (example / "bible" / "characters" / "kai.png").is_file()


@pytest.fixture(scope="module")
def demo(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """`aigms demo` from a folder of its own, in a fresh Prefect home, as `make demo` runs it for a newcomer."""
    folder = tmp_path_factory.mktemp("newcomer")
    done = run(installed, "aigms", "demo", "--out", "demo-out", cwd=folder,
               env=a_persons_environment(PREFECT_HOME=str(folder / "prefect")))
    return done, folder / "demo-out" / "bronze-echoes"


def test_the_demo_renders_from_the_installed_package_without_a_traceback(demo: tuple) -> None:
    done, out = demo
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(Path("demo-out") / "bronze-echoes" / "s01e01" / "episode.mp4") in done.stdout.replace("\n", "")
    for problem in ("Traceback", "database is locked", "Failed to send telemetry", "CancelledError"):
        assert problem not in done.stderr + done.stdout, done.stderr[-3000:]


@pytest.mark.parametrize("episode", ["s01e01", "s01e02"])
def test_demo_episode_plays_at_1080p30_with_subtitles(demo: tuple, episode: str) -> None:
    folder = demo[1] / episode
    manifest = json.loads((folder / "manifest.json").read_text())
    info = probe(folder / "episode.mp4")
    assert (info.video_codec, info.width, info.height, info.fps, info.audio_codec) == ("h264", 1920, 1080, 30, "aac")
    assert 30 <= info.duration <= 60
    assert abs(info.duration - manifest["duration"]) <= 0.1
    subs = pysubs2.load(str(folder / "episode.srt"))
    assert len(subs) == sum(shot["kind"] == "dialogue" for shot in manifest["shots"])
    assert all(0 <= line.start < line.end <= info.duration * 1000 for line in subs)


def test_chinese_episode_subtitles_are_the_scripts_chinese_lines(demo: tuple) -> None:
    srt = demo[1] / "s01e01" / "episode.srt"
    assert pysubs2.load(str(srt))[0].plaintext == "凯，你看这个纹路。"
    assert srt.read_bytes().decode("utf-8").count("-->") == 5


def test_a_backend_from_a_package_of_its_own_films_an_episode(installed: Path, tmp_path: Path, prefect: None) -> None:
    from prefect.settings import PREFECT_API_URL

    series = tiny_series(tmp_path / "series")
    series.generator = GeneratorSettings(backend="stripes", options={"colour": [40, 200, 40]})
    series.qc.enabled = False  # stripes show none of the cast: every take would be filmed again
    series_folder(tmp_path / "series", {"e1": TINY_SCRIPT}, series)
    done = run(installed, "aigms", "render", "e1", "--series", "series", "--force", "--home", "home", "--out", "out",
               cwd=tmp_path, env=a_persons_environment(PREFECT_API_URL=PREFECT_API_URL.value(), AIGMS_WHISPER="none",
                                                       PREFECT_HOME=str(tmp_path / "prefect")))
    assert done.returncode == 0, done.stderr[-3000:]
    with session_scope(open_database(default_database_url(tmp_path / "home"))) as session:
        takes = session.scalars(select(models.Take).order_by(models.Take.id)).all()
        assert [(take.generator, take.status, take.recipe["generator"]) for take in takes] == [
            ("stripes", models.TAKE_OK, {"backend": "stripes", "version": "1", "colour": [40, 200, 40]})] * 3
        clip = tmp_path / "home" / "store" / takes[0].asset.path
    assert all(call["take"] == takes[0].recipe_sha256 for call in takes[0].recipe["calls"])
    first = footage.read_frames(clip, 0, 1)[0].astype(int)
    assert np.abs(first[90, 3] - [40, 200, 40]).max() < 40 and first[90, 12].max() < 40
    assert (tmp_path / "out" / "tiny" / "e1" / "episode.mp4").is_file()
