"""`aigms render` with no Prefect server configured runs its flows against a temporary one, which Prefect starts as
a uvicorn child process (`prefect.server.api.server.SubprocessASGIServer`) and stops at exit. A SIGKILL (the OOM
killer, `kill -9`, a lost terminal's process group) skips every exit hook, and the server ran on, holding its
port and database, until someone found it.

Here the CLI starts that same server itself, from its main thread, before any flow: Prefect's own launcher runs
it, with one change, the kernel is told to kill the child when its parent dies (Linux's PR_SET_PDEATHSIG). The
instance is registered where Prefect looks for its temporary server, as Prefect's own test harness does, so every
Prefect client in the process uses it."""

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


def _dies_with(parent: int) -> Callable[[], None]:
    """Runs in the child between fork and exec. libc is loaded here, before the fork, so the child only calls."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def bind() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call: the signal will never come
            os._exit(1)

    return bind


class _BindingSubprocess:
    """The `subprocess` module as Prefect's launcher sees it while it starts our server: the same, except that
    the children it makes die with this process."""

    def __init__(self, bind: Callable[[], None]) -> None:
        self._bind = bind

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def Popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen:  # noqa: N802 (the module's own name)
        return subprocess.Popen(*args, preexec_fn=self._bind, **kwargs)


def start_temporary_server() -> None:
    """Start Prefect's temporary server now, bound to this process's life, when a render would start one: no
    PREFECT_API_URL, the temporary server allowed, on Linux, from the main thread (the parent-death signal
    follows the thread that started the child)."""
    from prefect.server.api import server as prefect_server
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value() or not sys.platform.startswith("linux"):
        return
    if threading.current_thread() is not threading.main_thread():
        return

    class BoundServer(prefect_server.SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen:
            launcher = prefect_server.subprocess
            prefect_server.subprocess = _BindingSubprocess(_dies_with(os.getpid()))
            try:
                return super()._run_uvicorn_command()
            finally:
                prefect_server.subprocess = launcher

    if prefect_server.SubprocessASGIServer._instances.get(None) is None:
        BoundServer().start()
