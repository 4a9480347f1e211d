"""What the remote-camera tests share: an ASGI app served by uvicorn on 127.0.0.1 in a thread, and small real
videos made with ffmpeg (a flat grey level per task, so a test can tell in the delivered clip which task made
which seconds)."""

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from aigms.production.store import media


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """`app` under uvicorn on a free port of 127.0.0.1; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


_made: dict[tuple[int, float, int, int, int], Path] = {}
# A task's grey level follows its number round a cycle longer than an episode's tasks, so the segments of one chain
# differ however the shots filmed beside it interleave their tasks with its own.
LEVELS = 20


def grey_clip(out: Path, level: int, seconds: float, fps: int, width: int = 128, height: int = 72,
              before: Path | None = None) -> Path:
    """An H.264 mp4 of `seconds` at one grey `level`, after the frames of `before` when given (an extension). A
    clip made before is copied, not encoded again: the servers answer as fast as they can."""
    key = (level, seconds, fps, width, height)
    if before is None and key in _made and _made[key].is_file():
        shutil.copyfile(_made[key], out)
        return out
    colour = f"0x{level:02x}{level:02x}{level:02x}"
    source = f"color=c={colour}:s={width}x{height}:r={fps}:d={seconds}"
    if before is None:
        arguments = ["-f", "lavfi", "-i", source, "-frames:v", str(round(seconds * fps))]
    else:
        arguments = ["-i", str(before), "-f", "lavfi", "-i", source, "-filter_complex",
                     f"[0:v]fps={fps},scale={width}:{height},setsar=1[a];[1:v]setsar=1[b];[a][b]concat=n=2:v=1[v]",
                     "-map", "[v]"]
    subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *arguments, "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)], check=True)
    if before is None:
        _made[key] = out
    return out


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"
LONG_SHOT = "[[SHOT: WS, push in, 14s]]"  # after the bronze tree's first line: a 5 + 5 + 4 s continuation chain


def example_on(destination: Path, generator: str, extra: str = "", width: int = 160, height: int = 90) -> Path:
    """The example series at a tiny delivery size, filmed by `generator` (a YAML mapping's lines, indented two
    spaces), with `extra` series.yaml lines, and its bronze tree held 14 s: a three-segment chain."""
    shutil.copytree(EXAMPLE, destination)
    bible = destination / "series.yaml"
    text = bible.read_text().replace("width: 1920", f"width: {width}").replace("height: 1080", f"height: {height}")
    text = text.replace("generator:\n  backend: animatic\n  seed: 7\n", f"generator:\n{generator}\n{extra}")
    bible.write_text(text)
    script = destination / "episodes" / "s01e02.fountain"
    tree = "The great bronze tree rises into shadow. Its branches begin to glow, one by one.\n"
    script.write_text(script.read_text().replace(tree, tree + LONG_SHOT + "\n"))
    return destination


def levels(clip: Path, fps: int) -> list[float]:
    """The median grey of the middle frame of each second of `clip`: which task made which second."""
    import numpy as np

    from aigms.production.generate import footage

    frames = footage.read_frames(clip)
    return [float(np.median(frames[second * fps + fps // 2])) for second in range(len(frames) // fps)]
