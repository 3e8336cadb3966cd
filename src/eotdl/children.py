"""Worker processes that never outlive the process that started them.

A forked worker holds the parent's pipes (stdout, stderr, result queues): if the parent is
killed (SIGKILL, the OOM killer), an orphaned worker keeps them open and keeps working. On
Linux the kernel can send the child a signal when its parent dies (``PR_SET_PDEATHSIG``);
elsewhere this is a no-op and workers end when they next touch their broken pipe.

A worker started by a fork server has the server for a parent, not the process that asked for
it, and holds the server's keep-alive pipe itself, so neither ends it: it watches the asking
process instead (:func:`exit_with`).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; else nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def exit_with(pid: int) -> None:
    """End this process as soon as process ``pid`` ends (Linux 5.3+ pidfd; else nothing).

    A daemon thread waits on the process's pidfd, so it costs nothing while ``pid`` lives.
    """
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return
    try:
        handle = opener(pid)
    except ProcessLookupError:  # it ended before we looked
        os._exit(1)
    except OSError:  # an old kernel: nothing to watch with
        return

    def watch() -> None:
        select.select([handle], [], [])
        os._exit(1)

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()
