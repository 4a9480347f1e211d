"""Stopping long-running Prefect processes (`aigms serve`, `prefect worker start`) as a person does, with Ctrl-C."""

import os
import signal
import subprocess
import time
import warnings

GRACE_SECONDS = 10


def ctrl_c_reaches() -> None:
    """`preexec_fn` of a process the test stops with Ctrl-C: SIGINT back to its default, as at a terminal. A shell
    without job control starts a job run with `&` with SIGINT ignored (CI runners, `nohup`), the children inherit
    that, and Python leaves an ignored SIGINT ignored: Ctrl-C would then reach nothing, and every stop took the
    whole grace period and a kill."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(name: str, *processes: subprocess.Popen) -> None:
    """Ctrl-C to each, then wait: they stop within a second or two when Ctrl-C reaches them (`ctrl_c_reaches`).
    After ten seconds the process group is killed and the wait is reported as a warning with what the process
    printed, not as a failure of the test's point."""
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
