"""Generation on real diffusers pipelines: tiny random-weight Wan and LTX pipelines saved to a folder and named in
`series.yaml` as `diffusers:<folder>`, rendered through the episode flow and checked as an editor would — playable
clips of the right length, keyframes in the store, conditioning that changes the picture, takes that reproduce.
Marked `database` are the tests about what a failed take leaves in the database; the rest are about the models and
the picture and stay on SQLite (the rows a render writes are tested on PostgreSQL by the session's episode)."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from typer.testing import CliRunner

from aigms.cli import app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.generate import footage
from aigms.production.store import assets, media
from aigms.production.generate.conform import conform
from aigms.production.generate.takes import native_size, render_shot, render_take, snap_frames, split_segments
from aigms.production.generate.generators import Capabilities, SegmentRequest, diffusers as backend
from aigms.schemas.series import Delivery, GeneratorSettings, Series
from aigms.schemas.shotlist import Segment, Shot
from builders import tiny_series
from databases import fresh_database_url

SCRIPT = """Title: Tiny

INT. LAB - NIGHT

Lin waits.

Lin walks along the bench past the shelves and the monitors toward the far window.
"""
TINY_CALL = {"fps": 8, "width": 64, "height": 64, "steps": 2, "call": {"max_sequence_length": 16}}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Imported here, not at the top: torch and transformers cost a pytest-xdist worker that never runs these tests
    ~4 s of collecting."""
    import tiny_pipelines

    root = tmp_path_factory.mktemp("models")
    return {
        "wan": tiny_pipelines.wan(root / "wan"), "ltx": tiny_pipelines.ltx(root / "ltx"),
        "black": tiny_pipelines.ltx(root / "black", black=True), "sd": tiny_pipelines.stable_diffusion(root / "sd"),
    }


def write_series(root: Path, generator: GeneratorSettings) -> Series:
    series = tiny_series(root)
    series.generator = generator
    # No establishing shots: two shots of the same action keep these tests about the camera, and short.
    series.storyboard.rules = ["dialogue_coverage", "action_coverage", "scene_transition"]
    # Random weights film noise, which fails QC: no retakes, so these tests count the takes they asked for.
    series.qc.retakes = 1
    bible = series.model_dump(mode="json")
    bible["episodes"] = [{"id": "s01e01", "script": "episodes/s01e01.fountain"}]
    (root / "episodes").mkdir(parents=True, exist_ok=True)
    (root / "episodes" / "s01e01.fountain").write_text(SCRIPT)
    (root / "series.yaml").write_text(yaml.safe_dump(bible, allow_unicode=True, sort_keys=False))
    return series


def aigms(database_url: str, *args: str) -> Result:
    """`aigms ARGS` on the database the test gave it."""
    return CliRunner().invoke(app, list(args), env={"AIGMS_DATABASE_URL": database_url, "COLUMNS": "200"})


def render(series: Path, home: Path, database_url: str, takes: int = 1) -> None:
    """The episode through the flow, as `aigms render --force` runs it (without the speech recogniser: these
    tests are about the picture)."""
    from aigms.flows.episode import render_episode

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGMS_DATABASE_URL", database_url)
        patch.setenv("AIGMS_WHISPER", "none")
        render_episode(str(series), "s01e01", str(home / "out"), str(home), force=True, takes=takes)


def takes_of(database_url: str) -> dict[str, list[models.Take]]:
    """Every take by shot code, in the order they were made, with their assets loaded."""
    with session_scope(open_database(database_url)) as session:
        rows = session.scalars(select(models.Take).options(selectinload(models.Take.asset)).order_by(models.Take.id))
        by_shot: dict[str, list[models.Take]] = {}
        for take in rows:
            code = take.recipe["shot"] if take.kind == models.TAKE_KEYFRAME else take.recipe["shot"]["id"]
            by_shot.setdefault(code, []).append(take)
        session.expunge_all()
        return by_shot


def stored(render: dict, sha256: str) -> Path:
    with session_scope(open_database(render["database"])) as session:
        asset = session.scalar(select(models.Asset).where(models.Asset.sha256 == sha256))
        return assets.asset_file(render["home"] / "store", asset)


