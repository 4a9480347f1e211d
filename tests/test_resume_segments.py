"""A long continuation killed half way resumes at the segment it stopped in: the segments a killed render finished
are not filmed again, and the take that comes out is the same as one filmed without a stop."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from databases import fresh_database_url
from sqlalchemy import select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.generate import footage

pytestmark = pytest.mark.database

TESTS = Path(__file__).resolve().parent
BACKENDS = TESTS / "backends"
FILM = """
from pathlib import Path
from builders import tiny_series
from aigms.db.session import open_database
from aigms.production.generate.takes import render_shot
from aigms.schemas.series import GeneratorSettings
from aigms.schemas.shotlist import Shot

root = Path({root!r})
series = tiny_series(root / "series", 160, 90)
series.qc.enabled = False
series.generator = GeneratorSettings(backend="chain", seed=3, options={{"log": str(root / "calls.log"), "retries": 0}})
shot = Shot(id="010", scene=1, kind="action", size="WS", text="The bronze mask turns.", duration=4.0)
result = render_shot(open_database({database!r}), root / "store", series, shot, None)
print(result.selected.clip)
"""


def film(root: Path, database_url: str, seconds: float) -> subprocess.Popen:
    """The test's builders and its backends (found by their entry points, as any installed backend) on the path."""
    script = FILM.format(root=str(root), database=database_url)
    env = {**os.environ, "CHAIN_SECONDS": str(seconds), "PYTHONPATH": os.pathsep.join([str(TESTS), str(BACKENDS)])}
    return subprocess.Popen([sys.executable, "-c", script], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_continuation_killed_between_segments_resumes_at_the_segment_it_stopped_in(tmp_path: Path) -> None:
    database_url = fresh_database_url(tmp_path)
    killed = film(tmp_path, database_url, seconds=1.0)
    try:
        # Segment 2 started means segment 1 was kept ("done 1" is written before the stage keeps its frames).
        while "start 2" not in calls(tmp_path):
            assert killed.poll() is None, killed.stderr.read()
            time.sleep(0.05)
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        killed.wait()
        killed.stdout.close()
        killed.stderr.close()
    before = calls(tmp_path)
    assert before[:5] == ["start 0", "done 0", "start 1", "done 1", "start 2"]

    resumed = film(tmp_path, database_url, seconds=0)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    after = calls(tmp_path)[len(before):]
    assert "start 0" not in after and "start 1" not in after
    assert after[-2:] == ["start 3", "done 3"]

    frames = footage.read_frames(Path(out.strip()))
    assert len(frames) == 4 * 24
    levels = [float(np.median(frames[second * 24 + 12])) for second in range(4)]
    assert np.allclose(levels, [40, 80, 120, 160], atol=3), levels
    with session_scope(open_database(database_url)) as session:
        take = session.scalar(select(models.Take).where(models.Take.kind == models.TAKE_CLIP))
        assert take.status == models.TAKE_OK
        assert [call["index"] for call in take.recipe["calls"]] == [0, 1, 2, 3]
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
