"""Consistency checks on clips whose answer is known, drawn with PIL and encoded with ffmpeg: the character's own
reference in every frame, another character, a hard cut inside a shot, a frozen clip, a black one; and the retake
policy on a real generator path, which keeps filming until a take passes."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production import qc
from aigms.production.qc.features import Classical, colour_histogram
from aigms.production.generate import footage
from aigms.production.generate.takes import render_shot, render_take, take_seed
from aigms.schemas.series import GeneratorSettings, Series
from aigms.schemas.shotlist import Segment, Shot, ShotList
from builders import draw_plate, tiny_series
from databases import fresh_database_url

FPS = 24


@pytest.fixture
def series(tmp_path: Path) -> Series:
    return tiny_series(tmp_path / "series", 320, 180)


def lab_shot(characters: list[str], duration: float = 2.0, segments: list[Segment] | None = None,
             location: str | None = "lab") -> Shot:
    return Shot(id="010", scene=1, kind="action", size="WS", location=location, characters=characters,
                text="Lin waits.", duration=duration, segments=segments or [])


def composite(series: Series, plate: str, figure: str | None, frames: int, step: int = 2) -> np.ndarray:
    """The plate at the delivery size with the figure standing in it, walking `step` pixels a frame."""
    width, height = series.delivery.width, series.delivery.height
    background = Image.open(series.root / "bible" / plate).convert("RGBA").resize((width, height))
    pictures = []
    for index in range(frames):
        canvas = background.copy()
        if figure is not None:
            person = Image.open(series.root / "bible" / figure).convert("RGBA").resize((60, 100))
            canvas.alpha_composite(person, (60 + index * step, 60))
        pictures.append(np.asarray(canvas.convert("RGB")))
    return np.stack(pictures)


def encode(frames: np.ndarray, out: Path) -> Path:
    footage.write_frames(frames, FPS, out)
    return out


def checks_of(clip: Path, shot: Shot, series: Series, calls: int = 1) -> dict[str, qc.Check]:
    return {check.name: check for check in qc.shot_checks(clip, shot, series, calls)}


def test_the_characters_own_reference_in_every_frame_passes_identity(series: Series, tmp_path: Path) -> None:
    clip = encode(composite(series, "lab.png", "lin.png", 48), tmp_path / "lin.mp4")
    found = checks_of(clip, lab_shot(["lin"]), series)
    assert found["identity"].passed, found["identity"]
    assert found["location"].passed and found["conformance"].passed
    assert found["identity"].extractor == "classical"


def test_another_character_in_frame_fails_identity(series: Series, tmp_path: Path) -> None:
    clip = encode(composite(series, "lab.png", "kai.png", 48), tmp_path / "kai.mp4")
    found = checks_of(clip, lab_shot(["lin"]), series)
    assert not found["identity"].passed, found["identity"]
    assert "LIN" in found["identity"].reason


def test_windows_scored_together_score_as_each_window_cut_out_and_counted_alone() -> None:
    rng = np.random.default_rng(7)
    frame = (rng.integers(0, 256, (144, 256, 3)) // 40 * 40).astype(np.uint8)  # a few colours, as a set has
    extractor = Classical()
    reference = extractor.features(frame[20:80, 100:130])
    outline = (rng.random((40, 20)) > 0.3).astype(np.uint8)
    windows = [((x, y, 20, 40), outline) for x in range(0, 237, 9) for y in range(0, 105, 13)]
    windows += [((x, y, 50, 30), None) for x in range(0, 207, 23) for y in (0, 57, 114)]
    windows += [((230, 120, 40, 40), None), ((0, 0, 256, 144), None)]  # past the edges; the whole frame
    alone = [float(np.minimum(reference.histogram, colour_histogram(frame[y:y + h, x:x + w], mask)).sum())
             for (x, y, w, h), mask in windows]
    assert np.allclose(extractor.region_similarities(reference, frame, windows), alone, atol=1e-6)
    assert len(set(np.round(alone, 3))) > 20  # windows that differ


def test_a_hard_cut_at_a_segment_join_fails_the_seam_check(series: Series, tmp_path: Path) -> None:
    draw_plate(series.root / "bible" / "street.png", (200, 120, 30))
    segments = [Segment(index=0, start=0.0, duration=1.0, mode="t2v", prompt="Lin waits."),
                Segment(index=1, start=1.0, duration=1.0, mode="extend", prompt="Lin waits.")]
    shot = lab_shot(["lin"], segments=segments)
    whole = encode(composite(series, "lab.png", "lin.png", 48), tmp_path / "whole.mp4")
    cut = encode(np.concatenate([composite(series, "lab.png", "lin.png", 24),
                                 composite(series, "street.png", None, 24)]), tmp_path / "cut.mp4")
    assert checks_of(whole, shot, series, calls=2)["seams"].passed
    broken = checks_of(cut, shot, series, calls=2)["seams"]
    assert not broken.passed
    assert "1.00 s" in broken.reason


def test_a_frozen_clip_is_caught(series: Series, tmp_path: Path) -> None:
    moving = encode(composite(series, "lab.png", "lin.png", 48), tmp_path / "moving.mp4")
    still = encode(composite(series, "lab.png", "lin.png", 48, step=0), tmp_path / "still.mp4")
    assert checks_of(moving, lab_shot(["lin"]), series)["frozen"].passed
    frozen = checks_of(still, lab_shot(["lin"]), series)["frozen"]
    assert (frozen.passed, frozen.score) == (False, 0.0)


def test_a_black_clip_is_caught(series: Series, tmp_path: Path) -> None:
    clip = encode(np.zeros((48, 180, 320, 3), dtype=np.uint8), tmp_path / "black.mp4")
    found = checks_of(clip, lab_shot(["lin"]), series)
    assert (found["black"].passed, found["black"].score) == (False, 0.0)
    assert not found["identity"].passed


def test_a_clip_of_the_wrong_size_and_length_fails_conformance(series: Series, tmp_path: Path) -> None:
    clip = encode(composite(series, "lab.png", "lin.png", 30)[:, :160, :240], tmp_path / "small.mp4")
    found = checks_of(clip, lab_shot(["lin"]), series)["conformance"]
    assert not found.passed
    assert "240×160" in found.reason and "30 frames, not 48" in found.reason


def qc_rows(engine, take_id: int) -> dict[str, models.QCResult]:
    with session_scope(engine) as session:
        rows = session.scalars(select(models.QCResult).where(models.QCResult.take_id == take_id)).all()
        session.expunge_all()
        return {row.check: row for row in rows}


@pytest.mark.database
def test_a_shot_failing_twice_is_filmed_again_and_its_third_take_selected(series: Series, tmp_path: Path,
                                                                           database_url: str) -> None:
    shot = lab_shot([], location=None)
    series.generator = GeneratorSettings(backend="testcard", seed=7,
                                         options={"good_seed": take_seed(7, shot.id, 2)})
    engine = open_database(database_url)
    result = render_shot(engine, tmp_path / "store", series, shot, None)
    assert [take.seed for take in result.takes] == [take_seed(7, shot.id, k) for k in range(3)]
    assert result.selected == result.takes[2]
    assert not qc_rows(engine, result.takes[0].take_id)["black"].passed
    assert all(row.passed for row in qc_rows(engine, result.takes[2].take_id).values())
    assert result.failures == []


@pytest.mark.database
def test_a_shot_that_never_passes_is_flagged_not_silently_accepted(series: Series, tmp_path: Path,
                                                                     database_url: str) -> None:
    shot = lab_shot([], location=None)
    series.qc.retakes = 2
    series.generator = GeneratorSettings(backend="testcard", seed=7, options={"good_seed": -1})
    engine = open_database(database_url)
    result = render_shot(engine, tmp_path / "store", series, shot, None)
    assert len(result.takes) == 2
    assert len(result.failures) == 1 and "no take passed QC in 2 take(s)" in result.failures[0]
    assert "black 0.00 < 0.90" in result.failures[0]


def tiny_clip(folder: Path) -> Path:
    """A CLIP with random weights, a few kilobytes: real plumbing, meaningless likeness."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    text = {"vocab_size": 99, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 2, "max_position_embeddings": 16, "bos_token_id": 0, "eos_token_id": 1}
    vision = {"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 2}
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval().save_pretrained(folder)
    return folder


def test_a_local_clip_folder_scores_the_picture_checks_and_is_named_in_the_results(series: Series,
                                                                                  tmp_path: Path) -> None:
    series.qc.extractor = f"clip:{tiny_clip(tmp_path / 'clip-tiny')}"
    draw_plate(series.root / "bible" / "street.png", (200, 120, 30))
    segments = [Segment(index=0, start=0.0, duration=1.0, mode="t2v", prompt="Lin waits."),
                Segment(index=1, start=1.0, duration=1.0, mode="extend", prompt="Lin waits.")]
    clip = encode(np.concatenate([composite(series, "lab.png", "lin.png", 24),
                                  composite(series, "street.png", None, 24)]), tmp_path / "cut.mp4")
    found = checks_of(clip, lab_shot(["lin"], segments=segments), series, calls=2)
    assert {name: found[name].extractor for name in ("identity", "location", "seams")} == dict.fromkeys(
        ("identity", "location", "seams"), "clip:clip-tiny")
    assert (found["black"].extractor, found["conformance"].extractor) == ("pixels", "ffprobe")
    assert all(0.0 <= check.score <= 1.0 for check in found.values())
    assert found["seams"].score < 1.0


SCRIPT = """Title: Tiny

INT. LAB - NIGHT

Lin waits.

Lin walks along the bench toward the far window.
"""


@pytest.fixture(scope="module")
def strict_render(tmp_path_factory: pytest.TempPathFactory, prefect: None) -> dict:
    """An episode rendered through the flow with a location threshold no animatic frame reaches: every shot is
    filmed up to the retake cap and flagged."""
    from aigms.flows.episode import render_episode

    root = tmp_path_factory.mktemp("qc-episode")
    series = tiny_series(root / "series")
    series.storyboard.rules = ["dialogue_coverage", "action_coverage", "scene_transition"]
    series.qc.thresholds["location"] = 0.99
    series.qc.retakes = 2
    bible = series.model_dump(mode="json")
    bible["episodes"] = [{"id": "s01e01", "script": "episodes/s01e01.fountain"}]
    (root / "series" / "episodes").mkdir(parents=True)
    (root / "series" / "episodes" / "s01e01.fountain").write_text(SCRIPT)
    (root / "series" / "series.yaml").write_text(yaml.safe_dump(bible, sort_keys=False))
    database_url = fresh_database_url(root / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        patch.setenv("AIGMS_WHISPER", "none")
        result = render_episode(str(root / "series"), "s01e01", str(root / "out"), str(root / "home"), force=True)
    return {"root": root, "home": root / "home", "database": database_url, "result": result}


def test_a_flagged_shot_is_a_warning_of_the_render_and_its_best_take_is_cut_in(strict_render: dict) -> None:
    flagged = [w for w in strict_render["result"].warnings if "no take passed QC in 2 take(s)" in w]
    assert len(flagged) == strict_render["result"].shots == 2
    engine = open_database(strict_render["database"])
    with session_scope(engine) as session:
        shots = session.scalars(select(models.Shot).order_by(models.Shot.position)).all()
        assert all(len([t for t in shot.takes if t.kind == models.TAKE_CLIP]) == 2 for shot in shots)
        checks = {row.check for row in shots[1].selected_take.qc_results}
        assert {"continuity", "scene_location", "location", "identity"} <= checks


def test_aigms_qc_prints_the_table_and_writes_a_report_with_contact_sheets(strict_render: dict) -> None:
    report = strict_render["root"] / "qc.html"
    done = CliRunner().invoke(app, ["qc", "s01e01", "--series", str(strict_render["root"] / "series"), "--home",
                                    str(strict_render["home"]), "--out", str(report)],
                              env={"AIGMS_DATABASE_URL": strict_render["database"], "COLUMNS": "200"})
    assert done.exit_code == 1, done.output
    assert "location 0." in done.stdout and "<0.99" in done.stdout
    html = report.read_text()
    assert html.count("flagged: no take passed") == 2
    assert html.count('src="data:image/jpeg;base64,') == 2 * 2 * 3  # shots × takes × first, middle, last
    assert "<polyline" in html and "continuity" in html


@pytest.mark.database
def test_a_take_found_again_keeps_its_scores_and_is_judged_by_the_new_thresholds(series: Series, tmp_path: Path,
                                                                                database_url: str) -> None:
    shot = lab_shot([], location=None)
    series.qc.retakes = 1
    series.generator = GeneratorSettings(backend="testcard", seed=7, options={"good_seed": take_seed(7, shot.id, 0)})
    engine = open_database(database_url)
    first = render_shot(engine, tmp_path / "store", series, shot, None)
    before = qc_rows(engine, first.selected.take_id)
    series.qc.thresholds["flicker"] = 1.0
    again = render_shot(engine, tmp_path / "store", series, shot, None)
    after = qc_rows(engine, again.selected.take_id)
    assert again.selected.reused and again.selected.take_id == first.selected.take_id
    assert before["flicker"].passed and not after["flicker"].passed
    assert after["flicker"].score == before["flicker"].score and after["flicker"].threshold == 1.0
    assert "flicker" in again.failures[0]


def test_a_silent_dialogue_take_fails_conformance_when_the_generator_films_sound(series: Series,
                                                                                 tmp_path: Path) -> None:
    clip = encode(composite(series, "lab.png", "lin.png", 48), tmp_path / "silent.mp4")
    shot = lab_shot(["lin"]).model_copy(update={"kind": "dialogue", "speaker": "lin", "dialogue": ["010-1"]})
    assert checks_of(clip, shot, series)["conformance"].passed
    series.qc.audio_in_clips = True
    found = checks_of(clip, shot, series)["conformance"]
    assert not found.passed and found.reason == "no audio under dialogue"


def test_faces_are_found_the_same_from_many_threads_at_once() -> None:
    """Shots are checked in parallel threads, on frames and crops of every size; a detector shared between them
    once failed takes at random (an OpenCV assertion) and sent them to be filmed again."""
    import threading

    from aigms.production.qc.features import faces

    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (72 + 8 * i, 128 + 16 * i, 3), dtype=np.uint8) for i in range(4)]
    expected = [faces(frame) for frame in frames]
    found: list[tuple[int, object]] = []

    def detect() -> None:
        for _ in range(10):
            for index, frame in enumerate(frames):
                try:
                    found.append((index, faces(frame)))
                except Exception as error:
                    found.append((index, error))

    threads = [threading.Thread(target=detect) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 * 10 * 4
    assert [(index, result) for index, result in found if result != expected[index]] == []


def across_shot(id: str, scene: int) -> Shot:
    return Shot(id=id, scene=scene, kind="action", size="WS", location="lab", characters=["lin"],
                text=f"Lin waits ({id}).", duration=1.0)


ACROSS_SHOTS = [across_shot("010", 1), across_shot("020", 1), across_shot("030", 1), across_shot("040", 2)]


def check_across(engine, series: Series, takes: dict, cache: Path | None) -> list[str]:
    shotlist = ShotList(series="tiny", episode="e1", language="en", fps=FPS, shots=ACROSS_SHOTS)
    clips = {shot_id: (take.take_id, take.clip, take.clip_sha256) for shot_id, take in takes.items()}
    return qc.check_episode(engine, series, shotlist, clips, cache)


@pytest.mark.database
def test_checks_across_shots_score_each_cut_in_a_scene_and_each_set_against_its_scene(
        series: Series, tmp_path: Path, database_url: str) -> None:
    engine = open_database(database_url)
    takes = {shot.id: render_take(engine, tmp_path / "store", series, shot, None) for shot in ACROSS_SHOTS}
    check_across(engine, series, takes, None)
    found = {shot_id: set(qc_rows(engine, take.take_id)) for shot_id, take in takes.items()}
    assert found == {"010": {"scene_location"}, "020": {"continuity", "scene_location"},
                     "030": {"continuity", "scene_location"}, "040": set()}
    assert qc_rows(engine, takes["020"].take_id)["continuity"].reason == "last frame of 010 against the first of 020"


def test_a_checked_take_leaves_the_frames_the_checks_across_shots_compare(series: Series, tmp_path: Path,
                                                                        database_url: str) -> None:
    store = tmp_path / "store"
    take = render_shot(open_database(database_url), store, series, ACROSS_SHOTS[0], None).selected
    kept = qc.samples_file(store / "derived" / "qc", take.clip_sha256)
    assert np.array_equal(np.load(kept), qc.checks.sample_frames(take.clip))


@pytest.mark.database
def test_checks_across_shots_after_a_retake_score_only_the_pairs_with_the_new_take(
        series: Series, tmp_path: Path, database_url: str) -> None:
    engine = open_database(database_url)
    store, cache = tmp_path / "store", tmp_path / "qc"
    takes = {shot.id: render_take(engine, store, series, shot, None) for shot in ACROSS_SHOTS}
    check_across(engine, series, takes, cache)
    # 040 is alone in its scene and after a change of scene: nothing to compare it with, so it is not even decoded
    assert (len(list((cache / "samples").iterdir())), len(list((cache / "pairs").iterdir()))) == (3, 5)
    takes["020"] = render_take(engine, store, series, ACROSS_SHOTS[1], None, seed=99)
    kept = check_across(engine, series, takes, cache)
    # the new take is decoded; scored again: its two cuts and its two scene partners
    assert (len(list((cache / "samples").iterdir())), len(list((cache / "pairs").iterdir()))) == (4, 9)
    scores = {shot_id: {name: row.score for name, row in qc_rows(engine, take.take_id).items()}
              for shot_id, take in takes.items()}
    assert check_across(engine, series, takes, None) == kept
    assert scores == {shot_id: {name: row.score for name, row in qc_rows(engine, take.take_id).items()}
                      for shot_id, take in takes.items()}
