"""Where the EDA's Dask graphs run: threads, worker processes, a local distributed cluster, or
synchronously. A process pool or cluster is started once and serves every graph of one QA run.

Threads are the default: GDAL reads and decompresses outside the GIL, so they scale, start at
once and share one copy of everything. Worker processes have no GIL at all but take about a
second to start and a hundred-odd megabytes each; a LocalCluster costs more of both. The
measured comparison is in bench/RESULTS.md (section "qa").
"""

from __future__ import annotations

import contextlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Any

import dask

from eotdl.catalog.compute import LOCAL, client_for
from eotdl.errors import InputError

SCHEDULERS = ("threads", "processes", "distributed", "sync")


class Engine:
    """Computes Dask collections with one scheduler and ``workers`` workers."""

    def __init__(
        self, scheduler: str, workers: int, address: str | None = None, client: Any = None
    ) -> None:
        if scheduler not in SCHEDULERS:
            raise InputError(
                f"unknown Dask scheduler {scheduler!r}", hint=f"use one of {', '.join(SCHEDULERS)}"
            )
        self.scheduler = scheduler
        self.workers = max(1, workers)
        self.address = address  # a running scheduler's (``distributed`` only)
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = client  # a caller's client (``distributed``): used, not closed
        self._own = client is None
        self._cluster = contextlib.ExitStack()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes or the cluster, if any were started."""
        self._cluster.close()
        if self._own:
            self._client = None
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def compute(self, collection: Any) -> Any:
        """The computed value of one Dask collection."""
        if self.scheduler == "distributed":
            return self._distributed().compute(collection).result()
        if self.scheduler == "processes":
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            (value,) = dask.compute(
                collection, scheduler="processes", pool=self._pool, num_workers=self.workers
            )
            return value
        (value,) = dask.compute(collection, scheduler=self.scheduler, num_workers=self.workers)
        return value

    def _distributed(self) -> Any:
        if self._client is None:
            where = self.address or LOCAL
            self._client = self._cluster.enter_context(client_for(where, self.workers))
        return self._client