@pytest.fixture(scope="module")
def wan_render(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path], prefect: None) -> dict:
    root = tmp_path_factory.mktemp("wan")
    options = {**TINY_CALL, "max_frames": 17}
    write_series(root / "series", GeneratorSettings(backend=f"diffusers:{tiny_models['wan']}", seed=5, options=options))
    database_url = fresh_database_url(root / "home")
    render(root / "series", root / "home", database_url, takes=2)
    return {"home": root / "home", "database": database_url, "takes": takes_of(database_url)}


@pytest.fixture(scope="module")
def ltx_render(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path], prefect: None) -> dict:
    root = tmp_path_factory.mktemp("ltx")
    options = {**TINY_CALL, "max_frames": 21, "keyframe": str(tiny_models["sd"]), "keyframe_steps": 2}
    write_series(root / "series", GeneratorSettings(backend=f"diffusers:{tiny_models['ltx']}", seed=5, options=options))
    database_url = fresh_database_url(root / "home")
    render(root / "series", root / "home", database_url)
    return {"home": root / "home", "database": database_url, "takes": takes_of(database_url)}


def clip_takes(takes: list[models.Take]) -> list[models.Take]:
    return [take for take in takes if take.kind == models.TAKE_CLIP and take.status == models.TAKE_OK]


def assert_playable(path: Path, frames: int, width: int, height: int, fps: float) -> None:
    info = media.probe(path)
    assert (info.video_codec, info.width, info.height, info.fps, info.frames) == ("h264", width, height, fps, frames)
    assert len(footage.read_frames(path)) == frames


def test_text_to_video_renders_a_clip_at_the_delivery_spec(wan_render: dict) -> None:
    take = clip_takes(wan_render["takes"]["010"])[0]
    assert [call["mode"] for call in take.recipe["calls"]] == ["t2v"]
    assert take.recipe["calls"][0]["pipeline"] == "WanPipeline"
    duration = take.recipe["shot"]["duration"]
    assert_playable(assets.asset_file(wan_render["home"] / "store", take.asset), round(duration * 24), 320, 180, 24)


def test_long_shot_is_a_three_segment_chain_without_repeated_frames(wan_render: dict) -> None:
    take = clip_takes(wan_render["takes"]["020"])[0]
    calls = take.recipe["calls"]
    assert take.recipe["shot"]["duration"] == 5.0
    assert [call["mode"] for call in calls] == ["t2v", "i2v", "i2v"]
    assert [call["pipeline"] for call in calls] == ["WanPipeline", "WanImageToVideoPipeline", "WanImageToVideoPipeline"]
    assert all((call["frames"] - 1) % 4 == 0 and call["width"] % 32 == 0 for call in calls)
    native = stored(wan_render, take.recipe["native"])
    assert_playable(native, 40, calls[0]["width"], calls[0]["height"], 8)
    assert_playable(assets.asset_file(wan_render["home"] / "store", take.asset), 120, 320, 180, 24)
    assert sum(call["frames"] for call in calls) > 40  # the overlap and the model's own lengths were trimmed


def test_takes_option_makes_several_takes_with_seeds_from_the_shot(wan_render: dict) -> None:
    for code in ("010", "020"):
        takes = clip_takes(wan_render["takes"][code])
        assert len(takes) == 2
        assert takes[0].seed != takes[1].seed
        assert takes[0].asset.sha256 != takes[1].asset.sha256
    assert {take.seed for take in clip_takes(wan_render["takes"]["010"])}.isdisjoint(
        {take.seed for take in clip_takes(wan_render["takes"]["020"])})


def test_take_recipe_names_model_pipeline_dtype_and_software(wan_render: dict) -> None:
    recipe = clip_takes(wan_render["takes"]["010"])[0].recipe
    assert recipe["generator"]["pipeline"] == "WanPipeline"
    assert recipe["generator"]["dtype"] == "float32" and recipe["generator"]["device"] == "cpu"
    assert recipe["generator"]["revision"].startswith("folder:")
    assert {"diffusers", "torch", "transformers"} <= set(recipe["software"])
    assert recipe["calls"][0]["steps"] == 2


