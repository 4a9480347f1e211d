"""Identity by faces on real photographs that ship inside packages (scikit-image's astronaut, matplotlib's Grace
Hopper), composited into frames and encoded with ffmpeg: the same face at another size, angle and light passes,
another person fails, two cast characters are told apart wherever they stand, a faceless character keeps the
silhouette check, a face outside the cast is reported, and the retake policy films a wrong face again. Nothing is
downloaded: every test here runs with connections off this machine refused."""

import re
import socket
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production import qc
from aigms.production.generate import footage
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
    pair = np.concatenate([np.asarray(astronaut_head()), np.asarray(hopper_head())], axis=1)
    save(Image.fromarray(pair), series.root / "bible" / "pair.png")
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
def test_a_wrong_face_is_filmed_again_and_the_right_one_cut_in(series: Series, tmp_path: Path,
                                                                database_url: str) -> None:
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


def tiny_arcface(folder: Path, size: int = 112, name: str = "w600k_r50.onnx") -> Path:
    """An ONNX model shaped like ArcFace (N × 3 × size × size in, N × 512 out) with random weights: real plumbing,
    meaningless likeness."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.random.default_rng(0).normal(size=(3, 512)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input.1"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["683"])],
        "tiny-arcface", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["N", 512])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, folder / name)
    return folder


def test_an_arcface_folder_must_hold_a_112_pixel_model(tmp_path: Path) -> None:
    from aigms.production.qc.faces import ArcFace
    from aigms.schemas.errors import InputError

    with pytest.raises(InputError, match="face model folder not found"):
        ArcFace(tmp_path / "missing")
    detector_only = tiny_arcface(tmp_path / "buffalo-tiny", size=640, name="det_10g.onnx")
    (detector_only / "README.onnx").write_text("not a model")
    with pytest.raises(InputError, match="no ONNX model with a 3 × 112 × 112 input"):
        ArcFace(detector_only)
    tiny_arcface(detector_only)
    assert ArcFace(detector_only).name == "insightface:buffalo-tiny"


def test_a_face_is_aligned_on_arcfaces_five_points_and_fed_as_it_expects() -> None:
    from aigms.production.qc.faces import ARCFACE_POINTS, align, arcface_input

    angle, scale, shift = np.radians(20), 2.5, np.array([140.0, 60.0])
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
    points = ARCFACE_POINTS @ turn.T + shift
    picture = np.zeros((480, 640, 3), dtype=np.uint8)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    for (x, y), colour in zip(points, colours):
        picture[round(y) - 4:round(y) + 5, round(x) - 4:round(x) + 5] = colour
    crop = align(picture, points)
    assert crop.shape == (112, 112, 3)
    assert [tuple(int(v) for v in crop[round(y), round(x)]) for x, y in ARCFACE_POINTS] == colours
    red = arcface_input([np.full((112, 112, 3), (255, 0, 0), dtype=np.uint8)])
    assert red.shape == (1, 3, 112, 112) and red.dtype == np.float32
    assert (red[0, 0].min(), red[0, 1].max(), red[0, 2].max()) == (1.0, -1.0, -1.0)


def test_a_studios_arcface_model_judges_identity_through_the_same_check(series: Series, tmp_path: Path) -> None:
    series.qc.faces = f"insightface:{tiny_arcface(tmp_path / 'buffalo-tiny')}"
    path = clip([Standing(astronaut_head(), 0.3)], tmp_path / "lin.mp4")
    seen = look_for_faces(path, shot(["lin"]), series)
    lin = seen.characters["lin"]
    assert (seen.extractor, lin.seen, lin.embedding.shape) == ("insightface:buffalo-tiny", 3, (512,))
    assert np.linalg.norm(seen.first_faces[0]) == pytest.approx(1.0, abs=1e-5)
    found = {check.name: check for check in qc.shot_checks(path, shot(["lin"]), series, seen=seen)}
    assert found["identity"].extractor == "insightface:buffalo-tiny" and 0.0 <= found["identity"].score <= 1.0


SCRIPT = """Title: {title}

INT. LAB - NIGHT

LIN
It moved.

