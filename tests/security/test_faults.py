"""Hostile-input suite, faults: SIGTERM and SIGKILL mid-write, a store that dies mid-publish,
a full disk. Each leaves the lab as it was (or litter only in ``.eotdl/tmp/``, which the next
run removes) and fails with a message, quickly, with no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eotdl.catalog.lab import init_lab
from eotdl.errors import StorageError
from eotdl.site.publish import LOCK, MANIFEST, publish_site
from eotdl.storage import open_store
from rastergen import write_tif

EOTDL = [sys.executable, "-m", "eotdl.cli.main"]


def _rasters(folder: Path, start: int, stop: int) -> Path:
    for n in range(start, stop):
        write_tif(folder / f"a{n:03d}_20230101.tif", seed=n, size=8, offset=(n * 100.0, 0))
    return folder


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root: file bytes (None for folders)."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        found[rel] = path.read_bytes() if path.is_file() else None
    return found


def _litter(root: Path, before: dict[str, bytes | None]) -> list[str]:
    """New paths outside the scratch folders, the store's objects and the lock files."""
    allowed = (".eotdl/tmp", "store/.eotdl-tmp", "store/objects", ".eotdl/locks")
    return [
        rel
        for rel in _snapshot(root)
        if rel not in before and not any(rel == a or rel.startswith(a + "/") for a in allowed)
    ]


