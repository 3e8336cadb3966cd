"""Where a lab's heavy work runs: the ``[compute] cluster`` setting and ``--cluster`` values.

``local`` is a Dask cluster of worker processes on this machine; ``tcp://HOST:PORT`` (or
``tls://``) the scheduler of a running cluster, whose workers read and write the lab's store
themselves (S3, or a folder shared at the same path), so no bytes pass through the client.
No value means the default of each command (QA: threads in this process; ingest and build:
this machine's processes and threads). :func:`client_for` opens either kind; :func:`in_order`
maps a task over many inputs on it, results in order, memory bounded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from eotdl.errors import EotdlError, InputError, StorageError

LOCAL = "local"
#: Training only: a LocalCUDACluster, one worker per GPU.
CUDA = "cuda"
SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


def check_cluster(value: str, *, gpu: bool = False) -> str:
    """``value`` if it names a cluster: ``local``, a scheduler address (``tcp://HOST:8786``),
    or with ``gpu`` (training) ``cuda``, one worker per GPU."""
    text = value.strip()
    if text == LOCAL or (gpu and text == CUDA):
        return text
    if text.startswith(SCHEMES) and len(text) > text.index("://") + 3:
        return text
    cuda = ", cuda (one worker per GPU, needs eotdl[gpu])," if gpu else ""
    raise InputError(
        f"unknown cluster {value!r}",
        hint=f"use local (worker processes here){cuda} or the address of a running Dask"
        " scheduler, e.g. tcp://10.0.0.5:8786",
    )


def lab_cluster(root: Path) -> str | None:
    """The lab's ``[compute] cluster`` setting in ``eotdl.toml`` (None when unset)."""
    path = root / "eotdl.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    value = (data.get("compute") or {}).get("cluster")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"{path}: [compute] cluster must be a string")
    return check_cluster(value)


def choose_cluster(lab_root: Path, given: str | None = None) -> str | None:
    """Where a command's heavy work runs: ``given`` (``--cluster``, checked) if set, else the
    lab's ``[compute] cluster``, else None (the command's own default)."""
    return check_cluster(given) if given else lab_cluster(lab_root)


@contextlib.contextmanager
def client_for(cluster: str, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` of ``cluster``: ``local`` starts worker processes here (``workers``
    of them, one thread each; default one per CPU) and stops them on the way out; an address
    connects to a running scheduler (a clear error when it cannot be reached)."""
    from distributed import Client

    if check_cluster(cluster) == LOCAL:
        from distributed import LocalCluster

        count = max(1, workers or _cpus())
        with (
            LocalCluster(
                n_workers=count,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit=0,
                silence_logs=logging.ERROR,
            ) as local,
            Client(local) as client,
        ):
            yield client
        return
    with connect(cluster) as client:
        yield client


def connect(address: str, timeout: float = 10) -> Any:
    """A ``distributed.Client`` of the running scheduler at ``address``; a clear error when it
    does not answer within ``timeout`` seconds."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"cannot reach the Dask scheduler at {address}: {exc}",
            hint="start it (`dask scheduler`) and its workers, check that its port is open,"
            " or drop --cluster",
        ) from None


def in_order(
    client: Any, function: Callable[..., Any], args: Iterable[Any], *extra: Any
) -> Iterator[Any]:
    """``function(arg, *extra)`` for every arg on the cluster's workers, results in order,
    with at most two tasks per worker thread submitted ahead (memory stays flat); the first
    error cancels the rest and is raised here, as itself when it is a user's error."""
    window = max(2, 2 * (sum(client.nthreads().values()) or 1))
    pending: deque[Any] = deque()
    try:
        for arg in args:
            pending.append(client.submit(portable_errors, function, arg, *extra, pure=False))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        if pending:
            client.cancel(list(pending))


def portable_errors(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in another process; a user's error comes back as itself, message
    and hint, without what it was raised from (a GDAL or boto error the caller may not
    unpickle once tblib's pickling, which importing ``distributed`` installs, is on)."""
    try:
        return function(*args)
    except EotdlError as exc:
        error = _portable(exc)
    raise error


def _portable(error: EotdlError) -> EotdlError:
    kind = type(error)
    if kind.__init__ is not EotdlError.__init__:  # made otherwise (TransferError: a summary)
        kind = StorageError if isinstance(error, StorageError) else EotdlError
    return kind(error.message, hint=error.hint)


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
