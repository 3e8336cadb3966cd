"""Ordered, bounded parallel maps on a thread pool, for the builders' reading of rasters and
remote windows (rasterio and GDAL release the GIL): results come back in input order, with a
fixed number of tasks in flight, and optionally a progress bar."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    fn: Callable[[T], R],
    args: Iterable[T],
    *,
    workers: int | None = None,
    window: int = 64,
    total: int | None = None,
    what: str = "tasks",
    thread_name_prefix: str = "",
) -> Generator[R, None, None]:
    """``map(fn, args)`` on a thread pool, in order, with at most ``window`` tasks pending.

    ``total`` (the number of tasks) shows a transient progress bar of that many ``what``.
    Closing the generator waits for the running tasks and cancels the others.
    """
    workers = workers or min(8, os.cpu_count() or 1)
    progress = None
    if total:
        from rich.progress import Progress

        progress = Progress(transient=True)
        progress.start()
        bar = progress.add_task(what, total=total)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=thread_name_prefix)
    pending: deque[Future[R]] = deque()
    try:
        for arg in args:
            pending.append(pool.submit(fn, arg))
            if len(pending) >= window:
                yield pending.popleft().result()
                if progress:
                    progress.advance(bar)
        while pending:
            yield pending.popleft().result()
            if progress:
                progress.advance(bar)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if progress:
            progress.stop()
