"""Worker processes that never outlive the process that started them.

A forked worker holds the parent's pipes (stdout, stderr, result queues): if the parent is
killed (SIGKILL, the OOM killer), an orphaned worker keeps them open and keeps working. On
Linux the kernel can send the child a signal when its parent dies (``PR_SET_PDEATHSIG``);
elsewhere this is a no-op and workers end when they next touch their broken pipe.
"""

from __future__ import annotations

import os
import signal
import sys

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
