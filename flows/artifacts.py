"""What an episode run shows in Prefect's UI: a table of its shots (take, filmed or reused, its QC, its cost)
and a link to the delivered episode, under keys per episode so the UI keeps their history run after run."""

import re
from pathlib import Path

from prefect.artifacts import create_link_artifact, create_table_artifact
from sqlalchemy.engine import Engine

from aigms.db import queries, spend
from aigms.db.session import session_scope
from aigms.production.generate import RenderedTake
from aigms.schemas.shotlist import ShotList


def artifact_key(series_id: str, episode_id: str, what: str) -> str:
    """Prefect accepts lowercase letters, digits and dashes in a key."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{series_id}-{episode_id}-{what}".lower())


def _qc(results: list[queries.QCView]) -> str:
    if not results:
        return "not checked"
    failed = [result.check for result in results if not result.passed]
    return f"failed: {', '.join(failed)}" if failed else f"{len(results)} checks passed"


def publish_episode(engine: Engine, series_id: str, episode_id: str, shotlist: ShotList,
                    selected: dict[str, RenderedTake], failures: list[str], video: Path) -> None:
    """Published synchronously (`_sync=True`): Prefect would hand back an unawaited coroutine, and publish nothing,
    to a flow called from a thread that runs an event loop (a notebook, Playwright's sync API)."""
    with session_scope(engine) as session:
        qc = queries.take_checks(session, {take.take_id for take in selected.values()})
        costs = spend.take_costs(session, [take.take_id for take in selected.values()])
        episode = queries.episode_by_code(session, series_id, episode_id)
        spent = spend.episode_costs(session, series_id).get(episode.id, 0.0) if episode is not None else 0.0
    rows = [{
        "shot": shot.id, "kind": shot.kind, "seconds": shot.duration, "take": selected[shot.id].take_id,
        "generator": selected[shot.id].generator,
        "status": "reused" if selected[shot.id].reused else "filmed",
        "qc": _qc(qc[selected[shot.id].take_id]),
        "cost": round(costs.get(selected[shot.id].take_id, 0.0), 2),
        "problems": "; ".join(failure for failure in failures if failure.startswith(f"shot {shot.id} ")),
    } for shot in shotlist.shots]
    create_table_artifact(rows, key=artifact_key(series_id, episode_id, "shots"),
                          description=f"Shots of {episode_id}: the take cut in, filmed this run or reused, its QC "
                                      f"and what it cost; the episode has spent {spent:,.2f} in all",
                          _sync=True)
    create_link_artifact(video.resolve().as_uri(), link_text=f"{episode_id} ({video.name})",
                         key=artifact_key(series_id, episode_id, "episode"),
                         description=f"The delivered episode {episode_id}, with its subtitles and manifest beside it",
                         _sync=True)
