"""`eotdl get` killed mid-transfer (SIGKILL, against a slow loopback server) and resumed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from eotdl.storage.hashing import multihash_sha256, sha256_file
from labs import Dataset, make_lab


def _eotdl_get(url: str, out: Path) -> subprocess.Popen[bytes]:
    args = ["get", "chips", "--lab", url, "-o", str(out), "--workers", "2", "--no-progress"]
    return subprocess.Popen(
        [sys.executable, "-m", "eotdl.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def test_killed_get_resumes_where_it_stopped(slow_server, tmp_path: Path):
    chips = Dataset("chips", "classification_folders", per_class=2, size=192)
    lab = make_lab(tmp_path, [chips], build=True)  # six chips of ~220 kB
    shutil.copytree(lab.root, slow_server.root / "lab", symlinks=True)
    url = f"{slow_server.url}/lab/_site"
    total = sum(p.stat().st_size for p in (lab.root / "store").rglob("*.tif"))
    out = tmp_path / "out"

    slow_server.delay = 0.004  # ~1 MB/s per connection
    process = _eotdl_get(url, out)
    deadline = time.monotonic() + 30
    while slow_server.bytes_sent < total // 2 and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    process.kill()  # SIGKILL: no cleanup of any kind
    process.wait()
    assert process.returncode == -9
    sent_before = slow_server.bytes_sent
    assert 0 < sent_before < total

    parts = sorted(out.rglob(".*.part"))
    done = sorted(p for p in out.rglob("*.tif"))
    assert parts, "the kill should leave a partial file"
    checksums = {
        (out / i["assets"]["image"]["href"]): i["assets"]["image"]["file:checksum"]
        for i in map(json.loads, (out / "items.ndjson").read_text().splitlines())
    }
    for path in done:  # whatever made it to its final name is complete and verified
        assert multihash_sha256(sha256_file(path)) == checksums[path]

    slow_server.delay = 0.0
    slow_server.bytes_sent = 0
    assert slow_server.ranges is not None
    slow_server.ranges.clear()
    process = _eotdl_get(url, out)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert "6 items" in stdout.decode()

    items = [json.loads(x) for x in (out / "items.ndjson").read_text().splitlines()]
    for item in items:
        asset = item["assets"]["image"]
        assert multihash_sha256(sha256_file(out / asset["href"])) == asset["file:checksum"]
    assert not list(out.rglob(".*.part"))
    resumed = [r for path, r in slow_server.ranges if r and path.endswith(".tif")]
    assert len(resumed) >= 1  # a partial file was continued with a Range request
    fetched = [path for path, _ in slow_server.ranges if path.endswith(".tif")]
    assert len(fetched) == 6 - len(done)  # completed files were not fetched again
    assert slow_server.bytes_sent < total - len(done) * 1000  # the part files' bytes were kept
