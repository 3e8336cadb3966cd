"""The Dask cluster a job runs on: ``local``, ``cuda`` or an existing scheduler's address.

* ``local``: a :class:`distributed.LocalCluster` of ``workers`` processes, one thread each,
  with ``distributed.worker.daemon: false`` (DataLoader workers are child processes, which a
  daemon may not have) and ``MALLOC_TRIM_THRESHOLD_`` left unset in the workers (Dask's
  default of 65536 made training 1.45× slower in ``bench/bench_train.py``; 1.7× in the issue).
  The settings stay in force while the cluster lives: a nanny reads them again whenever it
  restarts a worker.
* ``cuda``: :class:`dask_cuda.LocalCUDACluster`, one worker per GPU (``workers`` GPUs, default
  all); each worker sees only its own GPU, as ``cuda:0``. Needs the ``gpu``
  extra (in the eotdl checkout: ``.venv/bin/pip install -e '.[gpu]'``).
* ``tcp://HOST:8786``: the workers of a running scheduler; start them with
  ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` for DataLoader workers, and give them the data
  and the lab's object store at the same paths or URLs as here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dask
import distributed  # noqa: F401  (first: its config defaults must exist before we override them)

from eotdl.catalog.compute import connect
from eotdl.errors import InputError
from eotdl.train.spec import CUDA, LOCAL

#: Dask settings for training workers (see the module docstring).
WORKER_CONFIG: dict[str, Any] = {
    "distributed.worker.daemon": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}
GPU_EXTRA = "needs the gpu extra: in the eotdl checkout: .venv/bin/pip install -e '.[gpu]'"
NO_GPU = "no CUDA GPU visible (torch.cuda.is_available() is False)"


@dataclass
class Cluster:
    """A connected client, and whether this process owns (started) the cluster."""

    client: Any
    kind: str
    owned: bool
    device: str


def default_workers(cluster: str) -> int | None:
    """Workers when none are asked for: 2 here (1 on one core), every GPU, or all workers."""
    if cluster == LOCAL:
        return 2 if (os.cpu_count() or 1) > 1 else 1
    return None


def check_cuda(workers: int | None) -> int:
    """How many GPU workers to start; a clear error without dask-cuda or a GPU."""
    try:
        import dask_cuda  # noqa: F401
    except ImportError:
        raise InputError(
            f"--cluster cuda {GPU_EXTRA}",
            hint="dask-cuda starts one worker per GPU; on a machine without GPUs use --cluster"
            " local",
        ) from None
    import torch

    if not torch.cuda.is_available():
        raise InputError(
            f"--cluster cuda: {NO_GPU}",
            hint="check nvidia-smi and that torch was built with CUDA; or use --cluster local",
        )
    count = torch.cuda.device_count()
    if workers is not None and workers > count:
        raise InputError(f"--workers {workers}: this machine has {count} GPU(s)")
    return workers or count


@contextlib.contextmanager
def open_cluster(cluster: str, workers: int | None) -> Iterator[Cluster]:
    """Start (or connect to) the job's cluster; close what was started on the way out."""
    if cluster == CUDA:
        count = check_cuda(workers)
        with dask.config.set(WORKER_CONFIG), _quiet_ports():
            from dask_cuda import LocalCUDACluster

            local = LocalCUDACluster(
                n_workers=count,
                threads_per_worker=1,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            with _client(local) as client:
                yield Cluster(client, CUDA, True, "cuda")
        return
    if cluster == LOCAL:
        with dask.config.set(WORKER_CONFIG), _quiet_ports():
            from distributed import LocalCluster

            local = LocalCluster(
                n_workers=workers or default_workers(LOCAL),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            with _client(local) as client:
                yield Cluster(client, LOCAL, True, "cpu")
        return
    client = connect(cluster, timeout=15)
    try:
        yield Cluster(client, cluster, False, _remote_device(client))
    finally:
        client.close()


@contextlib.contextmanager
def _quiet_ports() -> Iterator[None]:
    """No "Port 8787 is already in use" warning: the scheduler's HTTP server picks another."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        yield


@contextlib.contextmanager
def _client(local: Any) -> Iterator[Any]:
    from distributed import Client

    try:
        client = Client(local)
        try:
            yield client
        finally:
            client.close()
    finally:
        local.close()


def _remote_device(client: Any) -> str:
    """``cuda`` when every worker of a remote cluster sees a GPU, else ``cpu``."""

    def has_gpu() -> bool:
        try:
            import torch
        except ImportError:
            return False
        return bool(torch.cuda.is_available())

    found = client.run(has_gpu, on_error="return")  # a worker on its way out is no answer
    answers = [v for v in found.values() if isinstance(v, bool)]
    return "cuda" if answers and all(answers) else "cpu"
