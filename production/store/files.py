"""Writing files so that a crash never leaves half of one behind: write beside the target, then rename."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _create(folder: Path, stem: str, suffix: str, mode: int) -> Path:
    """A new empty file under a name no one else holds. Created by `open(O_EXCL)` with `mode`, so the kernel
    applies the process umask (0644 by default) as it does to any other file; `mkstemp` would make it 0600."""
    while True:
        path = folder / f".{stem}.{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        return path


@contextmanager
def atomic_path(target: Path, mode: int = 0o666) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed over the target, on error removed.

    The temporary name keeps the target's suffix so tools that pick a format from it (ffmpeg) still work. `mode`
    narrows the permissions before anything is written (0o600 for a secret); the umask applies on top.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _create(target.parent, target.stem, target.suffix, mode)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(target: Path, text: str, mode: int = 0o666) -> None:
    with atomic_path(target, mode) as temporary:
        temporary.write_text(text, encoding="utf-8")