def test_keyframe_is_an_asset_and_the_first_segment_starts_from_it(ltx_render: dict) -> None:
    for code in ("010", "020"):
        keyframe = next(t for t in ltx_render["takes"][code] if t.kind == models.TAKE_KEYFRAME)
        assert keyframe.status == models.TAKE_OK and keyframe.asset.kind == "keyframe"
        still = Image.open(assets.asset_file(ltx_render["home"] / "store", keyframe.asset))
        clip = clip_takes(ltx_render["takes"][code])[0]
        assert clip.recipe["keyframe"] == keyframe.asset.sha256
        first = clip.recipe["calls"][0]
        assert (first["mode"], first["pipeline"]) == ("i2v", "LTXImageToVideoPipeline")
        assert first["conditioning"]["image"] == keyframe.asset.sha256
        assert still.size == (first["width"], first["height"])


def test_keyframes_are_reviewed_on_the_storyboard_before_any_video(ltx_render: dict, tmp_path: Path) -> None:
    home = ltx_render["home"]
    series = home.parent / "series"

    def shots(*args: str) -> Result:
        return aigms(ltx_render["database"], "shots", *args, "s01e01", "--series", str(series), "--home", str(home))

    made = shots("keyframes")
    assert made.exit_code == 0, made.output
    assert "2 keyframes (0 made, 2 already made)" in made.stdout
    sheet = tmp_path / "board.html"
    assert shots("board", "--out", str(sheet)).exit_code == 0
    assert sheet.read_text().count("(keyframe)") == 2


def test_ltx_continues_a_chain_from_a_video_condition(ltx_render: dict) -> None:
    take = clip_takes(ltx_render["takes"]["020"])[0]
    calls = take.recipe["calls"]
    assert [call["mode"] for call in calls] == ["i2v", "extend", "extend"]
    assert calls[1]["pipeline"] == "LTXConditionPipeline" and calls[1]["conditioning"]["video"]
    assert_playable(assets.asset_file(ltx_render["home"] / "store", take.asset), 120, 320, 180, 24)
    assert_playable(stored(ltx_render, take.recipe["native"]), 40, calls[0]["width"], calls[0]["height"], 8)


