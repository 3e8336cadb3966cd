"""Hostile-input suite, concurrency: one writer per dataset, one publisher per target.

Two writers are real processes (or two store clients, as two machines would be); the second
is refused with a clear "busy" message and exit status 75, and nothing is mixed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.locks import dataset_lock
from eotdl.errors import BusyError
from eotdl.site.publish import LOCK, publish_site
from eotdl.storage import open_store
from eotdl.storage.lease import Holder, acquire_lease
from rastergen import write_tif

EOTDL = [sys.executable, "-m", "eotdl.cli.main"]

HOLD_LOCK = """
import sys
from eotdl.catalog.lab import Lab
from eotdl.catalog.locks import dataset_lock
with dataset_lock(Lab.find(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def _rasters(folder: Path, count: int) -> Path:
    for n in range(count):
        write_tif(folder / f"a{n:03d}_20230101.tif", seed=n, size=8, offset=(n * 100.0, 0))
    return folder


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


@pytest.fixture
def holder(tmp_path: Path):
    """A second process holding the write lock of dataset 'ds' until the test ends."""
    lab = init_lab(tmp_path / "lab")
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lab.root), "ds"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield lab, process
    if process.poll() is None:
        process.communicate("")


def test_a_second_ingest_into_a_busy_dataset_is_refused_with_exit_75(holder, tmp_path):
    lab, process = holder
    source = _rasters(tmp_path / "src", 3)
    run = subprocess.run(
        [*EOTDL, "ingest", "rasters", str(source), "--dataset", "ds"],
        cwd=lab.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 75, run.stderr
    assert "dataset 'ds' is busy" in run.stderr
    assert f"pid {process.pid} on host" in run.stderr
    assert "Traceback" not in run.stderr
    assert not lab.dataset("ds").exists()
    process.communicate("")  # the first writer finishes: now the ingest goes through
    again = subprocess.run(
        [*EOTDL, "ingest", "rasters", str(source), "--dataset", "ds"],
        cwd=lab.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert len(list(lab.dataset("ds").iter_items())) == 3


def test_the_library_refuses_a_busy_dataset_too(holder, tmp_path):
    from eotdl.builders.ingestion import ingest

    lab, process = holder
    with pytest.raises(BusyError) as busy:
        ingest(lab, "rasters", str(_rasters(tmp_path / "src", 2)), "ds", progress=False)
    assert busy.value.exit_code == 75
    assert str(process.pid) in busy.value.message
    # another dataset of the same lab is not blocked
    ingest(lab, "rasters", str(tmp_path / "src"), "other", progress=False)


def test_a_lock_left_by_a_dead_writer_is_taken_over(tmp_path):
    from eotdl.builders.ingestion import ingest

    lab = init_lab(tmp_path / "lab")
    lock = lab.root / ".eotdl" / "locks" / "datasets-ds.lock"
    lock.parent.mkdir(parents=True)
    lock.write_bytes(Holder(_dead_pid(), "here", 0.0, 0.0).to_bytes())
    ingest(lab, "rasters", str(_rasters(tmp_path / "src", 2)), "ds", progress=False)
    assert len(list(lab.dataset("ds").iter_items())) == 2
    with dataset_lock(Lab.find(lab.root), "ds"), dataset_lock(lab, "ds"):  # re-entrant
        pass


def _fake_site(lab: Lab) -> None:
    site = lab.site_dir
    (site / "datasets").mkdir(parents=True)
    (site / "catalog.json").write_text('{"type": "Catalog"}')
    for n in range(5):
        (site / "datasets" / f"f{n}.json").write_text(f'{{"n": {n}}}')


def test_a_second_publisher_to_a_folder_is_refused(tmp_path):
    lab = init_lab(tmp_path / "lab")
    _fake_site(lab)
    target = open_store((tmp_path / "www").as_uri())
    other = open_store((tmp_path / "www").as_uri())  # a second publisher's own handle
    lease = acquire_lease(other, LOCK, "the site")
    try:
        with pytest.raises(BusyError) as busy:
            publish_site(lab, target, build=False)
        assert f"pid {os.getpid()}" in busy.value.message
        assert not (tmp_path / "www" / "catalog.json").exists()
    finally:
        lease.release()
    assert publish_site(lab, target, build=False).uploaded == 6
    assert not (tmp_path / "www" / LOCK).exists()


def test_a_lease_of_a_crashed_publisher_is_taken_over(tmp_path):
    lab = init_lab(tmp_path / "lab")
    _fake_site(lab)
    target = open_store((tmp_path / "www").as_uri())
    # a lease of another machine, expired; and one of a dead process of this host, not expired
    target.put_named(LOCK, Holder(1, "elsewhere", 0.0, 1.0, "x").to_bytes())
    assert publish_site(lab, target, build=False).uploaded == 6
    import socket
    import time

    alive_until = time.time() + 3600
    target.put_named(LOCK, Holder(_dead_pid(), socket.gethostname(), 0.0, alive_until).to_bytes())
    publish_site(lab, target, build=False, force=True)
    # a live lease of another machine is respected
    target.put_named(LOCK, Holder(1, "elsewhere", time.time(), alive_until, "y").to_bytes())
    with pytest.raises(BusyError, match="host elsewhere"):
        publish_site(lab, target, build=False, force=True)


@pytest.mark.s3
def test_two_machines_race_for_one_s3_lease_and_one_wins(s3_bucket):
    """Eight clients (as eight machines would) take the lease at once: exactly one gets it."""
    stores = [open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url) for _ in range(8)]
    won, refused = _race(stores, "site/" + LOCK)
    assert len(won) == 1 and len(refused) == 7
    assert "is busy (being written by pid" in refused[0].message
    won[0].release()  # type: ignore[attr-defined]
    assert stores[0].head("site/" + LOCK) is None
    acquire_lease(stores[1], "site/" + LOCK, "the site").release()


@pytest.mark.s3
def test_publish_to_s3_is_refused_while_another_machine_holds_the_lease(s3_bucket, tmp_path):
    lab = init_lab(tmp_path / "lab")
    _fake_site(lab)
    target = open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url)
    other = open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url)
    other.put_named(LOCK, Holder(7, "ci-runner-2", 0.0, 4e9, "t").to_bytes())
    with pytest.raises(BusyError, match="pid 7 on host ci-runner-2"):
        publish_site(lab, target, build=False)
    assert target.head("catalog.json") is None
    other.put_named(LOCK, Holder(7, "ci-runner-2", 0.0, 1.0, "t").to_bytes(), overwrite=True)
    assert publish_site(lab, target, build=False).uploaded == 6  # expired: taken over


