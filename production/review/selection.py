"""Which take of each shot an episode is cut from: the take a director circled, while the shot is still filmed as
that take was; else the take this render chose for it (the best by QC); for a shot this render did not film, the
take selected before. A change to what the shot asks for (the script, an edit, a retake's note) lets the circle
lapse when the shot is filmed again: the director is asked to choose among the new takes."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from aigms.db import models
from aigms.db.session import session_scope
from aigms.production.generate.takes import RenderedTake
from aigms.production.store import assets
from aigms.schemas.shotlist import ShotList


def _rendered(store: Path, code: str, take: models.Take | None) -> RenderedTake | None:
    if take is None or take.status != models.TAKE_OK or take.asset is None or not assets.has_file(store, take.asset):
        return None
    return RenderedTake(code, take.id, take.recipe_sha256, assets.asset_file(store, take.asset), take.asset.sha256,
                        reused=True, seed=take.seed, generator=take.generator)


def takes_for_cut(engine: Engine, store: Path, shotlist: ShotList, rows: dict[str, int],
                  filmed: dict[str, RenderedTake]) -> tuple[dict[str, RenderedTake], list[str]]:
    """The take of every shot in `shotlist` (as filmed, retake notes included), each made the shot's selected
    take, and the shots that have none to cut (never filmed)."""
    chosen: dict[str, RenderedTake] = {}
    missing: list[str] = []
    with session_scope(engine) as session:
        circles = {circle.shot_id: circle for circle in session.scalars(
            select(models.CircledTake).where(models.CircledTake.shot_id.in_(rows.values())))}
        for shot in shotlist.shots:
            row = session.get(models.Shot, rows[shot.id])
            take = None
            circle = circles.get(row.id)
            if circle is not None:
                circled = session.get(models.Take, circle.take_id)
                still_asked = shot.id not in filmed or circled.recipe.get("shot") == shot.filmed()
                take = _rendered(store, shot.id, circled) if still_asked else None
                if take is None and shot.id in filmed:
                    session.delete(circle)
            take = take or filmed.get(shot.id) or _rendered(store, shot.id, row.selected_take)
            if take is None:
                missing.append(shot.id)
                continue
            if row.selected_take_id != take.take_id:
                row.selected_take_id = take.take_id
            chosen[shot.id] = take
    return chosen, missing


def select_take(engine: Engine, shot_row_id: int, take_id: int) -> None:
    """A take made from the cut's take after the choice (its lip-synced version) becomes the one cut in."""
    with session_scope(engine) as session:
        row = session.get(models.Shot, shot_row_id)
        if row.selected_take_id != take_id:
            row.selected_take_id = take_id
