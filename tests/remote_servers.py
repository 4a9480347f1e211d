"""What the remote-camera tests share: an ASGI app served by uvicorn on 127.0.0.1 in a thread, and small real
videos made with ffmpeg (a flat grey level per task, so a test can tell in the delivered clip which task made
which seconds)."""

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
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets"))
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


def grey_clip(out: Path, level: int, seconds: float, fps: int, width: int = 128, height: int = 72,
              before: Path | None = None) -> Path:
    """An H.264 mp4 of `seconds` at one grey `level`, after the frames of `before` when given (an extension)."""
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
    return out