def _race(stores: list, key: str) -> tuple[list, list[BusyError]]:
    won: list[object] = []
    refused: list[BusyError] = []
    start = threading.Barrier(len(stores))

    def take(store) -> None:
        start.wait()
        try:
            won.append(acquire_lease(store, key, "the site"))
        except BusyError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=take, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won, refused


class _SlowDeletes:
    """A store whose deletes take 50 ms (a slow link), which widens the window between a
    taker's look at a stale lease and its delete: where two takers would both win."""

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def delete(self, key: str) -> None:
        import time

        time.sleep(0.05)
        self._store.delete(key)


def _expired_lease(store, key: str) -> None:
    store.put_named(key, Holder(1, "elsewhere", 0.0, 1.0, "crashed").to_bytes(), overwrite=True)


@pytest.mark.s3
def test_eight_machines_race_to_take_over_one_expired_s3_lease_and_one_wins(s3_bucket):
    """A stale lease found by eight at once is replaced once: no taker deletes the lease
    another has just written (the takeover is claimed put-if-absent first)."""
    key = "site/" + LOCK
    stores = [
        _SlowDeletes(open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url))
        for _ in range(8)
    ]
    for round_ in range(3):
        _expired_lease(stores[0], key)
        won, refused = _race(stores, key)
        assert len(won) == 1, f"round {round_}: {len(won)} holders of one lease"
        assert len(refused) == 7
        assert stores[0].head(key) is not None
        won[0].release()  # type: ignore[attr-defined]
        assert [o.key for o in stores[0].list("site/")] == [], "a claim or lease was left"


def test_eight_writers_race_to_take_over_one_expired_folder_lease_and_one_wins(tmp_path):
    stores = [_SlowDeletes(open_store((tmp_path / "www").as_uri())) for _ in range(8)]
    for round_ in range(5):
        _expired_lease(stores[0], LOCK)
        won, refused = _race(stores, LOCK)
        assert len(won) == 1, f"round {round_}: {len(won)} holders of one lease"
        assert len(refused) == 7
        won[0].release()  # type: ignore[attr-defined]
        assert list(stores[0].list("")) == [], "a claim or lease was left"


def test_a_claim_left_by_a_crashed_taker_is_cleared(tmp_path, monkeypatch):
    from eotdl.storage import lease

    store = open_store((tmp_path / "www").as_uri())
    _expired_lease(store, LOCK)
    left = lease._claim(store, LOCK, lease._identity(store, LOCK))  # the taker died here
    assert left is not None
    with pytest.raises(BusyError, match="changing hands"):
        acquire_lease(store, LOCK, "the site")  # its claim is fresh: nobody takes over yet
    monkeypatch.setattr(lease, "CLAIM_TTL", -1.0)  # ... until it is old
    acquire_lease(store, LOCK, "the site").release()
    assert list(store.list("")) == []
