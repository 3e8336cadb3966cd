"""One writer at a time: locks on the lab's datasets, and the scratch folder writers use.

A dataset lock is a file ``.eotdl/locks/datasets-<name>.lock`` held with ``flock``: the
kernel releases it when its process dies, however it dies, so a crashed writer never blocks
the next one (a stale lock is taken over at once). The file says who holds it (pid, host,
since) so a second writer is told exactly what it waits for; it gets :class:`BusyError`
(exit status 75), never a mix of two runs. Locks are re-entrant within a process.

Temporary files of the lab's writers all go under ``.eotdl/tmp/`` (git-ignored): removed when
the writer ends, on Ctrl-C and on SIGTERM too (SIGTERM raises :class:`Terminated` in the main
thread so every ``finally`` runs); what a SIGKILL leaves there is removed by the next writer.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from eotdl.catalog.lab import Lab
from eotdl.errors import BusyError
from eotdl.storage.lease import Holder, pid_alive

#: The lab's private folder (git-ignored): QA reports, locks, temporary files.
PRIVATE = ".eotdl"
LOCKS = "locks"
TMP = "tmp"

_held: dict[str, tuple[int, int]] = {}  # lock path -> (fd, depth)
_held_guard = threading.Lock()
_scratch: set[str] = set()


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM, so cleanup runs as it does for Ctrl-C."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def private_dir(lab: Lab) -> Path:
    """``<lab>/.eotdl/``, created with a ``.gitignore`` that ignores all of it (also in labs
    whose own ``.gitignore`` predates it)."""
    folder = lab.root / PRIVATE
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(OSError):
            ignore.write_text("# eotdl's private files: locks, temporary files, QA reports\n*\n")
    return folder


# -- locks --------------------------------------------------------------------------------


@contextlib.contextmanager
def dataset_lock(lab: Lab, name: str, kind: str = "dataset") -> Iterator[None]:
    """Hold the write lock of dataset (or model) ``name``; BusyError if another process has it."""
    path = private_dir(lab) / LOCKS / f"{kind}s-{name}.lock"
    with hold_lock(path, f"{kind} {name!r}"):
        yield


@contextlib.contextmanager
def hold_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for a ``with`` block."""
    key = str(path)
    with _held_guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            _release(key)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = _holder_of(path)
        who = f"being written by {holder.describe()}" if holder else "locked by another process"
        raise BusyError(
            f"{what} is busy ({who})",
            hint="retry when that run has finished; nothing was changed",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, Holder.me(0).to_bytes())
    with _held_guard:
        _held[key] = (fd, 1)
    try:
        yield
    finally:
        _release(key)


def _release(key: str) -> None:
    with _held_guard:
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
            return
        del _held[key]
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _holder_of(path: Path) -> Holder | None:
    try:
        return Holder.from_bytes(path.read_bytes())
    except OSError:
        return None


# -- temporary files ----------------------------------------------------------------------


def tmp_dir(lab: Lab) -> Path:
    """``<lab>/.eotdl/tmp/``: where every temporary file of a lab writer goes."""
    folder = private_dir(lab) / TMP
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def scratch(lab: Lab, prefix: str) -> Iterator[Path]:
    """A fresh folder under ``.eotdl/tmp/``, removed at the end of the block, on Ctrl-C,
    SIGTERM and at exit. Folders left by killed processes are removed first."""
    install_signal_cleanup()
    root = tmp_dir(lab)
    remove_stale(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root))
    _scratch.add(str(folder))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _scratch.discard(str(folder))


def remove_stale(root: Path) -> int:
    """Remove the scratch folders in ``root`` whose process (this host) no longer runs."""
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            pid = _pid_in(entry.name)
            if pid is not None and pid != os.getpid() and not pid_alive(pid):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                removed += 1
    return removed


def _pid_in(name: str) -> int | None:
    """The pid in a scratch name ``<prefix><pid>-<random>``."""
    head = name.rsplit("-", 1)[0] if "-" in name else ""
    digits = ""
    for char in reversed(head):
        if not char.isdigit():
            break
        digits = char + digits
    return int(digits) if digits else None


def _cleanup_at_exit() -> None:
    for folder in list(_scratch):
        shutil.rmtree(folder, ignore_errors=True)
    _scratch.clear()


_installed = False


def install_signal_cleanup() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread (once; only where SIGTERM
    still has its default action), and remove scratch folders at exit."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    atexit.register(_cleanup_at_exit)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
    raise Terminated()
