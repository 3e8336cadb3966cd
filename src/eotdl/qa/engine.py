"""Where the EDA's Dask graphs run: threads, worker processes, a local distributed cluster, or
synchronously. A process pool or cluster is started once and serves every graph of one QA run.

Threads are the default: GDAL reads and decompresses outside the GIL, so they scale, start at
once and share one copy of everything. Worker processes have no GIL at all but take about a
second to start and a hundred-odd megabytes each; a LocalCluster costs more of both. The
measured comparison is in bench/RESULTS.md (section "qa").
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Any

import dask

from eotdl.errors import InputError

SCHEDULERS = ("threads", "processes", "distributed", "sync")


class Engine:
    """Computes Dask collections with one scheduler and ``workers`` workers."""

    def __init__(self, scheduler: str, workers: int, address: str | None = None) -> None:
        if scheduler not in SCHEDULERS:
            raise InputError(
                f"unknown Dask scheduler {scheduler!r}", hint=f"use one of {', '.join(SCHEDULERS)}"
            )
        self.scheduler = scheduler
        self.workers = max(1, workers)
        self.address = address  # a running scheduler's (``distributed`` only)
        self._pool: ProcessPoolExecutor | None = None
        self._cluster: Any = None
        self._client: Any = None

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
        if self._client is not None:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None
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
        if self._client is None and self.address:
            from distributed import Client

            try:
                self._client = Client(self.address, timeout=10)
            except OSError as exc:
                raise InputError(
                    f"cannot reach the Dask scheduler at {self.address}: {exc}",
                    hint="start it (`dask scheduler`) and its workers, or drop --cluster",
                ) from None
        if self._client is None:
            from distributed import Client, LocalCluster

            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit=0,
            )
            self._client = Client(self._cluster)
        return self._client
