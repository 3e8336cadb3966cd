"""An ingest's heavy part on a Dask cluster (``eotdl ingest … --cluster``).

The workers upload the files themselves, straight from the shared source or scratch folder to
the lab's store (a folder shared at the same path, or S3 by its URL): no byte passes through
the client, which only gets back each file's key, checksum and size. A builder that knows how
(``items_on``: the rasters builder) also describes its files there, results coming back in
file order through a bounded window of tasks, so the dataset written is the one a run on this
machine writes, byte for byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from eotdl.catalog.compute import in_order
from eotdl.catalog.lab import Lab
from eotdl.catalog.save import local_path
from eotdl.catalog.store import StoreSpec
from eotdl.storage import TransferSummary

#: Files uploaded by one task when a builder's items are made here and only stored there.
BATCH = 32


def local_files(items: Iterable[dict[str, Any]]) -> list[str]:
    """The local files the items' assets point at, in order, each once."""
    found: dict[str, None] = {}
    for item in items:
        for asset in (item.get("assets") or {}).values():
            path = local_path(str(asset.get("href", "")))
            if path is not None:
                found[str(path)] = None
    return list(found)


def put_files(paths: list[str], spec: StoreSpec) -> TransferSummary:
    """Store ``paths`` in the lab's store (a task, on a worker)."""
    if not paths:
        return TransferSummary("upload")
    return spec.open().put_files(paths, progress=False)


class ClusterWork:
    """A client of the cluster, the lab's store as the workers open it, and what they stored."""

    def __init__(self, client: Any, lab: Lab) -> None:
        self.client = client
        self.spec = StoreSpec.of(lab)
        self.summary = TransferSummary("upload")

    def map_in_order(
        self, function: Callable[..., Any], args: Iterable[Any], *extra: Any
    ) -> Iterator[Any]:
        """``function(arg, *extra)`` for every arg on the workers, in order."""
        return in_order(self.client, function, args, *extra)

    def record(self, done: TransferSummary) -> None:
        """Add what a worker stored to the ingest's summary."""
        total = self.summary
        total.objects.update(done.objects)
        total.sent += done.sent
        total.skipped += done.skipped
        total.bytes += done.bytes
        total.repaired += done.repaired

    def upload(self, paths: list[str]) -> TransferSummary:
        """Every file of ``paths`` in the store (the workers store those not stored yet), as
        :meth:`ObjectStore.put_files` reports it; the hook :func:`save_dataset` calls."""
        todo = [p for p in paths if p not in self.summary.objects]
        batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
        for done in self.map_in_order(put_files, batches, self.spec):
            self.record(done)
        summary = self.summary
        wanted = {p: summary.objects[p] for p in paths}
        return dataclasses.replace(summary, objects=wanted)
