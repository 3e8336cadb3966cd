"""A real Dask cluster on loopback for the tests: ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, started as a user would start them, stopped at the end; and
``no_bytes_here``, the traps that show the test's own process read and stored no byte of the
data (the workers, other processes, did)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dask() -> list[str]:
    beside = Path(sys.executable).with_name("dask")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("dask")
    if found is None:
        pytest.skip("the `dask` command (from distributed) is not installed")
    return [found]


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a scheduler with two single-threaded workers (separate processes)."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    common = ["--no-dashboard"]
    processes = [
        subprocess.Popen(
            [*_dask(), "scheduler", "--host", "127.0.0.1", "--port", str(port), *common],
            stdout=(logs / "scheduler.log").open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
        )
    ]
    for n in range(2):
        processes.append(
            subprocess.Popen(
                [
                    *_dask(),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"w{n}",
                    *common,
                ],
                stdout=(logs / f"worker{n}.log").open("wb"),
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def no_bytes_here(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``arm(lab)`` makes this process fail if it hashes, stores or re-hashes a file of the
    store (data, preview PNGs), or opens a raster of ``lab``'s store with rasterio (to draw a
    preview, scan it for QA or compute its statistics): the workers must do it. A raster this
    process tried to open is listed in ``arm.reads`` (previews and QA catch read errors, so
    tests assert on the list)."""
    import rasterio

    from eotdl.storage import ObjectStore, uploads

    reads: list[str] = []
    real_open = rasterio.open

    def refuse(what: str) -> Any:
        def trap(*args: Any, **kwargs: Any) -> Any:
            reads.append(what)
            raise AssertionError(f"the client {what} itself")

        return trap

    def arm(lab: Any) -> None:
        store = os.path.realpath(lab.root / "store") + os.sep

        def open_(fp: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(fp, (str, os.PathLike)) and os.path.realpath(fp).startswith(store):
                reads.append(os.fspath(fp))
                raise AssertionError(f"the client opened {fp} itself")
            return real_open(fp, *args, **kwargs)

        monkeypatch.setattr(uploads, "sha256_and_size", refuse("hashed a file"))
        monkeypatch.setattr(ObjectStore, "put_files", refuse("stored files"))
        monkeypatch.setattr(ObjectStore, "verify_objects", refuse("re-hashed objects"))
        monkeypatch.setattr(rasterio, "open", open_)

    arm.reads = reads  # type: ignore[attr-defined]
    return arm
