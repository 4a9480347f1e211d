"""What it costs to trust the asset store: checking the takes of a 48-shot episode before a render reuses them.
The landed check looked at the size only; a file is now hashed unless its inode, size and times match the stamp of
its last good hash, so a steady store costs a `stat` per file and only a changed file is read again.

Prints each way's time per episode and its ratio to the size-only check measured in the same run.

    .venv/bin/python benchmarks/store.py [--files 48] [--megabytes 6]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from aigms.db.models import Asset
from aigms.db.session import open_database, session_scope
from aigms.production.store import assets

console = Console()


def timed(check, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        check()
    return (time.perf_counter() - started) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48, help="clips in the episode")
    parser.add_argument("--megabytes", type=int, default=6, help="size of each clip (a 5 s 1080p take is ~6 MB)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        store, engine = folder / "store", open_database(f"sqlite:///{folder / 'aigms.db'}")
        with session_scope(engine) as session:
            for number in range(options.files):
                clip = folder / f"clip-{number}.mp4"
                clip.write_bytes(os.urandom(options.megabytes << 20))
                assets.put_file(session, store, clip, "clip")
        with session_scope(engine) as session:
            rows = list(session.scalars(select(Asset)))

            def size_only() -> None:
                assert all(assets.asset_file(store, row).stat().st_size == row.size for row in rows)

            def stamped() -> None:
                assert all(assets.has_file(store, row) for row in rows)

            def hashed() -> None:
                for row in rows:
                    row.verified_stat = None
                assert all(assets.has_file(store, row) for row in rows)

            baseline = timed(size_only, 20)
            results = [("size only (the landed check, baseline)", baseline),
                       ("stamped: unchanged files", timed(stamped, 20)),
                       ("hashed: every file changed or never checked", timed(hashed, 3))]
    table = Table("check", "per episode", "× baseline", title=f"{options.files} clips × {options.megabytes} MB")
    for label, seconds in results:
        table.add_row(label, f"{seconds * 1000:.1f} ms", f"{seconds / baseline:.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
