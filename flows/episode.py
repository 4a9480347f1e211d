"""The episode flow: script → shot list → takes of every shot (or the shots asked for) → voices → checks across
shots → lip sync → the cut (edit, subtitles, delivery). The only place that knows the order of the stages; the work
itself lives in `aigms.production`, and these tasks only say how Prefect runs it: what is cached, retried, tagged
for the GPU or a remote camera's provider.

A take already made is found by its recipe in the asset store (`generate.find_take`), so a re-render films only the
shots a change touches; lines, the cross-shot checks and the cut are cached by Prefect under the content hash of
their inputs (`aigms.flows.caching`). Lines are recorded, then mixed into the sound and heard, while shots are
filmed: CPU work overlaps generation, which the `generate` tag holds to one take per GPU, and a remote camera's
`remote-<provider>` tag to the tasks its account takes at once (`aigms.flows.concurrency`). Where the render has
got to is written on its run as it goes (`progress`), for the dashboard."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy.engine import Engine

from aigms.db.session import open_database
from aigms.flows.artifacts import publish_episode
from aigms.flows.caching import across_key, cut_key, fresh, line_key
from aigms.flows.concurrency import (GENERATE_TAG, ensure_generation_limit, ensure_provider_limits, provider_tag,
                                     tags_for)
from aigms.flows.locking import one_render_at_a_time
from aigms.production import deliver, generate, progress, qc, settings, storyboard
from aigms.production.bible import load_series
from aigms.production.deliver import Cut
from aigms.production.deliver.interchange import FrameNote
from aigms.production.generate import Recipe, RenderedTake, ShotResult, Steps, lipsync
from aigms.production.generate.generators import GenerationFailed, Generator
from aigms.production.generate.remote import StopRender
from aigms.production.post import edit, subtitles, transcribe, voice
from aigms.production.review import film_jobs, runs, selection
from aigms.production.store import assets
from aigms.schemas.series import Budget, Series
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
def plan_episode(database_url: str, series: Series, episode_id: str, strict: bool, force: bool,
                 shots: list[str] | None) -> storyboard.PlannedEpisode:
    return storyboard.plan_episode(open_database(database_url), series, episode_id, strict=strict, force=force,
                                   shots=shots)


_film_take = task(generate.film_take, cache_policy=NONE)


def film_take(engine: Engine, store: Path, series: Series, shot: Shot, shot_row_id: int | None, recipe: Recipe,
              seed: int, generator: Generator, keyframe: RenderedTake | None) -> RenderedTake:
    """Every segment of one take, a task holding what its camera needs: a GPU slot, or its provider's (`tags_for`)."""
    return _film_take.with_options(tags=tags_for(generator))(engine, store, series, shot, shot_row_id, recipe, seed,
                                                              generator, keyframe)


# A take's steps, each a task of its own: keyframe and film hold a GPU slot (or a provider's), QC does not.
STEPS = Steps(keyframe=task(generate.make_keyframe, cache_policy=NONE, tags=[GENERATE_TAG]), film=film_take,
              check=task(qc.check_take, cache_policy=NONE))


def _retry(_task: Task, _run: Any, state: State) -> bool:
    """Retry a shot, not a render a provider has stopped (no credit, a wrong key): that waits for a person."""
    return not isinstance(state.result(raise_on_failure=False), StopRender)


@task(cache_policy=NONE, retries=1, retry_condition_fn=_retry)
def film_shot(database_url: str, store: Path, series: Series, shot: Shot, shot_row_id: int,
              takes: int = 1) -> ShotResult:
    """The shot's takes and retakes, found by recipe or made by the steps. Untagged: holding a GPU slot while its
    own steps wait for one would deadlock a one-GPU machine. Retried once: the retry finds the takes the first
    attempt finished. The failure is logged as a warning, as Prefect tells of a retry only at INFO."""
    try:
        return generate.render_shot(open_database(database_url), store, series, shot, shot_row_id, takes,
                                    steps=STEPS)
    except Exception as error:
        get_run_logger().warning("shot %s: %s: %s", shot.id, type(error).__name__, error)
        raise


@task(cache_key_fn=line_key, persist_result=True)
def record_line(database_url: str, store: Path, series: Series, language: str, shot: Shot) -> voice.LineAudio:
    return voice.record_line(open_database(database_url), store, series, language, shot)