def _interrupt_ingest(lab_root: Path, source: Path, sig: int) -> int:
    """Start `eotdl ingest`, send ``sig`` once it has spooled some items, return its status."""
    process = subprocess.Popen(
        [*EOTDL, "ingest", "rasters", str(source), "--dataset", "ds"],
        cwd=lab_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    patterns = (".eotdl/tmp/save-*/spool.ndjson", ".eotdl-save-*/spool.ndjson")  # now, before
    while time.monotonic() < deadline and process.poll() is None:
        spools = [path for pattern in patterns for path in lab_root.glob(pattern)]
        if spools and spools[0].stat().st_size > 20_000:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the ingest ended before it could be interrupted"
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert b"Traceback" not in stderr, stderr.decode()
    return process.returncode


@pytest.fixture
def lab_with_dataset(tmp_path):
    """A lab whose dataset 'ds' has 3 items, and a source of 400 rasters for a new version."""
    lab = init_lab(tmp_path / "lab")
    from eotdl.builders.ingestion import ingest

    source = _rasters(tmp_path / "src", 0, 3)
    ingest(lab, "rasters", str(source), "ds", progress=False)
    _rasters(source, 3, 400)
    return lab, source


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_mid_ingest_cleans_up_and_leaves_the_dataset_unchanged(lab_with_dataset, sig):
    lab, source = lab_with_dataset
    before = _snapshot(lab.root)
    status = _interrupt_ingest(lab.root, source, sig)
    assert status != 0
    assert _litter(lab.root, before) == []
    assert list((lab.root / ".eotdl" / "tmp").iterdir()) == []
    store_tmp = lab.root / "store" / ".eotdl-tmp"
    assert not store_tmp.exists() or list(store_tmp.iterdir()) == []
    assert _snapshot(lab.root / "datasets") == {
        k[len("datasets/") :]: v for k, v in before.items() if k.startswith("datasets/")
    }


def test_sigkill_mid_ingest_leaves_litter_only_in_scratch_and_the_next_run_removes_it(
    lab_with_dataset,
):
    lab, source = lab_with_dataset
    before = _snapshot(lab.root)
    assert _interrupt_ingest(lab.root, source, signal.SIGKILL) == -signal.SIGKILL
    assert _litter(lab.root, before) == []
    assert [k for k in _snapshot(lab.root) if k.startswith("datasets/")] == [
        k for k in before if k.startswith("datasets/")
    ]
    run = subprocess.run(
        [*EOTDL, "ingest", "rasters", str(source), "--dataset", "ds"],
        cwd=lab.root,
        capture_output=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr.decode()
    assert list((lab.root / ".eotdl" / "tmp").iterdir()) == []
    store_tmp = lab.root / "store" / ".eotdl-tmp"
    assert not store_tmp.exists() or list(store_tmp.iterdir()) == []
    assert len(list(lab.dataset("ds").iter_items())) == 400


def test_the_lab_ignores_its_scratch_folder_in_git(tmp_path):
    lab = init_lab(tmp_path / "lab")
    (lab.root / ".gitignore").write_text("/store/\n")  # a lab made before .eotdl/ was ignored
    from eotdl.catalog.locks import tmp_dir

    (tmp_dir(lab) / "x").write_text("scratch")
    subprocess.run(["git", "init", "-q", str(lab.root)], check=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=lab.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".eotdl" not in status


# -- publish against a store that dies -------------------------------------------------------


def _site(lab, count: int) -> None:
    site = lab.site_dir
    (site / "data").mkdir(parents=True)
    (site / "catalog.json").write_text('{"type": "Catalog"}')
    for n in range(count):
        (site / "data" / f"f{n:04d}.json").write_text(f'{{"n": {n}}}')


def _wait_writable(store, seconds: float = 60.0) -> None:
    """A restarted SeaweedFS answers lists before its filer takes writes: wait for one."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            store.put_named("probe", b"x", overwrite=True)
            store.delete("probe")
            return
        except StorageError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.s3
@pytest.mark.slow
def test_publish_fails_fast_on_a_dead_store_and_the_rerun_sends_only_what_is_missing(
    s3_bucket, tmp_path, monkeypatch
):
    import eotdl.site.publish as publish

    monkeypatch.setattr(publish, "FLUSH_EVERY", 20, raising=False)
    lab = init_lab(tmp_path / "lab")
    _site(lab, 120)
    store = open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url)
    sent: list[str] = []
    real_put = store.put_named

    def put_and_crash(key, data, content_type=None, overwrite=False):
        if key.startswith("data/"):
            sent.append(key)
            if len(sent) == 70:
                s3_bucket.server.kill()  # the S3 server dies mid-publish (SIGKILL)
        return real_put(key, data, content_type=content_type, overwrite=overwrite)

    monkeypatch.setattr(store, "put_named", put_and_crash)
    with pytest.raises(StorageError) as failed:
        publish_site(lab, store, build=False, workers=4)
    assert "failed to upload" in failed.value.message
    # Fail fast, shown by behaviour rather than a clock: once the store is found dead, no new
    # upload starts; only those already in flight on the 4 workers tried (before the fix
    # every remaining file was tried, each with its retries: 104-200 s).
    assert len(sent) - 70 <= 2 * 4, f"{len(sent) - 70} uploads began after the store died"
    s3_bucket.server.start()
    monkeypatch.setattr(store, "put_named", real_put)
    _wait_writable(store)
    again = publish_site(lab, store, build=False, workers=4)
    assert again.uploaded <= 121 - 60  # the manifest recorded at least 60 files before the crash
    assert again.uploaded + again.skipped == 121
    assert publish_site(lab, store, build=False).uploaded == 0
    assert store.head(MANIFEST) is not None


@pytest.mark.s3
@pytest.mark.slow
def test_a_publisher_killed_midway_is_resumed_by_the_next_one(s3_bucket, tmp_path):
    """SIGKILL `eotdl publish` once its manifest records some files; the next run takes over
    the dead publisher's lease at once and sends only what is missing; a second publisher
    while one runs gets exit status 75."""
    import json

    lab = init_lab(tmp_path / "lab")
    _site(lab, 1500)
    env = dict(os.environ, AWS_ENDPOINT_URL=s3_bucket.endpoint_url)
    command = [*EOTDL, "publish", "--no-build", "--to", s3_bucket.url]
    process = subprocess.Popen(
        command, cwd=lab.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    client = s3_bucket.server.client()
    key = s3_bucket.url.split("/", 3)[3] + "/" + MANIFEST
    recorded = 0
    busy = None
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if busy is None and _exists(client, s3_bucket.bucket, key.replace(MANIFEST, LOCK)):
            busy = subprocess.run(command, cwd=lab.root, env=env, capture_output=True, text=True)
        try:
            body = client.get_object(Bucket=s3_bucket.bucket, Key=key)["Body"].read()
            recorded = len(json.loads(body)["files"])
        except Exception:
            recorded = 0
        if recorded >= 200:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the publish ended before it could be killed"
    process.kill()
    process.wait()
    assert busy is not None and busy.returncode == 75, busy.stderr
    assert "is busy (being written by pid" in busy.stderr
    store = open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url)
    again = publish_site(lab, store, build=False)
    assert again.skipped >= recorded >= 200
    assert again.uploaded + again.skipped == 1501
    assert publish_site(lab, store, build=False).uploaded == 0


def _exists(client, bucket: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except Exception:
        return False


def test_publish_gives_up_at_once_on_an_endpoint_that_is_not_there(tmp_path, monkeypatch):
    from s3server import free_port_pairs, use_test_credentials

    use_test_credentials(monkeypatch)
    lab = init_lab(tmp_path / "lab")
    _site(lab, 5)
    port = free_port_pairs(1)[0]
    store = open_store("s3://nobucket/site", endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(StorageError, match="cannot reach the S3 endpoint"):
        publish_site(lab, store, build=False)


# -- a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (needs root and mount; skipped with the reason otherwise)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_build_on_a_full_disk_says_so_and_keeps_the_previous_site(small_disk, tmp_path):
    from eotdl.builders.ingestion import ingest

    lab = init_lab(tmp_path / "lab")
    ingest(lab, "rasters", str(_rasters(tmp_path / "src", 0, 3)), "small", progress=False)
    out = small_disk / "site"
    first = subprocess.run(
        [*EOTDL, "build", "--no-qa", "-o", str(out)], cwd=lab.root, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    previous = _snapshot(out)
    big = _rasters(tmp_path / "big", 3, 300)
    ingest(lab, "rasters", str(big), "large", progress=False)
    ballast = small_disk / "ballast"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    ballast.write_bytes(b"\0" * max(0, free - 64 * 1024))
    run = subprocess.run(
        [*EOTDL, "build", "--no-qa", "-o", str(out)], cwd=lab.root, capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "no space left" in run.stderr.lower()
    assert _snapshot(out) == previous
    assert sorted(p.name for p in small_disk.iterdir()) == ["ballast", "site"]
