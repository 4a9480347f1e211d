"""Dailies: an ordered set of takes watched in one sitting with the same review actions as a shot's page — what was
filmed since yesterday, or the retakes of an episode. A playlist keeps the takes it was made with, so everyone in
the room sees the same list while new takes come in."""

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from aigms.db import models, queries
from aigms.production.review.reviews import ReviewError

HOURS = re.compile(r"^(\d+)\s*h$")


def parse_since(text: str, now: datetime) -> datetime:
    """`yesterday` (its midnight, local time), `today`, `36h`, or an ISO date or time."""
    local = now.astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    word = text.strip().lower()
    if word in ("yesterday", "today"):
        return midnight - timedelta(days=1) if word == "yesterday" else midnight
    if HOURS.match(word):
        return local - timedelta(hours=int(HOURS.match(word).group(1)))
    try:
        since = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReviewError(f"cannot read {text!r} as a time: give yesterday, today, a number of hours (36h) or an "
                          "ISO date (2026-12-01)") from None
    return since if since.tzinfo else since.astimezone()


def make_playlist(session: Session, author: str, name: str, take_ids: list[int]) -> models.Playlist:
    if not take_ids:
        raise ReviewError(f"no takes for {name!r}: nothing was filmed in that time, or the episode has no retakes")
    playlist = models.Playlist(name=name, created_by=author)
    playlist.items = [models.PlaylistTake(position=index, take_id=take_id) for index, take_id in enumerate(take_ids)]
    session.add(playlist)
    session.flush()
    return playlist


def filmed_since(session: Session, author: str, since: datetime, series_id: str | None = None) -> models.Playlist:
    name = f"dailies since {since.astimezone():%Y-%m-%d %H:%M}" + (f" ({series_id})" if series_id else "")
    return make_playlist(session, author, name, queries.takes_filmed_since(session, since, series_id))


def episode_retakes(session: Session, author: str, episode_id: int) -> models.Playlist:
    episode = session.get(models.Episode, episode_id)
    if episode is None:
        raise queries.NotFound(f"no episode {episode_id}")
    return make_playlist(session, author, f"retakes of {episode.code}", queries.retake_takes(session, episode_id))
