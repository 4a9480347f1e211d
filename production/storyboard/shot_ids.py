"""Shot ids that survive rewrites. Editors number shots 010, 020, 030 and slot a new one in as 015 (or 010A when
there is no room), so that a shot keeps its name, its takes and its approvals for as long as the script under it
does. A re-plan is aligned against the previous shot list by what each shot films, and only new shots get new ids."""

import re
from difflib import SequenceMatcher

from aigms.production.storyboard.plan import dialogue_ids
from aigms.schemas.shotlist import Shot

ID = re.compile(r"^(\d+)([A-Z]?)$")
STEP = 10
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _key(shot: Shot) -> tuple[str, str]:
    return shot.kind, shot.source_sha256


def _number(shot_id: str) -> tuple[int, str]:
    match = ID.match(shot_id)
    if match is None:
        raise ValueError(f"shot id {shot_id!r} is not of the form 010 or 010A")
    return int(match.group(1)), match.group(2)


def _between(low: str | None, high: str | None, count: int, taken: set[str]) -> list[str]:
    """`count` unused ids strictly between two neighbours, spread out: multiples of 5 first, as editors do, then
    any number, then letters after the lower neighbour."""
    start = _number(low)[0] if low else 0
    if high is None:
        after = (f"{n:03d}" for n in range(start + STEP - start % STEP, start + STEP * (count + len(taken) + 1), STEP))
        return [candidate for candidate in after if candidate not in taken][:count]
    end = _number(high)[0]
    for step in (5, 1):
        free = [f"{n:03d}" for n in range(start + 1, end) if n % step == 0 and f"{n:03d}" not in taken]
        if len(free) >= count:
            return [free[(k + 1) * (len(free) + 1) // (count + 1) - 1] for k in range(count)]
    base, letter = _number(low) if low else (start, "")
    letters = [f"{base:03d}{c}" for c in LETTERS[LETTERS.index(letter) + 1 if letter else 0:]]
    free = [candidate for candidate in letters if candidate not in taken]
    if len(free) < count:
        raise ValueError(f"no room for {count} shots between {low} and {high}; renumber the episode")
    return free[:count]


def number_shots(shots: list[Shot], previous: list[Shot]) -> None:
    """Give `shots` ids: a shot found in `previous` (same kind, same script under it) keeps its id; a shot whose
    line was edited in place keeps the id of the one it replaces; new shots get ids between their neighbours.
    An id still in use by the previous plan is never handed to a new shot, so an edit and its selected take never
    move to a shot they were not made for."""
    ids: list[str | None] = [None] * len(shots)
    if previous:
        matcher = SequenceMatcher(None, [_key(s) for s in previous], [_key(s) for s in shots], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in ("equal", "replace"):
                for old, new in zip(range(i1, i2), range(j1, j2)):
                    ids[new] = previous[old].id
    taken = {shot.id for shot in previous}
    position = 0
    while position < len(shots):
        if ids[position] is not None:
            position += 1
            continue
        end = position
        while end < len(shots) and ids[end] is None:
            end += 1
        low = ids[position - 1] if position else None
        high = ids[end] if end < len(shots) else None
        if low is None and high is None:
            ids[position:end] = [f"{STEP * (k + 1):03d}" for k in range(end - position)]
        else:
            ids[position:end] = _between(low, high, end - position, taken)
        position = end
    for shot, shot_id in zip(shots, ids):
        shot.id = shot_id
        shot.dialogue = dialogue_ids(shot)