@task(cache_policy=NONE)
def mix_sound(store: Path, series: Series, shotlist: ShotList, lines: dict[str, voice.LineAudio]) -> Path | None:
    """The episode's sound, mixed while the shots are filmed (it needs the shot list and the lines, not the takes)
    and kept in the store, where the cut finds it, or waits for it (`edit.kept_sound`). None where a line's cached
    recording has gone: it is recorded again before the cut, which then mixes the sound itself."""
    if not all(line.is_there() for line in lines.values()):
        return None
    return edit.kept_sound(edit.episode_sound(series, shotlist, lines), assets.derived_dir(store, "edit"))


@task(cache_policy=NONE)
def hear_dialogue(store: Path, series: Series, shotlist: ShotList, lines: dict[str, voice.LineAudio]) -> None:
    """Every line heard as the edit will play it, while the shots are filmed, for the cut to find by each line's
    audio hash (`subtitles.heard_words`); as `mix_sound`, left to the cut where a line's recording has gone."""
    recogniser = transcribe.parse_transcriber(settings.whisper())
    if recogniser is not None and all(line.is_there() for line in lines.values()):
        subtitles.heard_words(edit.episode_sound(series, shotlist, lines), shotlist.language, recogniser,
                              assets.derived_dir(store, "transcripts"))


@task(cache_key_fn=across_key, persist_result=True)
def check_across_shots(database_url: str, store: Path, series: Series, shotlist: ShotList,
                       selected: dict[str, RenderedTake]) -> list[str]:
    clips = {shot_id: (take.take_id, take.clip, take.clip_sha256) for shot_id, take in selected.items()}
    return qc.check_episode(open_database(database_url), series, shotlist, clips, assets.derived_dir(store, "qc"))


@task(cache_policy=NONE, tags=[provider_tag("kling")])
def sync_lips(database_url: str, store: Path, series: Series, shot: Shot, shot_row_id: int, take: RenderedTake,
              line: voice.LineAudio) -> RenderedTake | None:
    """The dialogue take with its mouth moved to its line (`lipsync: kling`), found by its recipe or made, and cut
    in; None, with a warning, where the take cannot be lip-synced or Kling's task fails."""
    engine = open_database(database_url)
    try:
        synced = lipsync.sync_lips(engine, store, series, shot, shot_row_id, take, line.path, line.sha256,
                                   edit.LEAD_IN)
    except GenerationFailed as failure:
        get_run_logger().warning("shot %s: no lip sync: %s", shot.id, failure.reason)
        return None
    selection.select_take(engine, shot_row_id, synced.take_id)
    return synced


@task(cache_key_fn=cut_key, persist_result=True)
def cut_episode(database_url: str, store: Path, series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
                audio: dict[str, voice.LineAudio], folder: Path, notes: list[FrameNote]) -> Cut:
    return deliver.cut(open_database(database_url), store, series, shotlist, takes, audio, folder, notes)


Line = tuple[Shot, PrefectFuture[voice.LineAudio]]  # a dialogue shot and its line, being recorded


def _plan(url: str, series: Series, episode_id: str, strict: bool, force: bool,
          shots: list[str] | None) -> storyboard.PlannedEpisode:
    """The episode planned and recorded, its warnings logged, and every camera it films with ready: the GPU limit,
    the generators' settings, the remote providers' limits, before any shot is filmed."""
    ensure_generation_limit()
    planned = plan_episode(url, series, episode_id, strict, force, shots)
    _warn(planned.warnings)
    generate.check_generators(series, planned.shotlist.shots)
    ensure_provider_limits(series, planned.shotlist.shots)
    return planned


def _warn(warnings: list[str]) -> None:
    logger = get_run_logger()
    for warning in warnings:
        logger.warning(warning)


def _record_lines(url: str, store: Path, series: Series, run: runs.Run) -> dict[str, Line]:
    """Every dialogue line submitted at once, recorded while the shots are filmed."""
    return {shot.id: (shot, record_line.submit(url, store, series, run.shotlist.language, shot))
            for shot in run.shotlist.shots if shot.kind == "dialogue"}


