"""Where a project keeps its database and asset store: `AIGMS_HOME` (default `./.aigms`), or a database URL of its
own in `AIGMS_DATABASE_URL` (PostgreSQL at studio scale); which speech recogniser times the subtitles:
`AIGMS_WHISPER` (default `faster-whisper:base`; `openai-whisper:<checkpoint>`, or `none`). Read by the stages, the
flows and the CLI alike."""

import os
from pathlib import Path

from aigms.db.session import database_url


def home(explicit: str | Path | None = None) -> Path:
    return Path(explicit or os.environ.get("AIGMS_HOME") or ".aigms").resolve()


def store(home_dir: Path) -> Path:
    return Path(os.environ.get("AIGMS_STORE") or home_dir / "store").resolve()


def database(home_dir: Path) -> str:
    return database_url(home_dir)


def whisper() -> str:
    return os.environ.get("AIGMS_WHISPER", "faster-whisper:base")
