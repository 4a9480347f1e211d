"""The approval gate before GPU time: a director signs the shot list as it stands (its hash), and any later change
to it (a script edit, an imported edit) needs signing again before an episode renders without `--force`."""

from pathlib import Path

from sqlalchemy.orm import Session

from aigms.db import models
from aigms.schemas.errors import InputError

SHOTLIST = "shotlist"


def approve_shotlist(session: Session, episode: models.Episode, author: str, note: str = "") -> models.Review:
    """Sign the current shot list; refused while a person's edit is in conflict with the script under it."""
    if episode.shotlist_sha256 is None:
        raise InputError(Path(episode.script_path), None, f"episode {episode.code} has no shot list yet",
                         f"plan it first: `aigms shots show {episode.code}`")
    conflicts = [shot.code for shot in episode.shots if shot.conflict]
    if conflicts:
        raise InputError(
            Path(episode.script_path), None,
            f"shots {', '.join(conflicts)} of {episode.code} have edits in conflict with the script",
            "check them (`aigms shots show`), then import the shot list again",
        )
    episode.shotlist_approved_sha256 = episode.shotlist_sha256
    episode.shotlist_approved_by, episode.shotlist_approved_at = author, models.utcnow()
    review = models.Review(target_type=SHOTLIST, target_id=episode.id, status=models.STATUS_DONE, note=note,
                           author=author)
    session.add(review)
    session.flush()
    return review


def require_approved(episode: models.Episode) -> None:
    if not episode.shotlist_approved:
        changed = " (it changed since it was approved)" if episode.shotlist_approved_sha256 else ""
        raise InputError(
            Path(episode.script_path), None, f"the shot list of {episode.code} is not approved{changed}",
            f"review it (`aigms shots board {episode.code}`), then `aigms shots approve {episode.code}`, "
            "or render with --force",
        )
