"""The episode flow: script → shot list → takes of every shot → voices → checks across shots → the cut (edit,
subtitles, delivery). The only place that knows the order of the stages; the work itself lives in
`aigms.production`, and these tasks only say how Prefect runs it: what is cached, retried, tagged for the GPU.

A take already made is found by its recipe in the asset store (`generate.find_take`), so a re-render films only the
shots a change touches; lines, the cross-shot checks and the cut are cached by Prefect under the content hash of
their inputs (`aigms.flows.caching`). Lines are recorded while shots are filmed: CPU work overlaps generation,
which the `generate` tag holds to one take per GPU (`aigms.flows.concurrency`)."""

from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from aigms.db.session import open_database
from aigms.flows.artifacts import publish_episode
from aigms.flows.caching import across_key, cut_key, fresh, line_key
from aigms.flows.concurrency import GENERATE_TAG, ensure_generation_limit
from aigms.production import deliver, generate, qc, settings, storyboard
from aigms.production.bible import load_series
from aigms.production.deliver import Cut
from aigms.production.generate import RenderedTake, ShotResult, Steps
from aigms.production.post import voice
from aigms.production.review import runs
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot, ShotList


@dataclass(frozen=True)
class EpisodeResult:
    folder: Path
    video: Path
    subtitles: Path
    manifest: Path
    shots: int
    rendered: int
    reused: int
    warnings: list[str]


@task(cache_policy=NONE)
def plan_episode(database_url: str, series: Series, episode_id: str, strict: bool,
                 force: bool) -> storyboard.PlannedEpisode:
    return storyboard.plan_episode(open_database(database_url), series, episode_id, strict=strict, force=force)


# A take's steps, each a task of its own: keyframe and film hold a GPU slot, QC does not.
STEPS = Steps(keyframe=task(generate.make_keyframe, cache_policy=NONE, tags=[GENERATE_TAG]),
              film=task(generate.film_take, cache_policy=NONE, tags=[GENERATE_TAG]),
              check=task(qc.check_take, cache_policy=NONE))


@task(cache_policy=NONE, retries=1)
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


@task(cache_key_fn=across_key, persist_result=True)
def check_across_shots(database_url: str, series: Series, shotlist: ShotList,
                       selected: dict[str, RenderedTake]) -> list[str]:
    clips = {shot_id: (take.take_id, take.clip) for shot_id, take in selected.items()}
    return qc.check_episode(open_database(database_url), series, shotlist, clips)


@task(cache_key_fn=cut_key, persist_result=True)
def cut_episode(database_url: str, store: Path, series: Series, shotlist: ShotList, takes: dict[str, RenderedTake],
                audio: dict[str, voice.LineAudio], folder: Path) -> Cut:
    return deliver.cut(open_database(database_url), store, series, shotlist, takes, audio, folder)


@flow(name="render-episode", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=True)
def render_episode(series_dir: str, episode_id: str, out_dir: str, home: str | None = None,
                   strict: bool = False, force: bool = False, takes: int = 1) -> EpisodeResult:
    """Render one episode of the series in `series_dir` into `out_dir/<series>/<episode>/`, `takes` takes a shot;
    the shot list must be approved unless `force` (previs of a draft, tests)."""
    logger = get_run_logger()
    ensure_generation_limit()
    home_dir = settings.home(home)
    store, url = settings.store(home_dir), settings.database(home_dir)
    engine, series = open_database(url), load_series(Path(series_dir))
    planned = plan_episode(url, series, episode_id, strict, force)
    for warning in planned.warnings:
        logger.warning(warning)
    run = runs.open_run(engine, planned, flow_run.id)
    shots, folder = run.shotlist.shots, Path(out_dir) / series.id / episode_id
    with runs.recording(engine, run):
        lines = {shot.id: (shot, record_line.submit(url, store, series, run.shotlist.language, shot))
                 for shot in shots if shot.kind == "dialogue"}
        filmed = film_shot.map(unmapped(url), unmapped(store), unmapped(series), shots,
                               [planned.rows[shot.id] for shot in shots], unmapped(takes))
        results = {shot.id: future.result() for shot, future in zip(shots, filmed)}
        selected = runs.selected_takes(run, results)
        failures = [failure for result in results.values() for failure in result.failures]
        failures += check_across_shots(url, series, run.shotlist, selected)
        for failure in failures:
            logger.warning(failure)
        audio = {shot_id: fresh(future, record_line, url, store, series, run.shotlist.language, shot)
                 for shot_id, (shot, future) in lines.items()}
        cut = fresh(cut_episode.submit(url, store, series, run.shotlist, selected, audio, folder), cut_episode,
                    url, store, series, run.shotlist, selected, audio, folder)
        rendered = runs.complete_run(engine, store, run, selected, cut)
    publish_episode(engine, series.id, episode_id, run.shotlist, selected, failures, cut.video)
    for warning in cut.warnings:
        logger.warning(warning)
    logger.info("episode %s: %d shots, %d rendered, %d reused → %s", episode_id, len(selected), rendered,
                len(selected) - rendered, cut.video)
    return EpisodeResult(folder, cut.video, cut.subtitles, cut.manifest, len(selected), rendered,
                         len(selected) - rendered, planned.warnings + failures + cut.warnings)
