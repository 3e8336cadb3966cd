"""The rasters builder shares its files among forked processes: same items, in order, each
file hashed once, and a bad file stops the run with its own message."""

import os
import sys
from pathlib import Path

import pytest

from eotdl.builders import rasters
from eotdl.builders.ingestion import ingest
from eotdl.builders.rasters import RastersBuilder
from eotdl.catalog.lab import init_lab
from eotdl.errors import InputError
from rastergen import write_tif

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the process pool forks (Linux only)"
)


def _folder(tmp_path, count=12):
    folder = tmp_path / "tifs"
    for index in range(count):
        write_tif(folder / f"t{index:02d}_20230601.tif", seed=index, offset=(index * 640.0, 0))
    return folder


def test_processes_give_the_items_of_one_thread(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    pools: list[int] = []
    real = rasters._in_processes

    def counting(builder, files, processes):
        pools.append(processes)
        return real(builder, files, processes)

    monkeypatch.setattr(rasters, "_in_processes", counting)
    monkeypatch.setattr(rasters, "_processes", lambda workers, files: 1 if workers == 1 else 2)
    one = list(RastersBuilder(str(folder), "ds", tmp_path / "w1", workers=1).items())
    assert pools == []
    several = list(RastersBuilder(str(folder), "ds", tmp_path / "w2").items())
    assert pools == [2]
    assert several == one
    assert [i["id"] for i in several] == [f"t{n:02d}_20230601" for n in range(12)]


def test_each_file_is_hashed_once(tmp_path, monkeypatch):
    """The workers' hashes reach the upload through the hash cache: it reads no file."""
    from eotdl.storage import uploads

    folder = _folder(tmp_path, 6)
    lab = init_lab(tmp_path / "lab")
    monkeypatch.setattr(rasters, "_processes", lambda workers, files: 2)
    hashed: list[str] = []
    real = uploads.sha256_and_size

    def counting(path):
        hashed.append(str(path))
        return real(path)

    monkeypatch.setattr(uploads, "sha256_and_size", counting)
    result = ingest(lab, "rasters", str(folder), "ds", progress=False)
    assert result.saved.items == 6 and result.saved.uploaded == 6
    # the sources were hashed by the workers; what the upload hashes is only the previews
    # drawn after the save (one PNG each)
    assert [Path(p).suffix for p in hashed] == [".png"] * 6


def test_a_bad_file_stops_the_processes_with_its_name(tmp_path, monkeypatch):
    folder = _folder(tmp_path, 8)
    (folder / "t03_20230601.tif").write_bytes(b"not a tiff")
    monkeypatch.setattr(rasters, "_processes", lambda workers, files: 2)
    with pytest.raises(InputError, match="t03_20230601.tif"):
        list(RastersBuilder(str(folder), "ds", tmp_path / "w").items())


def test_a_lock_held_in_the_parent_does_not_stop_the_workers(tmp_path, monkeypatch):
    """Workers are not forked from the caller: a lock another thread holds at that moment
    (here the test's own) is not copied held into them."""
    import threading

    from slowrasters import LOCK, LockingRasters

    folder = _folder(tmp_path, 6)
    monkeypatch.setattr(rasters, "_processes", lambda workers, files: 2)
    result: list[list] = []
    with LOCK:
        worker = threading.Thread(
            target=lambda: result.append(
                list(LockingRasters(str(folder), "ds", tmp_path / "w").items())
            ),
            daemon=True,
        )
        worker.start()
        worker.join(timeout=120)
    assert not worker.is_alive(), "the workers waited on a lock copied from the parent"
    assert [i["id"] for i in result[0]] == [f"t{n:02d}_20230601" for n in range(6)]


def test_the_workers_die_with_a_killed_parent(tmp_path):
    import signal
    import subprocess
    import time

    import psutil

    folder = _folder(tmp_path, 4)
    script = (
        "import sys\n"
        "from eotdl.builders import rasters\n"
        "from slowrasters import SlowRasters\n"
        "rasters._processes = lambda workers, files: 2\n"
        f"list(SlowRasters({str(folder)!r}, 'ds', {str(tmp_path / 'w')!r}).items())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        process = psutil.Process(parent.pid)
        deadline = time.monotonic() + 120
        workers: list = []  # the fork server, its resource tracker and two workers
        while time.monotonic() < deadline and len(workers) < 3 and parent.poll() is None:
            workers = process.children(recursive=True)
            time.sleep(0.2)
        assert len(workers) >= 3, f"the pool did not start: {workers}"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert alive == [], f"workers outlived their parent: {alive}"
    finally:
        if parent.poll() is None:
            parent.kill()
