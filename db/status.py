"""Where a shot stands in the studio's workflow, as Kitsu's task statuses move it: todo → wip (a take of it is being
filmed) → waiting (for a director) → done, or retake (its take was rejected). Every change of `Shot.status` is made
by one of these functions, so the workflow reads in one place; the generate and review stages call them."""

from aigms.db import models


def filming(shot: models.Shot) -> None:
    """A take of the shot started to be filmed."""
    shot.status = models.STATUS_WIP


def approved(shot: models.Shot, take_id: int) -> None:
    """A director approved this take: it is the one cut in, and the shot is done."""
    shot.selected_take_id, shot.status = take_id, models.STATUS_DONE


def rejected(shot: models.Shot) -> None:
    """A director rejected the shot's take: it waits for a retake."""
    shot.status = models.STATUS_RETAKE


def rendered(shot: models.Shot, *, still_rejected: bool, approved_take: bool) -> str:
    """After a render: still cut with a rejected take, it goes back to retake; cut with its approved take (filmed
    this render or not), it is done again; any other take waits for approval."""
    if still_rejected:
        shot.status = models.STATUS_RETAKE
    elif approved_take and shot.status in (models.STATUS_DONE, models.STATUS_WIP):
        shot.status = models.STATUS_DONE
    else:
        shot.status = models.STATUS_WAITING
    return shot.status
