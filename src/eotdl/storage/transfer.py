"""Transfer machinery shared by the stores: options, retries with backoff, a bounded pool
and progress bars."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

T = TypeVar("T")
R = TypeVar("R")
MiB = 1024 * 1024


@dataclass(frozen=True)
class TransferOptions:
    """How transfers run. The defaults suit loopback and cloud stores alike."""

    workers: int = 16
    #: Files above this size go up in parts (S3 multipart) of this size.
    part_size: int = 8 * MiB
    #: Most bytes held in upload buffers at once (small files and parts in flight).
    memory: int = 64 * MiB
    #: Attempts per request for transient errors (connection lost, 5xx, throttling).
    attempts: int = 5
    #: First backoff in seconds; doubled each attempt, with jitter.
    backoff: float = 0.25
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    @property
    def multipart_threshold(self) -> int:
        return self.part_size


def retry(
    call: Callable[[], R],
    is_transient: Callable[[BaseException], bool],
    options: TransferOptions,
    attempts: int | None = None,
) -> R:
    """Run ``call``; on a transient error wait (exponential backoff, jitter) and try again."""
    total = attempts if attempts is not None else options.attempts
    for attempt in range(1, total + 1):
        try:
            return call()
        except Exception as exc:
            if attempt >= total or not is_transient(exc):
                raise
            delay = options.backoff * (2 ** (attempt - 1))
            time.sleep(delay * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


class MemoryBudget:
    """Bounds the bytes held in upload buffers at once, across all threads of a store.

    One request may always proceed when nothing else is held, so a part larger than the
    budget never deadlocks.
    """

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._used = 0
        self._changed = threading.Condition()

    def acquire(self, count: int) -> None:
        with self._changed:
            while self._used and self._used + count > self._limit:
                self._changed.wait()
            self._used += count

    def release(self, count: int) -> None:
        with self._changed:
            self._used -= count
            self._changed.notify_all()

    @contextmanager
    def hold(self, count: int) -> Iterator[None]:
        self.acquire(count)
        try:
            yield
        finally:
            self.release(count)


class BufferPool:
    """Reusable part buffers, at most ``count`` of ``size`` bytes: memory stays bounded and
    returns to the same buffers, instead of the allocator growing its arenas under threads."""

    def __init__(self, size: int, count: int) -> None:
        self.size = size
        self._free: list[bytearray] = []
        self._available = threading.Semaphore(max(1, count))
        self._lock = threading.Lock()

    def get(self) -> bytearray:
        self._available.acquire()
        with self._lock:
            return self._free.pop() if self._free else bytearray(self.size)

    def put(self, buffer: bytearray) -> None:
        with self._lock:
            self._free.append(buffer)
        self._available.release()


def run_parallel(
    items: Iterable[T],
    work: Callable[[T], R],
    workers: int,
    on_done: Callable[[T, R | None, BaseException | None], None],
) -> None:
    """Run ``work`` over ``items`` on a bounded thread pool, calling ``on_done`` for each.

    At most ``2 * workers`` tasks are queued at a time, so a million items cost no memory up
    front. Ctrl-C cancels what has not started.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="eotdl-transfer")
    pending: dict[Future[R], T] = {}
    try:
        for item in items:
            pending[pool.submit(work, item)] = item
            if len(pending) >= 2 * workers:
                _collect(pending, on_done, FIRST_COMPLETED)
        while pending:
            _collect(pending, on_done, FIRST_COMPLETED)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    pending: dict[Future[R], T],
    on_done: Callable[[T, R | None, BaseException | None], None],
    mode: str,
) -> None:
    done, _ = wait(pending, return_when=mode)
    for future in done:
        item = pending.pop(future)
        exc = future.exception()
        on_done(item, None if exc else future.result(), exc)


class ProgressBar:
    """A thread-safe byte progress bar on stderr; silent when disabled or not a terminal."""

    def __init__(self, description: str, total: int, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._description = description
        self._total = total

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console  # imported only when a bar is drawn
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=self._total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, count: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)

    def describe(self, text: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=text)

    def add_total(self, count: int) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[0]
            self._progress.update(self._task, total=(task.total or 0) + count)