KAI
Then we wait.
"""


@pytest.fixture(scope="module")
def filmed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two episodes of LIN (the astronaut) and KAI (Grace Hopper) filmed by the animatic from head-and-shoulders
    references, each take checked with faces, as `aigms render` does it without Prefect. The identity threshold
    is one no take reaches, so every shot is a point to follow up on the chart."""
    from aigms.production.bible import load_series
    from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, read_episode
    from databases import fresh_database_url

    root = tmp_path_factory.mktemp("faces-series")
    folder = root / "series"
    save(astronaut_head(), folder / "bible" / "lin.png")
    save(hopper_head(), folder / "bible" / "kai.png")
    draw_plate(folder / "bible" / "lab.png", (70, 90, 110))
    (folder / "episodes").mkdir()
    for code in ("s01e01", "s01e02"):
        (folder / "episodes" / f"{code}.fountain").write_text(SCRIPT.format(title=code))
    (folder / "series.yaml").write_text(yaml.safe_dump({
        "id": "faces", "title": "Faces", "delivery": {"width": 480, "height": 270, "fps": FPS},
        "characters": {"lin": {"name": "LIN", "references": ["bible/lin.png"]},
                       "kai": {"name": "KAI", "references": ["bible/kai.png"]}},
        "locations": {"lab": {"name": "LAB", "references": ["bible/lab.png"]}},
        "storyboard": {"rules": ["dialogue_coverage"]},
        "qc": {"faces": "dlib", "face_every": 12, "retakes": 1, "thresholds": {"identity": 0.99}},
        "episodes": [{"id": code, "script": f"episodes/{code}.fountain"} for code in ("s01e01", "s01e02")]}))
    series = load_series(folder)
    database_url = fresh_database_url(root / "home")
    engine = open_database(database_url)
    with session_scope(engine) as session:
        report = IngestReport()
        ingest_series(session, series, report)
        for code in ("s01e01", "s01e02"):
            ingest_episode(session, series, read_episode(series, code), report)
        planned = [(row.id, row.spec) for row in session.scalars(select(models.Shot).order_by(models.Shot.id))]
    for row_id, spec in planned:
        render_shot(engine, root / "home" / "store", series, Shot.model_validate(spec), row_id)
    return {"root": root, "series": folder, "home": root / "home", "database": database_url}


@pytest.mark.database
def test_aigms_qc_prints_the_research_metrics_beside_the_papers_and_draws_the_series_chart(filmed: dict) -> None:
    report = filmed["root"] / "s01e02-qc.html"
    done = CliRunner().invoke(app, ["qc", "s01e02", "--series", str(filmed["series"]), "--home", str(filmed["home"]),
                                    "--out", str(report)], env={"AIGMS_DATABASE_URL": filmed["database"]})
    assert done.exit_code in (0, 1), done.output
    assert "within-shot face consistency" in done.output and "VGoT 0.8138" in done.output
    with session_scope(open_database(filmed["database"])) as session:
        rows = session.scalars(select(models.IdentityMetric)).all()
        by_scope = {(row.episode_id is None, row.metric): row for row in rows}
        assert len(rows) == 6 and {row.extractor for row in rows} == {"dlib"}
        assert by_scope[(False, metrics.WITHIN_SHOT)].value > 0.9  # the animatic holds each face still
        assert by_scope[(True, metrics.CROSS_SCENE)].count == 2  # LIN and KAI, each in two episodes' scenes
    html = report.read_text()
    assert 'id="identity-chart"' in html and html.count('class="identity-chart"') == 1
    assert "LIN" in html and "KAI" in html and "VGoT 0.8138" in html and "<script" not in html


@pytest.mark.database
def test_the_dashboard_draws_identity_across_the_series_without_scripts(filmed: dict) -> None:
    from starlette.testclient import TestClient

    from aigms.dashboard.app import Settings, create_app, new_secret
    from aigms.production.review import people
    from episode import PASSWORDS, sign_in

    with session_scope(open_database(filmed["database"])) as session:
        people.add_user(session, "mei", "director", PASSWORDS["mei"])
        shot_ids = set(session.scalars(select(models.Shot.id)))
    client = TestClient(create_app(Settings(filmed["database"], filmed["home"] / "store", new_secret())))
    assert client.get("/series/faces/identity", follow_redirects=False).status_code == 303
    sign_in(client, "mei")
    page = client.get("/series/faces/identity")
    assert page.status_code == 200
    assert page.text.count("<svg") == 1 and not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script
    assert "LIN" in page.text and "KAI" in page.text and "s01e01" in page.text and "s01e02" in page.text
    linked = {int(found) for found in re.findall(r'href="/shots/(\d+)"', page.text)}
    assert linked == shot_ids
    assert client.get("/series/nobody/identity").status_code == 404
