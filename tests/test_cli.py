"""The `aigms` command as a person meets it: real files, exit codes and one-line errors, through Typer's test
runner (the command's own code, in this process); one test runs it as a real process, `python -m aigms`."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from aigms.cli import app
from episode import EXAMPLE


def aigms(*args: str, env: dict[str, str] | None = None) -> Result:
    """`aigms ARGS` with the environment `env` added; `.exit_code`, `.stdout` and `.stderr` as a person sees them."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


@pytest.fixture
def series(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "series"))


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> dict[str, str]:
    """Where `aigms` keeps its work: a home folder, and the database the test runs on (PostgreSQL under `make test`)."""
    return {"AIGMS_HOME": str(tmp_path / "home"), "AIGMS_DATABASE_URL": database_url}


def test_script_json_has_scenes_with_typed_elements() -> None:
    """As a real process: `python -m aigms` starts, parses and exits 0."""
    done = subprocess.run([sys.executable, "-m", "aigms", "script", str(EXAMPLE / "episodes" / "s01e02.fountain"),
                           "--json"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
                          env={**os.environ, "AIGMS_HOME": os.devnull})
    assert done.returncode == 0, done.stderr
    parsed = json.loads(done.stdout)
    first = parsed["scenes"][0]
    assert first["heading"] == "INT. RESTORATION LAB - NIGHT"
    dialogue = [e for e in first["elements"] if e["type"] == "dialogue"]
    assert (dialogue[2]["character"], dialogue[2]["text"]) == ("PROFESSOR ZHOU", "Then it is counting.")


def test_chinese_script_parses_forced_headings_and_cues() -> None:
    done = aigms("script", str(EXAMPLE / "episodes" / "s01e01.fountain"), "--json")
    parsed = json.loads(done.stdout)
    assert [scene["location"] for scene in parsed["scenes"]] == ["祭祀坑", "修复室"]
    speakers = [e["character"] for s in parsed["scenes"] for e in s["elements"] if e["type"] == "dialogue"]
    assert speakers == ["林月", "凯", "林月", "周教授", "凯"]


@pytest.mark.parametrize("name", ["series", "script", "shotlist", "shot-edit", "manifest"])
def test_every_user_file_has_a_json_schema(name: str) -> None:
    done = aigms("schema", name)
    assert done.exit_code == 0
    assert json.loads(done.stdout)["type"] == "object"


def test_invalid_bible_names_file_and_line(series: Path) -> None:
    bible = series / "series.yaml"
    bible.write_text(bible.read_text().replace("fps: 30", "fps: fast"))
    done = aigms("ingest", str(series), env={"AIGMS_HOME": str(series / ".aigms")})
    assert done.exit_code == 1
    line = next(n for n, text in enumerate(bible.read_text().splitlines(), 1) if "fps: fast" in text)
    assert f"series.yaml:{line}: delivery.fps" in done.stderr
    assert not (series / ".aigms").exists()


def test_missing_reference_image_is_refused_before_any_work(series: Path) -> None:
    (series / "bible" / "characters" / "kai.png").unlink()
    done = aigms("ingest", str(series), env={"AIGMS_HOME": str(series / ".aigms")})
    assert done.exit_code == 1
    assert "series.yaml:" in done.stderr and "bible/characters/kai.png" in done.stderr
    assert not (series / ".aigms").exists()


def test_a_missing_music_bed_is_refused_with_its_line(series: Path) -> None:
    bible = series / "series.yaml"
    bible.write_text(bible.read_text() + "edit:\n  music:\n    path: music/bed.wav\n")
    done = aigms("ingest", str(series), env={"AIGMS_HOME": str(series / ".aigms")})
    assert done.exit_code == 1
    line = len(bible.read_text().splitlines())
    assert f"series.yaml:{line}: music bed music/bed.wav not found" in done.stderr


def test_unknown_character_warns_and_strict_refuses(series: Path) -> None:
    env = {"AIGMS_HOME": str(series / ".aigms")}
    lenient = aigms("ingest", str(series), env=env)
    assert lenient.exit_code == 0, lenient.stderr
    assert "s01e02.fountain:30" in lenient.stderr and "GUARD" in lenient.stderr
    strict = aigms("ingest", str(series), "--strict", env={"AIGMS_HOME": str(series / ".strict")})
    assert strict.exit_code == 1
    assert "s01e02.fountain:30" in strict.stderr


def test_malformed_script_is_refused_with_its_line(series: Path) -> None:
    script = series / "episodes" / "s01e02.fountain"
    script.write_text(script.read_text() + "\n/* an unfinished boneyard\n")
    done = aigms("ingest", str(series), env={"AIGMS_HOME": str(series / ".aigms")})
    assert done.exit_code == 1
    line = len(script.read_text().splitlines())
    assert f"s01e02.fountain:{line}" in done.stderr


@pytest.mark.database
def test_ingest_twice_changes_nothing(series: Path, project: dict[str, str]) -> None:
    first = aigms("ingest", str(series), env=project)
    second = aigms("ingest", str(series), env=project)
    assert first.exit_code == second.exit_code == 0
    assert "0 rows written" not in first.stdout
    assert "2 episodes, 0 rows written" in second.stdout


def test_init_scaffolds_a_series_that_ingests(tmp_path: Path) -> None:
    folder = tmp_path / "new-show"
    assert aigms("init", str(folder), "--title", "New Show").exit_code == 0
    done = aigms("ingest", str(folder), env={"AIGMS_HOME": str(tmp_path / ".aigms")})
    assert done.exit_code == 0, done.stderr
    assert "new-show: 1 episodes" in done.stdout
    assert aigms("init", str(folder)).exit_code == 1


@pytest.mark.database
def test_shot_list_round_trips_through_a_spreadsheet_and_gates_the_render(series: Path, tmp_path: Path,
                                                                          project: dict[str, str]) -> None:
    exported = tmp_path / "s01e02.csv"
    done = aigms("shots", "export", "s01e02", "--series", str(series), "--out", str(exported), env=project)
    assert done.exit_code == 0, done.stderr
    text = exported.read_text()
    assert text.splitlines()[0].startswith("id,scene,kind,size,framing,angle,move")
    exported.write_text(text.replace("020,1,action,MS,", "020,1,action,CU,", 1))
    done = aigms("shots", "import", str(exported), env=project)
    assert done.exit_code == 0, done.stderr
    assert "1 shots edited (020)" in done.stdout
    shown = aigms("shots", "show", "s01e02", "--series", str(series), env=project)
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.stdout.splitlines() if "│ 020 " in line)
    assert "CU" in row and "size" in row and "not approved" in shown.stdout
    refused = aigms("render", "s01e02", "--series", str(series), "--out", str(tmp_path / "out"), env=project)
    assert refused.exit_code == 1
    assert "not approved" in refused.stderr and "aigms shots approve s01e02" in refused.stderr
    assert not (tmp_path / "out").exists()
    approved = aigms("shots", "approve", "s01e02", "--series", str(series), "--by", "director", env=project)
    assert approved.exit_code == 0 and "approved" in approved.stdout


