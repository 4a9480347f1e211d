"""The episode flow holds its episode while it runs (`aigms.production.render_lock`): a second render of the same
episode is refused with who holds it, or waits with `wait=True` (`aigms render --wait`)."""

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from prefect import get_run_logger

from aigms.db.session import open_database
from aigms.production import settings
from aigms.production.bible import load_series
from aigms.production.render_lock import Holder, episode_lock

Result = TypeVar("Result")


def one_render_at_a_time(render: Callable[..., Result]) -> Callable[..., Result]:
    """Wraps a flow function whose parameters include `series_dir`, `episode_id`, `home` and `wait`."""
    signature = inspect.signature(render)

    @functools.wraps(render)
    def locked(*args: object, **kwargs: object) -> Result:
        given = signature.bind(*args, **kwargs)
        given.apply_defaults()
        home_dir = settings.home(given.arguments["home"])
        series = load_series(Path(given.arguments["series_dir"]))

        def waiting(holder: Holder) -> None:
            get_run_logger().warning("waiting for the render of %s %s held by %s", series.id,
                                     given.arguments["episode_id"], holder)

        with episode_lock(open_database(settings.database(home_dir)), settings.store(home_dir), series.id,
                          given.arguments["episode_id"], wait=given.arguments["wait"], on_wait=waiting):
            return render(*args, **kwargs)

    return locked
