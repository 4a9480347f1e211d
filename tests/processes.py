"""Stopping long-running Prefect processes (`aigms serve`, `prefect worker start`) as a person does, with Ctrl-C."""

import os
import signal
import subprocess
import time
import warnings

GRACE_SECONDS = 10


def interrupt(name: str, *processes: subprocess.Popen) -> None:
    """Ctrl-C to each, then wait. Alone they stop in seconds; late in the full suite, with the session's Prefect
    server holding thousands of task runs and their events, `aigms serve` and `prefect worker` have taken over five
    minutes to say goodbye to it. After ten seconds the process group is killed and the wait is reported as a
    warning with what the process printed, not as a failure of the test's point."""
    for process in processes:
        os.kill(process.pid, signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            warnings.warn(f"{name} did not stop within {GRACE_SECONDS} s of Ctrl-C: "
                          f"{process.stderr.read().decode()[-2000:]}")
        finally:
            process.stderr.close()