def test_ltx_keeps_latent_frame_zero_equal_to_the_encoded_image(tiny_models: dict[str, Path]) -> None:
    import torch
    from diffusers.pipelines.ltx.pipeline_ltx_image2video import retrieve_latents

    pipeline = backend.variant(backend.load(str(tiny_models["ltx"]), {}), "i2v")
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 96, 3), dtype=np.uint8))
    first_frames = []

    spatial, temporal = pipeline.vae_spatial_compression_ratio, pipeline.vae_temporal_compression_ratio

    def keep_frame_zero(pipe, step, timestep, tensors):
        latents = pipe._unpack_latents(tensors["latents"], 8 // temporal + 1, 64 // spatial, 96 // spatial, 1, 1)
        first_frames.append(latents[:, :, 0].clone())
        return tensors

    pipeline(image=image, prompt="lin waits", height=64, width=96, num_frames=9, num_inference_steps=3,
             generator=torch.Generator().manual_seed(4), output_type="latent", max_sequence_length=16,
             callback_on_step_end=keep_frame_zero)
    pixels = pipeline.video_processor.preprocess(image, height=64, width=96).unsqueeze(2)
    encoded = retrieve_latents(pipeline.vae.encode(pixels), torch.Generator().manual_seed(4))
    encoded = pipeline._normalize_latents(encoded, pipeline.vae.latents_mean, pipeline.vae.latents_std)
    assert len(first_frames) == 3
    for frame in first_frames:
        torch.testing.assert_close(frame, encoded[:, :, 0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("model", ["wan", "ltx"])
def test_another_first_frame_gives_another_clip(model: str, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    series = tiny_series(tmp_path / "series")
    shot = Shot(id="010", scene=1, kind="action", text="Lin waits.", duration=1.0)
    images = {}
    for name, colour in (("red", (220, 30, 30)), ("red-again", (220, 30, 30)), ("blue", (30, 30, 220))):
        images[name] = tmp_path / f"{name}.png"
        Image.new("RGB", (96, 64), colour).save(images[name])
    frames = {}
    for name, image in images.items():
        request = SegmentRequest(shot=shot, series=series, model=str(tiny_models[model]), options=TINY_CALL, index=0,
                                 mode="i2v", prompt="lin waits", seed=3, frames=9, width=96, height=64, fps=8,
                                 image=image)
        backend.render_segment(request, tmp_path / f"{name}.mkv")
        frames[name] = footage.read_frames(tmp_path / f"{name}.mkv").astype(np.int16)
    assert np.array_equal(frames["red"], frames["red-again"])
    assert np.abs(frames["red"] - frames["blue"]).mean() > 1.0


def test_same_recipe_makes_the_same_bytes_and_another_seed_does_not(tiny_models: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    series = tiny_series(tmp_path / "series")
    series.generator = GeneratorSettings(backend=f"diffusers:{tiny_models['wan']}",
                                         options={**TINY_CALL, "max_frames": 9})
    shot = Shot(id="030", scene=1, kind="action", location="lab", text="Lin waits.", prompt="lin waits", duration=2.0)
    clips = []
    for home, seed in (("a", 11), ("b", 11), ("c", 12)):
        engine = open_database(fresh_database_url(tmp_path / home))
        take = render_take(engine, tmp_path / home / "store", series, shot, None, seed)
        assert not take.reused
        clips.append(take.clip)
    assert hashlib.sha256(clips[0].read_bytes()).digest() == hashlib.sha256(clips[1].read_bytes()).digest()
    assert not np.array_equal(footage.read_frames(clips[0]), footage.read_frames(clips[2]))


@pytest.mark.database
def test_black_output_fails_the_take_retries_and_the_animatic_stands_in(tiny_models: dict[str, Path], tmp_path: Path,
                                                                        database_url: str) -> None:
    series = tiny_series(tmp_path / "series")
    series.generator = GeneratorSettings(backend=f"diffusers:{tiny_models['black']}",
                                         options={**TINY_CALL, "max_frames": 9, "retries": 1})
    shot = Shot(id="040", scene=1, kind="action", location="lab", text="Lin waits.", duration=1.0)
    engine = open_database(database_url)
    result = render_shot(engine, tmp_path / "store", series, shot, None)
    with session_scope(engine) as session:
        takes = session.scalars(select(models.Take).order_by(models.Take.id)).all()
        assert [(t.generator.split(":")[0], t.status) for t in takes] == [
            ("diffusers", "failed"), ("diffusers", "failed"), ("animatic", "ok")]
        assert all("all-black" in t.failure_reason for t in takes[:2])
        assert takes[0].seed != takes[1].seed
        calls = session.scalars(select(models.ModelCall).order_by(models.ModelCall.id)).all()
        assert [(call.backend, call.state, call.device, call.take_id) for call in calls] == [
            ("diffusers", "failed", "cpu", takes[0].id), ("diffusers", "failed", "cpu", takes[1].id),
            ("animatic", "succeeded", "cpu", takes[2].id)]
        assert all(call.device_seconds > 0 for call in calls)  # a failed call held its device too
    assert result.selected.generator == "animatic"
    assert media.probe(result.selected.clip).frames == 24


@pytest.mark.database
def test_a_model_missing_offline_fails_once_without_retry(tmp_path: Path, database_url: str) -> None:
    series = tiny_series(tmp_path / "series")
    series.generator = GeneratorSettings(backend="diffusers:nobody/no-such-video-model", options={"retries": 3})
    shot = Shot(id="050", scene=1, kind="action", text="Lin waits.", duration=1.0)
    engine = open_database(database_url)
    result = render_shot(engine, tmp_path / "store", series, shot, None)
    with session_scope(engine) as session:
        failed = session.scalars(select(models.Take).where(models.Take.status == models.TAKE_FAILED)).all()
        assert len(failed) == 1
        assert "nobody/no-such-video-model" in failed[0].failure_reason
    assert result.selected.generator == "animatic"
    assert any("every take failed" in failure for failure in result.failures)


def test_pipeline_is_loaded_once_per_process_across_shots(tiny_models: dict[str, Path], tmp_path: Path,
                                                         database_url: str) -> None:
    series = tiny_series(tmp_path / "series")
    series.generator = GeneratorSettings(backend=f"diffusers:{tiny_models['ltx']}",
                                         options={**TINY_CALL, "max_frames": 9})
    series.qc.enabled = False  # random weights film noise: no retakes, a take a shot
    engine = open_database(database_url)
    for number in (1, 2, 3):
        shot = Shot(id=f"{number}00", scene=1, kind="action", text=f"Lin waits {number}.", duration=1.0)
        render_shot(engine, tmp_path / "store", series, shot, None)
    assert backend.loads[str(tiny_models["ltx"])] == 1


def test_capabilities_are_read_from_the_pipeline(tiny_models: dict[str, Path]) -> None:
    wan = backend.capabilities(str(tiny_models["wan"]), {"max_frames": 17, "fps": 8})
    assert (wan.modes, wan.frame_step, wan.size_step, wan.first_frame, wan.video_condition) == (
        frozenset({"t2v", "i2v"}), 4, 32, True, 0)
    assert wan.max_segment_seconds == 2.0
    ltx = backend.capabilities(str(tiny_models["ltx"]), {})
    assert ltx.modes == frozenset({"t2v", "i2v", "extend"}) and ltx.video_condition == 5
    assert (ltx.fps, ltx.size) == (25, (704, 512))


def test_frames_and_sizes_snap_to_what_the_model_accepts() -> None:
    assert [snap_frames(n, 4) for n in (1, 2, 5, 6, 81)] == [1, 5, 5, 9, 81]
    assert snap_frames(40, 8) == 41
    wan = Capabilities(size=(832, 480), size_step=16)
    assert native_size(wan, 1920, 1080) == (848, 480)
    assert native_size(wan, 1080, 1920) == (480, 848)
    assert native_size(Capabilities(), 1920, 1080) == (1920, 1080)


def test_a_shot_without_segments_is_split_by_the_longest_call() -> None:
    shot = Shot(id="010", scene=1, kind="action", text="A long walk.", prompt="walk", duration=12.0)
    segments = split_segments(shot, 5.0)
    assert [(s.start, s.duration, s.mode, s.prompt) for s in segments] == [
        (0.0, 4.0, "t2v", "walk"), (4.0, 4.0, "extend", "walk"), (8.0, 4.0, "extend", "walk")]
    planned = shot.model_copy(update={"segments": [
        Segment(index=0, start=0, duration=4, mode="i2v", prompt="she stops"),
        Segment(index=1, start=4, duration=8, mode="extend", prompt="she turns")]})
    assert [(s.duration, s.prompt) for s in split_segments(planned, 5.0)] == [
        (4.0, "she stops"), (4.0, "she turns"), (4.0, "she turns")]
    assert len(split_segments(shot, None)) == 1


def test_conform_pads_or_crops_to_the_delivery_shape(tmp_path: Path) -> None:
    square = np.full((8, 96, 96, 3), 255, dtype=np.uint8)
    footage.write_frames(square, 8, tmp_path / "square.mkv")
    delivery = Delivery(width=320, height=180, fps=24)
    for fit in ("pad", "crop"):
        conform(tmp_path / "square.mkv", delivery, 24, tmp_path / f"{fit}.mp4", fit=fit)
        assert_playable(tmp_path / f"{fit}.mp4", 24, 320, 180, 24)
    padded, cropped = (footage.read_frames(tmp_path / f"{fit}.mp4")[0] for fit in ("pad", "crop"))
    assert padded[:, :40].max() < 30 and padded[:, 160].min() > 220
    assert cropped.min() > 220


def test_conform_interpolates_motion_up_to_the_delivery_fps(tmp_path: Path) -> None:
    ramp = np.stack([np.full((64, 96, 3), 20 * n, dtype=np.uint8) for n in range(8)])
    footage.write_frames(ramp, 8, tmp_path / "ramp.mkv")
    delivery = Delivery(width=192, height=128, fps=24)
    for motion in ("duplicate", "interpolate"):
        conform(tmp_path / "ramp.mkv", delivery, 24, tmp_path / f"{motion}.mp4", motion=motion)
        assert_playable(tmp_path / f"{motion}.mp4", 24, 192, 128, 24)
    levels = {motion: [round(float(frame.mean())) for frame in footage.read_frames(tmp_path / f"{motion}.mp4")]
              for motion in ("duplicate", "interpolate")}
    assert len(set(levels["duplicate"][:12])) == 4  # each source frame held three times
    assert len(set(levels["interpolate"][:12])) > 4  # frames made in between


@pytest.mark.database
def test_a_shot_can_name_its_own_generator(tmp_path: Path, database_url: str) -> None:
    series = tiny_series(tmp_path / "series")
    series.generator = GeneratorSettings(backend="diffusers:nobody/no-such-video-model")
    shot = Shot(id="060", scene=1, kind="action", text="Lin waits.", duration=1.0,
                generator=GeneratorSettings(backend="animatic", seed=2))
    result = render_shot(open_database(database_url), tmp_path / "store", series, shot, None)
    assert (result.selected.generator, result.failures) == ("animatic", [])
