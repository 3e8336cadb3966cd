"""DistributedDataParallel ranks on Dask workers: one rank per worker, set up by hand.

(``dask-pytorch-ddp`` did this once; it is unmaintained and broken with current distributed.)
Rank 0's worker picks a free port; every rank joins the process group at
``tcp://<rank 0's host>:<port>`` with a timeout; the client watches the ranks with
:class:`distributed.as_completed` and the scheduler's worker list, so the first failing rank or
lost worker is seen at once and reported as :class:`RankFailed` or :class:`WorkerLost`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from distributed import Client, Future, as_completed

#: How often the client looks at the ranks and the worker list, in seconds.
POLL = 0.2
#: How often it asks the scheduler whether the ranks' workers are still there, in seconds.
CHECK_WORKERS = 1.0
#: After a rank fails, how long to wait for the scheduler to notice a dead worker.
GRACE = 1.0
#: Words in a rank's error that mean a peer went away (not a bug in the training code).
_PEER_GONE = (
    "connection closed by peer",
    "connection reset by peer",
    "broken pipe",
    "timed out",
    "gloo",
    "nccl",
    "socket",
)


class RankFailed(Exception):
    """A rank raised: ``rank``, and the remote exception and traceback."""

    def __init__(self, rank: int, error: BaseException, traceback: str) -> None:
        super().__init__(f"rank {rank} failed: {type(error).__name__}: {error}")
        self.rank = rank
        self.error = error
        self.traceback = traceback

    @property
    def peer_gone(self) -> bool:
        """Whether the error says a peer went away (worth a retry) rather than a bug."""
        try:
            import torch.distributed as dist

            if isinstance(self.error, dist.DistError):
                return True
        except ImportError:  # pragma: no cover - torch is an extra
            pass
        name = type(self.error).__name__
        if name in ("KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError"):
            return True
        text = str(self.error).lower()
        return isinstance(self.error, RuntimeError) and any(w in text for w in _PEER_GONE)


class WorkerLost(Exception):
    """A worker running a rank left the cluster (died, was killed, lost its connection)."""

    def __init__(self, workers: Sequence[str]) -> None:
        super().__init__(f"lost worker(s): {', '.join(workers)}")
        self.workers = list(workers)


@dataclass(frozen=True)
class Rendezvous:
    """Where the ranks meet: rank 0's host and a free port there."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def free_port() -> int:
    """A TCP port free on this machine now (run on rank 0's worker)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def worker_host(address: str) -> str:
    """The host part of a worker address (``tcp://10.0.0.5:40123`` → ``10.0.0.5``)."""
    host = urllib.parse.urlsplit(address).hostname
    if not host:
        raise ValueError(f"no host in the worker address {address!r}")
    return host


@contextlib.contextmanager
def process_group(
    rank: int, world: int, rendezvous: Rendezvous, backend: str, timeout: float
) -> Iterator[None]:
    """Join the job's process group for the duration of the block (runs on a worker)."""
    import torch.distributed as dist

    dist.init_process_group(
        backend,
        init_method=rendezvous.url,
        rank=rank,
        world_size=world,
        timeout=dt.timedelta(seconds=timeout),
    )
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


def workers_info(client: Client) -> dict[str, Any]:
    """Every worker the scheduler knows now, asked afresh (``Client.scheduler_info()`` returns
    a cached copy that the client's periodic refresh may replace with one listing none)."""
    scheduler = client.scheduler
    if scheduler is None:
        return {}
    identity = client.sync(scheduler.identity, n_workers=-1)
    return dict(identity.get("workers") or {})


def rank_workers(client: Client, world: int) -> list[str]:
    """The addresses of ``world`` workers, in a stable order (rank i on the i-th)."""
    workers = sorted(workers_info(client))
    if len(workers) < world:
        raise WorkerLost([f"{world - len(workers)} missing worker(s)"])
    return workers[:world]


def alive(client: Client) -> set[str]:
    return set(workers_info(client))


def stop_workers(client: Client, workers: Sequence[str]) -> None:
    """Stop the ranks on ``workers`` now: a rank is a running thread that only ends with its
    process, so the process exits and its nanny starts a fresh one (a worker without a nanny
    is restarted the polite way, which fails: it cannot be)."""
    info = workers_info(client)
    nannied = [w for w in workers if w in info and info[w].get("nanny")]
    others = [w for w in workers if w in info and w not in nannied]
    if nannied:
        client.run(_exit_now, workers=nannied, wait=False)
    if others:
        client.restart_workers(others, timeout=60, raise_for_error=False)


async def _exit_now() -> None:
    """Runs on a worker's event loop (a coroutine, so the client need not wait for an answer)."""
    os._exit(75)


def run_ranks(
    client: Client,
    workers: Sequence[str],
    target: Callable[..., Any],
    *args: Any,
    name: str = "eotdl-rank",
) -> list[Any]:
    """Run ``target(rank, world, rendezvous, *args)`` on each worker; their results in rank order.

    Raises RankFailed for the first rank that raised (the others are cancelled), WorkerLost
    when a worker of the job left the cluster. The caller recovers (restarts the workers).
    """
    world = len(workers)
    port = client.submit(
        free_port, workers=[workers[0]], allow_other_workers=False, pure=False
    ).result(timeout=60)
    rendezvous = Rendezvous(worker_host(workers[0]), int(port))
    futures = [
        client.submit(
            target,
            rank,
            world,
            rendezvous,
            *args,
            key=f"{name}-{rank}",
            workers=[address],
            allow_other_workers=False,
            pure=False,
            retries=0,
        )
        for rank, address in enumerate(workers)
    ]
    rank_of = {future.key: rank for rank, future in enumerate(futures)}
    results: dict[int, Any] = {}
    next_check = time.monotonic() + CHECK_WORKERS
    try:
        pending = as_completed(futures)
        while len(results) < world:
            for future in pending.next_batch(block=False) if pending.has_ready() else []:
                rank = rank_of[future.key]
                if future.status == "finished":
                    results[rank] = future.result()
                    continue
                time.sleep(GRACE)  # a dead peer's worker is usually gone from the list by now
                lost = [w for w in workers if w not in alive(client)]
                cause = _cause(futures, rank_of, _failure(rank, future))
                if lost:
                    raise WorkerLost(lost) from cause
                raise cause
            if time.monotonic() >= next_check:  # asking for the worker list costs the scheduler
                next_check = time.monotonic() + CHECK_WORKERS
                lost = [w for w in workers if w not in alive(client)]
                if lost:
                    raise WorkerLost(lost)
            if len(results) < world:
                time.sleep(POLL)
    except BaseException:
        client.cancel(futures, force=True)
        raise
    return [results[rank] for rank in range(world)]


def _cause(futures: list[Future], rank_of: dict[Any, int], first: RankFailed) -> RankFailed:
    """The failure to report: a rank's own error rather than a peer's "connection closed"."""
    if not first.peer_gone:
        return first
    for future in futures:
        if future.status == "error" and rank_of[future.key] != first.rank:
            other = _failure(rank_of[future.key], future)
            if not other.peer_gone:
                return other
    return first


def _failure(rank: int, future: Future) -> RankFailed:
    try:
        error = future.exception(timeout=10)
        trace = future.traceback(timeout=10)
    except Exception as exc:  # cancelled, or its worker vanished
        return RankFailed(rank, exc, "")
    import traceback as tb

    text = "".join(tb.format_tb(trace)) if trace is not None else ""
    assert error is not None
    return RankFailed(rank, error, text)
