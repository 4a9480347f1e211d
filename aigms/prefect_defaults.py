"""Prefect's settings as aigms wants them when the person running it set none: no telemetry sent from a machine
that may have no network (Prefect logs an error for each failed send, and its temporary server's telemetry
heartbeat has locked its own SQLite file at start), time for that temporary server to start on a busy machine, and,
when that temporary server is the one used (no `PREFECT_API_URL`), its own log kept to critical errors: stopped at
the end of a run while it is still writing the run's history, it logs pages of cancelled writes that say nothing
about the render. Applied before Prefect is imported; a value set in the environment or in the active Prefect
profile wins."""

import os
import tomllib
from pathlib import Path

DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}
TEMPORARY_SERVER = {"PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL"}


def _profile_settings() -> set[str]:
    """The settings named by the active profile of `$PREFECT_HOME/profiles.toml` (as `prefect profile` keeps it)."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    return set(profiles.get("profiles", {}).get(active, {}))


def apply_prefect_defaults() -> dict[str, str]:
    """Set the defaults the environment and the profile leave open; returns the ones taken."""
    chosen = set(os.environ) | _profile_settings()
    defaults = DEFAULTS if "PREFECT_API_URL" in chosen else {**DEFAULTS, **TEMPORARY_SERVER}
    taken = {key: value for key, value in defaults.items() if key not in chosen}
    os.environ.update(taken)
    return taken
