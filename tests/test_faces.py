"""Identity by faces on real photographs that ship inside packages (scikit-image's astronaut, matplotlib's Grace
Hopper), composited into frames and encoded with ffmpeg: the same face at another size, angle and light passes,
another person fails, two cast characters are told apart wherever they stand, a faceless character keeps the
silhouette check, a face outside the cast is reported, and the retake policy films a wrong face again. Nothing is
downloaded: every test here runs with connections off this machine refused."""

import socket
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production import qc
from aigms.production.generate import footage
from aigms.production.generate.generators import BACKENDS
from aigms.production.generate.takes import render_shot, take_seed
from aigms.production.qc import identity, metrics
from aigms.production.qc.chart import ChartShot, chart
from aigms.production.qc.checks import look_for_faces
from aigms.production.qc.faces import face_extractor_for
from aigms.schemas.series import Character, Delivery, GeneratorSettings, Location, Series
from aigms.schemas.shotlist import Shot
from builders import draw_figure, draw_plate
from portraits import Standing, astronaut, astronaut_head, frames, hopper, hopper_head, save

FPS, COUNT = 24, 12


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections anywhere but this machine fail, as they would on a studio machine without internet."""
    connect = socket.socket.connect

    def local_only(self: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"network unreachable in tests: {address}")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)


@pytest.fixture
def series(tmp_path: Path) -> Series:
    """LIN is the astronaut, KAI is Grace Hopper, DRONE a red shape without a face."""
    root = tmp_path / "series"
    save(astronaut(), root / "bible" / "lin.png")
    save(hopper(), root / "bible" / "kai.jpg")
    draw_figure(root / "bible" / "drone.png", (220, 40, 40))
    draw_plate(root / "bible" / "lab.png", (70, 90, 110))
    found = Series(
        id="faces", title="Faces", delivery=Delivery(width=480, height=270, fps=FPS),
        characters={"lin": Character(name="LIN", references=[Path("bible/lin.png")]),
                    "kai": Character(name="KAI", references=[Path("bible/kai.jpg")]),
                    "drone": Character(name="DRONE", references=[Path("bible/drone.png")], faceless=True)},
        locations={"lab": Location(name="LAB", references=[Path("bible/lab.png")])},
    )
    found.qc.faces = "dlib"
    found.qc.face_every = 6
    return found.at(root)


def shot(characters: list[str]) -> Shot:
    return Shot(id="010", scene=1, kind="action", size="MS", location="lab", characters=characters,
                text="They wait.", duration=COUNT / FPS)


def clip(people: list[Standing], out: Path) -> Path:
    footage.write_frames(frames(people, COUNT), FPS, out)
    return out


def checks_of(path: Path, cast: list[str], series: Series) -> dict[str, qc.Check]:
    return {check.name: check for check in qc.shot_checks(path, shot(cast), series)}


def test_the_same_face_at_another_size_angle_and_light_passes_identity(series: Series, tmp_path: Path) -> None:
    turned = clip([Standing(astronaut_head(), 0.25, scale=1.25, angle=10, light=0.6)], tmp_path / "turned.mp4")
    found = checks_of(turned, ["lin"], series)["identity"]
    assert found.passed and found.score > 0.8, found
    assert found.extractor == "dlib"
    assert "LIN" in found.reason and "face, 3/3 matched in 3/3 frames" in found.reason


def test_another_persons_face_fails_identity(series: Series, tmp_path: Path) -> None:
    impostor = clip([Standing(hopper_head(), 0.3)], tmp_path / "impostor.mp4")
    found = checks_of(impostor, ["lin"], series)["identity"]
    assert not found.passed and found.score < 0.5, found
    assert "0/3 matched" in found.reason


@pytest.mark.parametrize("lin_at, kai_at", [(0.05, 0.55), (0.55, 0.05)])
def test_two_cast_characters_are_told_apart_wherever_they_stand(series: Series, tmp_path: Path, lin_at: float,
                                                                 kai_at: float) -> None:
    both = clip([Standing(astronaut_head(), lin_at), Standing(hopper_head(), kai_at)], tmp_path / "both.mp4")
    seen = look_for_faces(both, shot(["lin", "kai"]), series)
    extractor = face_extractor_for("dlib")
    lin_reference = identity.reference_faces(series.root / "bible" / "lin.png", extractor)[0].embedding
    assert {key: found.similarity > 0.8 for key, found in seen.characters.items()} == {"lin": True, "kai": True}
    assert extractor.likeness(seen.characters["lin"].embedding, lin_reference) > 0.8
    assert extractor.likeness(seen.characters["kai"].embedding, lin_reference) < 0.5
    checks = {check.name: check for check in qc.shot_checks(both, shot(["lin", "kai"]), series, seen=seen)}
    assert checks["identity"].passed and checks["unknown_faces"].score == 1.0


def test_a_faceless_character_is_judged_by_its_silhouette(series: Series, tmp_path: Path) -> None:
    figure = frames([Standing(astronaut_head(), 0.5)], COUNT)
    figure[:, 60:160, 40:100] = (220, 40, 40)  # the drone, a red shape, beside the astronaut
    path = tmp_path / "drone.mp4"
    footage.write_frames(figure, FPS, path)
    found = checks_of(path, ["lin", "drone"], series)["identity"]
    assert found.passed, found
    assert "DRONE" in found.reason and "silhouette: faceless" in found.reason and "LIN" in found.reason
    frames_only, _ = qc.decode(path)
    assert f"DRONE {qc.checks.silhouette(frames_only, 'drone', series, 'classical'):.2f}" in found.reason


def test_a_face_outside_the_cast_is_reported(series: Series, tmp_path: Path) -> None:
    extra = clip([Standing(astronaut_head(), 0.05), Standing(hopper_head(), 0.55)], tmp_path / "extra.mp4")
    seen = look_for_faces(extra, shot(["lin"]), series)
    found = {check.name: check for check in qc.shot_checks(extra, shot(["lin"]), series, seen=seen)}
    assert found["identity"].passed
    assert found["unknown_faces"].reason == "1 face(s) not in the cast, in 3 of 3 sampled frames"
    assert found["unknown_faces"].score == 0.0 and found["unknown_faces"].passed  # reported; threshold 0 by default
    series.qc.thresholds["unknown_faces"] = 0.5
    assert not qc.checks.unknown_faces(seen, series).passed


@pytest.mark.database
def test_reference_faces_are_computed_once_per_image_and_kept_by_its_hash(series: Series, database_url: str) -> None:
    engine = open_database(database_url)
    extractor = face_extractor_for("dlib")
    first = identity.bible_faces(series, extractor, engine)
    identity._known.clear()  # a new process: the faces come back from the database
    again = identity.bible_faces(series, extractor, engine)
    assert [(ref.character, len(ref.faces)) for ref in again] == [("lin", 1), ("kai", 1)]
    assert np.allclose(first[0].faces[0].embedding, again[0].faces[0].embedding, atol=1e-5)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.ReferenceFaces)) == 2


def test_bible_check_reports_references_without_a_face_or_with_several(series: Series, tmp_path: Path) -> None:
    import yaml

    pair = np.concatenate([np.asarray(astronaut_head()), np.asarray(hopper_head())], axis=1)
    save(__import__("PIL.Image", fromlist=["Image"]).fromarray(pair), series.root / "bible" / "pair.png")
    bible = series.model_dump(mode="json", exclude_none=True)
    bible["characters"]["lin"]["references"].append("bible/pair.png")
    bible["characters"]["kai"]["references"] = ["bible/lab.png"]
    (series.root / "series.yaml").write_text(yaml.safe_dump(bible))
    done = CliRunner().invoke(app, ["bible", "check", str(series.root), "--home", str(tmp_path / "home")],
                              env={"AIGMS_DATABASE_URL": ""})
    assert done.exit_code == 1, done.output
    assert "2 faces found" in done.output and "no face found" in done.output
    assert "KAI has no reference with exactly one face" in done.output
    assert "faceless" in done.output and "in the face bank" in done.output


@pytest.mark.database
def test_a_wrong_face_is_filmed_again_and_the_right_one_cut_in(series: Series, tmp_path: Path, database_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "faces-testcard", "face_testcard")
    cast = shot(["lin"]).model_copy(update={"location": None})
    series.generator = GeneratorSettings(backend="faces-testcard", seed=7,
                                         options={"good_seed": take_seed(7, cast.id, 1)})
    engine = open_database(database_url)
    result = render_shot(engine, tmp_path / "store", series, cast, None)
    assert len(result.takes) == 2 and result.selected == result.takes[1]
    with session_scope(engine) as session:
        scores = {row.take_id: row for row in session.scalars(select(models.IdentityScore))}
        kept = session.get(models.TakeFaces, result.selected.take_id)
        assert scores[result.takes[0].take_id].similarity < 0.5 < scores[result.takes[1].take_id].similarity
        assert (kept.extractor, kept.frames, kept.unknown) == ("dlib", [0, 6, 11], 0)
        assert all(face is not None and len(face) == 128 for face in kept.faces)


def test_the_research_metrics_follow_their_papers() -> None:
    """VGoT: consecutive frames' first faces, a frame without a face counting 0; the last 8 frames of a shot against
    the first 8 of the next. DreamFactory: a character's face distance between scenes."""
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert metrics.within_shot([a, a, None, a]) == pytest.approx((1 + 0 + 0) / 3)
    before = metrics.CutShot(("e1", 1), [0, 6, 12, 18, 23], [a, a, a, b, a], {"lin": a}, "dlib")
    after = metrics.CutShot(("e1", 2), [0, 6, 12, 23], [b, b, a, a], {"lin": b}, "dlib")
    assert metrics.cross_shot(before, after) == pytest.approx((1.0 + 0.0) / 2)  # frames 18, 23 against 0, 6
    assert metrics.cross_scene_distance([before, after]) == (pytest.approx(np.sqrt(2)), 1)
    found = {m.name: m for m in metrics.story_metrics([[before, after]])}
    assert found[metrics.WITHIN_SHOT].value == pytest.approx((0.5 + 2 / 3) / 2)
    assert (found[metrics.CROSS_SHOT].count, found[metrics.CROSS_SCENE].count) == (1, 1)


def test_the_series_chart_links_weak_shots_and_flags_a_character_who_drifts() -> None:
    shots = [ChartShot(1, "s01e01", 11, "010", {"lin": 0.92}), ChartShot(1, "s01e01", 12, "020", {"lin": 0.9}),
             ChartShot(2, "s01e02", 21, "010", {"lin": 0.45}), ChartShot(2, "s01e02", 22, "020", {"lin": 0.42}),
             ChartShot(2, "s01e02", 23, "030", {"kai": 0.88})]
    drawn = chart(shots, {"lin": "LIN", "kai": "KAI"}, 0.5, 0.1, lambda found: f"/shots/{found.shot_id}")
    lin = next(line for line in drawn.lines if line.key == "lin")
    assert [point.href for point in lin.below] == ["/shots/21", "/shots/22"]
    assert lin.flagged and lin.drift == pytest.approx(0.475) and "update the bible or retake s01e02" in lin.advice
    assert [line.key for line in drawn.flagged] == ["lin"]
    svg = drawn.svg()
    assert svg.count('<a href="/shots/2') == 2 and "<script" not in svg
    assert "LIN · drift 0.48 between episodes · flagged" in svg
