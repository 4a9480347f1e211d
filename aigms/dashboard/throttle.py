"""Sign-in attempts counted per name and per address: after a few wrong passwords for a name (from anywhere), or
many from one address (for any names), the next attempt is refused with when to retry, before any password is
hashed. Counted in the dashboard's process, which is one per project."""

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

NAME_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW_SECONDS = 15 * 60
MAX_KEYS = 100_000


@dataclass
class Refusal:
    seconds: int
    message: str


@dataclass
class LoginThrottle:
    name_failures: int = NAME_FAILURES
    address_failures: int = ADDRESS_FAILURES
    window: float = WINDOW_SECONDS
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, name: str, address: str) -> Refusal | None:
        """None when this attempt may go ahead; else how long to wait, and what to tell the person."""
        now = time.monotonic()
        with self._lock:
            for key, limit, whom in ((("name", _folded(name)), self.name_failures, "this name"),
                                     (("address", address), self.address_failures, "this address")):
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    seconds = max(1, math.ceil(recent[0] + self.window - now))
                    return Refusal(seconds, f"Too many failed sign-ins for {whom}. Try again in "
                                            f"{_minutes(seconds)}.")
        return None

    def failed(self, name: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._forget_old(now)
            for key in (("name", _folded(name)), ("address", address)):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        """The right password clears the name's count; the address keeps its own, so one known account cannot
        be used to reset the guessing of others."""
        with self._lock:
            self._failures.pop(("name", _folded(name)), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _forget_old(self, now: float) -> None:
        for key in [key for key, times in self._failures.items() if not times or times[-1] <= now - self.window]:
            del self._failures[key]


def _folded(name: str) -> str:
    return name.strip().casefold()[:200]


def _minutes(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"
