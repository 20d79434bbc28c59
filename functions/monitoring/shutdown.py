"""Work an instance must finish before it stops, on exit and on SIGTERM.

Cloud Run sends SIGTERM before it stops an instance; rollups and queued log
lines are written then (and at interpreter exit), each in its own step order.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["at_shutdown", "run_shutdown_tasks"]

# Rollups flush before log lines: a flush may itself log.
ROLLUPS = 0
LOGS = 10

_lock = threading.Lock()
_tasks: dict[Callable[[], Any], int] = {}
_installed = False


def at_shutdown(task: Callable[[], Any], step: int) -> None:
    """Run `task` when the instance stops; lower steps run first. Idempotent."""
    global _installed
    with _lock:
        _tasks[task] = step
        if _installed:
            return
        _installed = True
    atexit.register(run_shutdown_tasks)
    # A signal handler can only be installed from the main thread; elsewhere
    # atexit alone remains.
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm(previous))


def run_shutdown_tasks() -> None:
    """Run every registered task in step order; one failing stops no other."""
    with _lock:
        ordered = sorted(_tasks.items(), key=lambda item: item[1])
    for task, _ in ordered:
        with contextlib.suppress(Exception):
            task()


_SIGTERM_BUDGET_S = 5.0


def _on_sigterm(previous: Any) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        # The handler interrupts the main thread wherever it is, perhaps holding
        # a lock a flush needs; flushing on another thread with a deadline means
        # such a flush is lost rather than the process never stopping.
        worker = threading.Thread(target=run_shutdown_tasks, daemon=True)
        worker.start()
        worker.join(_SIGTERM_BUDGET_S)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            # Default action: restore it and let the signal end the process.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handler