def _film_shots(engine: Engine, url: str, store: Path, series: Series, run: runs.Run,
                takes: int) -> dict[str, ShotResult]:
    """The shots the run films, side by side. A shot whose takes are all in the store is found here, without a
    task (`generate.found_shot`); the others each get one as soon as they are known. Each shot is reported filmed
    as it is gathered, in story order."""
    found: dict[str, ShotResult] = {}
    filming: dict[str, PrefectFuture[ShotResult]] = {}
    for shot in run.filming:
        result = generate.found_shot(engine, store, series, shot, run.rows[shot.id], takes)
        if result is None:
            filming[shot.id] = film_shot.submit(url, store, series, shot, run.rows[shot.id], takes)
        else:
            found[shot.id] = result
    results = {}
    for shot in run.filming:
        results[shot.id] = found[shot.id] if shot.id in found else filming[shot.id].result()
        progress.report(progress.FILMED, shot=shot.id)
    return results


def _voices(url: str, store: Path, series: Series, run: runs.Run,
            lines: dict[str, Line]) -> dict[str, voice.LineAudio]:
    return {shot_id: fresh(future, record_line, url, store, series, run.shotlist.language, shot)
            for shot_id, (shot, future) in lines.items()}


def _sync_lips(url: str, store: Path, series: Series, run: runs.Run, selected: dict[str, RenderedTake],
               audio: dict[str, voice.LineAudio]) -> dict[str, RenderedTake]:
    """The dialogue takes lip-synced to their lines where the series asks for it (`lipsync`), to cut in instead."""
    if not series.lipsync:
        return {}
    shots = {shot.id: shot for shot in run.shotlist.shots}
    synced = {shot_id: sync_lips.submit(url, store, series, shots[shot_id], run.rows[shot_id], selected[shot_id],
                                        line) for shot_id, line in audio.items()}
    return {shot_id: take for shot_id, future in synced.items() if (take := future.result())}


def _cut(engine: Engine, url: str, store: Path, series: Series, run: runs.Run, selected: dict[str, RenderedTake],
         audio: dict[str, voice.LineAudio], folder: Path) -> Cut:
    notes = deliver.take_notes(engine, selected)
    progress.report(progress.CUT)
    arguments = (url, store, series, run.shotlist, selected, audio, folder, notes)
    return fresh(cut_episode.submit(*arguments), cut_episode, *arguments)


def _delivered(run: runs.Run, folder: Path, rendered: int, cut: Cut | None, warnings: list[str]) -> EpisodeResult:
    filming = len(run.filming)
    get_run_logger().info("episode %s: %d shots filmed, %d rendered, %d reused → %s", run.shotlist.episode,
                          filming, rendered, filming - rendered, cut.video if cut else "no cut")
    return EpisodeResult(folder, cut and cut.video, cut and cut.subtitles, cut and cut.manifest, filming, rendered,
                         filming - rendered, warnings + (cut.warnings if cut else []))


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
    empty) and cuts the episode from every other shot's selected take, once every shot has one; `run_id` is a film
    job the dashboard queued, whose render run this flow takes over."""
    home_dir = settings.home(home)
    store, url = settings.store(home_dir), settings.database(home_dir)
    engine, series = open_database(url), load_series(Path(series_dir))
    if budget_override:
        series = series.model_copy(update={"budget": Budget()})
    planned = _plan(url, series, episode_id, strict, force, shots)
    run = runs.open_run(engine, planned, flow_run.id, run_id)
    folder, cut = Path(out_dir) / series.id / episode_id, None
    with runs.recording(engine, run), progress.listening(film_jobs.progress_recorder(engine, run.id)):
        lines = _record_lines(url, store, series, run)
        recorded = {shot_id: line for shot_id, (_, line) in lines.items()}
        early = [mix_sound.submit(store, series, run.shotlist, recorded),
                 hear_dialogue.submit(store, series, run.shotlist, recorded)]
        filmed = _film_shots(engine, url, store, series, run, takes)
        selected, no_cut = runs.cut_takes(engine, store, run, filmed)
        failures = runs.failures(filmed, no_cut)
        if no_cut is None:
            failures += check_across_shots(url, store, series, run.shotlist, selected)
        _warn(failures)
        if no_cut is None:
            audio = _voices(url, store, series, run, lines)
            selected |= _sync_lips(url, store, series, run, selected, audio)
            cut = _cut(engine, url, store, series, run, selected, audio, folder)
        for work in early:
            work.wait()
        rendered = runs.complete_run(engine, store, run, selected, cut, no_cut)
    if cut is not None:
        publish_episode(engine, series.id, episode_id, run.shotlist, selected, failures, cut.video)
        _warn(cut.warnings)
    return _delivered(run, folder, rendered, cut, planned.warnings + failures)