@pytest.mark.database
def test_bad_row_in_an_imported_shot_list_names_the_line(series: Path, tmp_path: Path,
                                                         project: dict[str, str]) -> None:
    exported = tmp_path / "s01e01.csv"
    aigms("shots", "export", "s01e01", "--series", str(series), "--out", str(exported), env=project)
    lines = exported.read_text().splitlines()
    lines[3] = lines[3].replace(",CU,", ",GIANT,", 1)
    exported.write_text("\n".join(lines) + "\n")
    done = aigms("shots", "import", str(exported), env=project)
    assert done.exit_code == 1
    assert f"{exported}:4: shot 030: size" in done.stderr


@pytest.mark.database
def test_storyboard_sheet_has_a_numbered_panel_per_shot(series: Path, tmp_path: Path,
                                                        project: dict[str, str]) -> None:
    sheet = tmp_path / "board.html"
    done = aigms("shots", "board", "s01e01", "--series", str(series), "--out", str(sheet), env=project)
    assert done.exit_code == 0, done.stderr
    html = sheet.read_text()
    assert html.count('<article class="panel"') == 11
    assert html.count('src="data:image/jpeg;base64,') == 11
    assert "1 · SHOT 010" in html and "11 · SHOT 110" in html
    assert "CU (close-up)" in html and "凯，你看这个纹路。" in html and "draft — not approved" in html


def test_keyframes_need_an_image_model(series: Path, tmp_path: Path) -> None:
    done = aigms("shots", "keyframes", "s01e01", "--series", str(series), env={"AIGMS_HOME": str(tmp_path / "home")})
    assert done.exit_code == 1
    assert "makes no keyframes" in done.stderr and "generator.options.keyframe" in done.stderr


def test_storyboard_sheet_prints_to_pdf(series: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "board.pdf"
    done = aigms("shots", "board", "s01e02", "--series", str(series), "--out", str(sheet),
                 env={"AIGMS_HOME": str(tmp_path / "home")})
    assert done.exit_code == 0, done.stderr
    data = sheet.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", data)) >= 2
    assert (tmp_path / "board.html").read_text().count('<article class="panel"') == 11
