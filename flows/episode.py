"""The episode flow: script → shot list → one take per shot → voices → edit → subtitles → delivery.
The only place that knows the order of the stages; the work itself lives in `aigms.production`.

Filming, recording and cutting are cached by Prefect under the content hash of their inputs (`aigms.flows.caching`),
so a re-render runs only the tasks a change touches; a cached result is used only while the rows and files it names
are still there. Lines are recorded while shots are filmed: CPU work overlaps generation, which the `generate` tag
holds to one shot per GPU (`aigms.flows.concurrency`)."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from prefect import Task, flow, get_run_logger, task, unmapped
from prefect.states import State
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aigms.db import models, spend
from aigms.db.session import open_database, session_scope
from aigms.flows import settings
from aigms.flows.artifacts import publish_episode
from aigms.flows.caching import across_key, check_key, cut_key, film_key, keyframe_key, line_key, take_key
from aigms.flows.concurrency import (GENERATE_TAG, ensure_generation_limit, ensure_provider_limits, provider_tag,
                                     tags_for)
from aigms.flows.locking import one_render_at_a_time
from aigms.production import deliver, generate, progress, qc, review
from aigms.production.deliver import interchange
from aigms.production.deliver.cut import alternate_takes
from aigms.production.post import edit, subtitles, transcribe, voice
from aigms.production.store import assets, media
from aigms.production.bible import load_series
from aigms.production.review import film_jobs
from aigms.production.review import selection
from aigms.production.review.selection import takes_for_cut
from aigms.production.storyboard.approval import require_approved
from aigms.production.generate import costs, lipsync
from aigms.production.generate.remote import StopRender
from aigms.production.generate.takes import RenderedTake, ShotResult, Steps, check_generators, render_shot
from aigms.production.generate.generators import GenerationFailed, Generator
from aigms.production.store.assets import canonical_sha256
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, load_shotlist, read_episode
from aigms.schemas.errors import InputError
from aigms.schemas.series import Budget, Series, Voice
from aigms.schemas.shotlist import Shot, ShotList


@dataclass(frozen=True)
class EpisodeResult:
    """What a render delivered; a render of some shots that cannot cut the episode yet (a shot never filmed)
    delivers no files."""

    folder: Path
    video: Path | None
    subtitles: Path | None
    manifest: Path | None
    shots: int
    rendered: int
    reused: int
    warnings: list[str]


@task(cache_policy=NONE)
def plan_episode(database_url: str, series: Series, episode_id: str, strict: bool,
                 force: bool) -> tuple[ShotList, dict[str, int], list[str]]:
    """Parse, plan and record the episode; returns the shot list as approved (with people's edits) and each shot's
    row id. An unapproved shot list stops here, before any GPU time, unless forced."""
    source = read_episode(series, episode_id, strict=strict)
    report = IngestReport()
    engine = open_database(database_url)
    with session_scope(engine) as session:
        ingest_series(session, series, report)
        episode = ingest_episode(session, series, source, report)
    with session_scope(engine) as session:
        episode = session.get(models.Episode, episode.id)
        if not force:
            require_approved(episode)
        rows = {row.code: row.id for row in episode.shots}
        return load_shotlist(session, episode), rows, report.warnings


def _retry(_task: Task, _run: Any, state: State) -> bool:
    """Retry a shot, not a render a provider has stopped (no credit, a wrong key): that waits for a person."""
    return not isinstance(state.result(raise_on_failure=False), StopRender)


@task(cache_key_fn=film_key, persist_result=True, retries=1, retry_condition_fn=_retry)
def film_shot(database_url: str, store: Path, series: Series, shot: Shot, shot_row_id: int,
              takes: int = 1) -> ShotResult:
    """The shot's takes and their retakes, each take's keyframe, filming and checks a task of its own. Untagged:
    holding a GPU slot while its own steps wait for one would deadlock a one-GPU machine.

    Retried once: the retry finds the takes the first attempt finished by their recipes. The failure is logged as
    a warning, as Prefect tells of a retry only at INFO."""
    steps = Steps(
        keyframe=lambda seed, generator: (
            _still_there(make_keyframe, database_url, store, series, shot, shot_row_id, seed, generator)
            if generator.options.get("keyframe") else None),
        film=lambda seed, generator, keyframe: _still_there(film_take.with_options(tags=tags_for(generator)),
                                                            database_url, store, series, shot, shot_row_id, seed,
                                                            generator, keyframe),
        check=lambda take: check_take(database_url, series, shot, take),
    )
    try:
        return render_shot(open_database(database_url), store, series, shot, shot_row_id, takes, steps=steps)
    except Exception as error:
        get_run_logger().warning("shot %s: %s: %s", shot.id, type(error).__name__, error)
        raise


@task(cache_key_fn=keyframe_key, persist_result=True, tags=[GENERATE_TAG])
def make_keyframe(database_url: str, store: Path, series: Series, shot: Shot, shot_row_id: int, seed: int,
                  generator: Generator) -> RenderedTake | None:
    return generate.make_keyframe(open_database(database_url), store, series, shot, shot_row_id, seed, generator)


@task(cache_key_fn=take_key, persist_result=True, tags=[GENERATE_TAG])
def film_take(database_url: str, store: Path, series: Series, shot: Shot, shot_row_id: int, seed: int,
              generator: Generator, keyframe: RenderedTake | None) -> RenderedTake:
    """Every segment of the take, chained: a model call each, in one task, since each starts from the frames the
    one before it made."""
    return generate.film_take(open_database(database_url), store, series, shot, shot_row_id, seed, generator,
                              keyframe)


@task(cache_policy=NONE, tags=[provider_tag("kling")])
def sync_lips(database_url: str, store: Path, series: Series, shot: Shot, shot_row_id: int, take: RenderedTake,
              line: edit.LineAudio) -> RenderedTake | None:
    """The dialogue take with its mouth moved to its line (`lipsync: kling`), found by its recipe or made; None,
    with a warning, where the take cannot be lip-synced or Kling's task fails."""
    try:
        synced = lipsync.sync_lips(open_database(database_url), store, series, shot, shot_row_id, take,
                                   line.path, line.sha256, edit.LEAD_IN)
    except GenerationFailed as failure:
        get_run_logger().warning("shot %s: no lip sync: %s", shot.id, failure.reason)
        return None
    selection.select_take(open_database(database_url), shot_row_id, synced.take_id)
    return synced


@task(cache_key_fn=check_key, persist_result=True)
def check_take(database_url: str, series: Series, shot: Shot, take: RenderedTake) -> qc.Verdict:
    return generate.check_take(open_database(database_url), series, shot, take)


def _still_there(step: Task, database_url: str, store: Path, *args: Any) -> RenderedTake:
    """A cached keyframe or take is used only while its row and file are still there; else it is made again."""
    state = step(database_url, store, *args, return_state=True)
    take = state.result()
    if _cached(state) and not _take_is_there(open_database(database_url), store, take):
        take = step.with_options(refresh_cache=True)(database_url, store, *args)
    return take


@task(cache_key_fn=across_key, persist_result=True)
def check_across_shots(database_url: str, store: Path, series: Series, shotlist: ShotList,
                       selected: dict[str, RenderedTake]) -> list[str]:
    """The checks that need every shot filmed: continuity across each cut, each set against its scene."""
    clips = {shot_id: (take.take_id, take.clip, take.clip_sha256) for shot_id, take in selected.items()}
    return qc.check_episode(open_database(database_url), series, shotlist, clips,
                            assets.derived_dir(store, "qc"))


@task(cache_key_fn=line_key, persist_result=True)
def record_line(database_url: str, store: Path, series: Series, language: str, shot: Shot) -> edit.LineAudio:
    """The studio's recording of the line if there is one, else a scratch voice; kept in the asset store. An
    uncast extra speaks with the default voice. The work folder is named for the line, so a recording killed half
    way is cleaned up by the render that resumes it."""
    work = assets.scratch_dir(store) / f"line-{canonical_sha256([voice.line_id(shot), shot.text, language])}"
    work.mkdir(exist_ok=True)
    scratch = work / f"{shot.id}.wav"
    recording = voice.recorded_line(series, shot)
    try:
        if recording is not None:
            seconds = voice.conform_recording(recording, scratch, series.delivery.audio_rate)
        else:
            character = series.characters.get(shot.speaker or "")
            seconds = voice.synthesize(shot.text, language, character.voice if character else Voice(), scratch,
                                       series.delivery.audio_rate)
        source = "recorded" if recording is not None else "scratch"
        with session_scope(open_database(database_url)) as session:
            asset = assets.put_file(session, store, scratch, "audio", {"duration": seconds, "source": source})
            return edit.LineAudio(voice.line_id(shot), source, assets.asset_file(store, asset), seconds, asset.sha256)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class Cut:
    """The delivered episode, with the hash of each file so a cached cut is trusted only while its files hold."""

    video: Path
    subtitles: Path
    manifest: Path
    sha256: dict[str, str]
    warnings: list[str]

    def is_there(self) -> bool:
        return all(path.is_file() and assets.sha256_file(path) == self.sha256[name]
                   for name, path in (("video", self.video), ("subtitles", self.subtitles),
                                      ("manifest", self.manifest)))


@task(cache_key_fn=cut_key, persist_result=True)
def cut_episode(database_url: str, store: Path, series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
                audio: dict[str, edit.LineAudio], folder: Path,
                notes: list[interchange.FrameNote] = ()) -> Cut:
    """Edit, subtitle and deliver, with people's notes on the takes as markers for the editor; the delivered files
    also go into the asset store, each line's check into the database."""
    engine = open_database(database_url)
    timeline, warnings = edit.build_timeline(series, shotlist, takes, audio)
    with ThreadPoolExecutor(max_workers=1) as sound_work:
        # the sound does not wait for the lines to be heard; deliver finds it in the store
        sound = sound_work.submit(edit.kept_sound, timeline, assets.derived_dir(store, "edit"))
        checks = subtitles.hear(timeline, transcribe.parse_transcriber(settings.whisper()),
                                assets.derived_dir(store, "transcripts"))
        sound.result()
    with session_scope(engine) as session:
        failures = deliver.take_failures(session, takes) + interchange.line_failures(checks)
        calls = deliver.take_calls(session, takes)
        take_costs = spend.take_costs(session, [take.take_id for take in takes.values()])
        episode_id = session.scalar(select(models.Episode.id).filter_by(series_id=series.id, code=shotlist.episode))
        spent = spend.episode_costs(session, series.id).get(episode_id)
        alternates = alternate_takes(session, store, episode_id)
    draft = deliver.draft_manifest(series, shotlist, takes, {shot_id: line.sha256 for shot_id, line in audio.items()},
                                   calls, take_costs, spent)
    delivered = deliver.deliver(folder, timeline, checks, failures, draft, alternates, notes,
                                assets.derived_dir(store, "edit"))
    with session_scope(engine) as session:
        if timeline.music is not None:
            assets.put_file(session, store, Path(timeline.music.media.path), "music", move=False)
        for name, kind in (("video", "episode"), ("subtitles", "subtitle"), ("webvtt", "subtitle"),
                           ("otio", "timeline"), ("edl", "timeline"), ("fcp_xml", "timeline"), ("aaf", "timeline")):
            assets.put_file(session, store, delivered.path(name), kind, move=False)
        assets.put_file(session, store, delivered.manifest_path, "manifest", move=False)
        deliver.record_lines(session, series.id, timeline, checks)
    files = {"video": delivered.video, "subtitles": delivered.path("subtitles"), "manifest": delivered.manifest_path}
    return Cut(**files, sha256={name: assets.sha256_file(path) for name, path in files.items()},
               warnings=warnings + delivered.warnings)


def _asset_is_there(engine: Engine, store: Path, sha256: str) -> bool:
    with session_scope(engine) as session:
        asset = session.scalar(select(models.Asset).where(models.Asset.sha256 == sha256))
        return asset is not None and assets.has_file(store, asset)


def _take_is_there(engine: Engine, store: Path, take: RenderedTake) -> bool:
    with session_scope(engine) as session:
        row = session.get(models.Take, take.take_id)
        return (row is not None and row.status == models.TAKE_OK and row.recipe_sha256 == take.recipe_sha256
                and row.asset is not None and assets.has_file(store, row.asset))


def _cached(state: State) -> bool:
    return state.name == "Cached"


@flow(name="render-episode", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=True)
@one_render_at_a_time
def render_episode(series_dir: str, episode_id: str, out_dir: str, home: str | None = None,
                   strict: bool = False, force: bool = False, takes: int = 1, wait: bool = False,
                   budget_override: bool = False, shots: list[str] | None = None,
                   run_id: int | None = None) -> EpisodeResult:
    """Render one episode of the series in `series_dir` into `out_dir/<series>/<episode>/`, `takes` takes a shot;
    the shot list must be approved unless `force` (previs of a draft, tests). Another render of the episode is
    refused, or waited for with `wait` (`one_render_at_a_time`). `budget_override` (a director's call) films past
    the series' budgets; every call is still priced and recorded. `shots` films only the shots named (none when
    empty) and cuts the episode from every other shot's selected take; `run_id` is a film job the dashboard
    queued, whose render run this flow takes over."""
    logger = get_run_logger()
    ensure_generation_limit()
    home_dir = settings.home(home)
    store, database_url = settings.store(home_dir), settings.database(home_dir)
    series = load_series(Path(series_dir))
    if budget_override:
        series = series.model_copy(update={"budget": Budget()})
    shotlist, rows, warnings = plan_episode(database_url, series, episode_id, strict, force)
    for warning in warnings:
        logger.warning(warning)
    check_generators(series, shotlist.shots)
    ensure_provider_limits(series, shotlist.shots)
    engine = open_database(database_url)
    unknown = sorted(set(shots or []) - set(rows))
    if unknown:
        raise InputError(Path(series_dir) / "series.yaml", None, f"no shot {', '.join(unknown)} in {episode_id}",
                         f"name shots of its shot list (`aigms shots show {episode_id}`)")
    with session_scope(engine) as session:
        shotlist = review.with_retake_notes(session, shotlist, rows)
        filming = [shot for shot in shotlist.shots if shots is None or shot.id in shots]
        episode_row = session.scalar(select(models.Episode).filter_by(series_id=series.id, code=episode_id))
        costs.close_interrupted(session, episode_row.id)
        run_id = film_jobs.open_run(session, episode_row.id, flow_run.id, len(filming), run_id).id
        made_before = set(session.scalars(select(models.Take.id).where(
            models.Take.shot_id.in_(rows.values()), models.Take.status == models.TAKE_OK)))
    stop_listening = progress.listen(film_jobs.progress_recorder(engine, run_id))
    try:
        line_futures = {
            shot.id: record_line.submit(database_url, store, series, shotlist.language, shot)
            for shot in shotlist.shots if shot.kind == "dialogue"
        }
        film_futures = film_shot.map(
            unmapped(database_url), unmapped(store), unmapped(series), filming,
            [rows[shot.id] for shot in filming], unmapped(takes),
        )
        filmed: dict[str, ShotResult] = {}
        for shot, future in zip(filming, film_futures):
            result = future.result()
            if _cached(future.state) and not all(_take_is_there(engine, store, take) for take in result.takes):
                result = film_shot.with_options(refresh_cache=True)(database_url, store, series, shot,
                                                                    rows[shot.id], takes)
            filmed[shot.id] = result
            progress.report(progress.FILMED, shot=shot.id)
        failures = [failure for result in filmed.values() for failure in result.failures]
        for failure in failures:
            logger.warning(failure)
        chosen, missing = takes_for_cut(engine, store, shotlist, rows,
                                        {shot_id: result.selected for shot_id, result in filmed.items()})
        # Reused means finished by an earlier render: a take a retry of this run found by its recipe was filmed now.
        selected = {shot_id: replace(take, reused=take.take_id in made_before) for shot_id, take in chosen.items()}
        video = srt = manifest = None
        edit_warnings: list[str] = []
        if missing:
            failures.append(f"no cut of {episode_id} yet: shots {', '.join(missing)} have no take to cut in")
            logger.warning(failures[-1])
        else:
            across = check_across_shots(database_url, store, series, shotlist, selected)
            for warning in across:
                logger.warning(warning)
            failures += across
            audio: dict[str, edit.LineAudio] = {}
            for shot in shotlist.shots:
                if shot.id in line_futures:
                    line = line_futures[shot.id].result()
                    if _cached(line_futures[shot.id].state) and not _asset_is_there(engine, store, line.sha256):
                        line = record_line.with_options(refresh_cache=True)(database_url, store, series,
                                                                            shotlist.language, shot)
                    audio[shot.id] = line
            if series.lipsync:
                synced = {shot.id: sync_lips.submit(database_url, store, series, shot, rows[shot.id],
                                                    selected[shot.id], audio[shot.id])
                          for shot in shotlist.shots if shot.id in audio}
                selected.update({shot_id: future.result() for shot_id, future in synced.items() if future.result()})
            folder = Path(out_dir) / series.id / episode_id
            folder.mkdir(parents=True, exist_ok=True)
            with session_scope(engine) as session:
                notes = deliver.take_notes(session, selected)
            progress.report(progress.CUT)
            future = cut_episode.submit(database_url, store, series, shotlist, selected, audio, folder, notes)
            cut = future.result()
            if _cached(future.state) and not cut.is_there():
                cut = cut_episode.with_options(refresh_cache=True)(database_url, store, series, shotlist,
                                                                    selected, audio, folder, notes)
            video, srt, manifest, edit_warnings = cut.video, cut.subtitles, cut.manifest, cut.warnings
    except BaseException as error:
        with session_scope(engine) as session:
            run = session.get(models.RenderRun, run_id)
            run.status, run.message, run.finished_at = models.RUN_FAILED, str(error)[:2000], models.utcnow()
        raise
    finally:
        stop_listening()
    rendered = sum(not selected[shot_id].reused for shot_id in filmed if shot_id in selected)
    with session_scope(engine) as session:
        run = session.get(models.RenderRun, run_id)
        run.status, run.finished_at = models.RUN_COMPLETED, models.utcnow()
        run.shots_rendered, run.shots_reused = rendered, len(filmed) - rendered
        run.progress = {**(run.progress or {}), "summary": "done", "step": "done"}
        if missing:
            run.message = failures[-1] if failures else None
        review.submit_for_approval(session, run.episode_id, None if shots is None else {rows[s] for s in filmed})
        if video is not None:
            review.record_cut(session, store, run, video, srt, manifest, media.probe(video).duration)
    if video is not None:
        publish_episode(engine, series.id, episode_id, shotlist, selected, failures, video)
    for warning in edit_warnings:
        logger.warning(warning)
    logger.info("episode %s: %d shots filmed, %d rendered, %d reused → %s", episode_id, len(filmed), rendered,
                len(filmed) - rendered, video or "no cut")
    return EpisodeResult(Path(out_dir) / series.id / episode_id, video, srt, manifest, len(filmed), rendered,
                         len(filmed) - rendered, warnings + failures + edit_warnings)
