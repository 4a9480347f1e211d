"""The series flow: every episode of a series (or the ones named) rendered in turn as a subflow. An episode whose
shot list is not approved, or that another render holds, is skipped and reported, not an error: a scheduled night
render goes on without it."""

from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger

from aigms.flows.episode import EpisodeResult, render_episode
from aigms.production.render_lock import RenderLocked
from aigms.production.bible import load_series
from aigms.schemas.errors import InputError


@dataclass(frozen=True)
class SeriesResult:
    rendered: dict[str, EpisodeResult]
    skipped: dict[str, str]


@flow(name="render-series", log_prints=True)
def render_series(series_dir: str, out_dir: str, home: str | None = None, episodes: list[str] | None = None,
                  takes: int = 1) -> SeriesResult:
    """Render the approved episodes of the series in `series_dir` (all of them, or `episodes`) into `out_dir`."""
    logger = get_run_logger()
    series = load_series(Path(series_dir))
    wanted = episodes or [episode.id for episode in series.episodes]
    rendered: dict[str, EpisodeResult] = {}
    skipped: dict[str, str] = {}
    for episode_id in wanted:
        try:
            rendered[episode_id] = render_episode(series_dir, episode_id, out_dir, home, takes=takes)
        except (InputError, RenderLocked) as error:
            skipped[episode_id] = str(error)
            logger.warning("episode %s skipped: %s", episode_id, error)
    logger.info("series %s: %d episodes rendered, %d skipped", series.id, len(rendered), len(skipped))
    return SeriesResult(rendered, skipped)
