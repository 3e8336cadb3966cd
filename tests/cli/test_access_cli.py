"""`eotdl get` and `eotdl serve` as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from eotdl.catalog.lab import Lab


def _eotdl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eotdl.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def test_get_json_and_errors(chips: Lab, tmp_path: Path):
    result = _eotdl("get", "chips", "--lab", str(chips.site_dir), "-o", str(tmp_path / "o"),
                    "--split", "train", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["items"] == 6 and report["downloaded"] == 6 and report["failed"] == []

    result = _eotdl("get", "chips", "-o", str(tmp_path / "d"), cwd=chips.root)  # the lab here
    assert result.returncode == 0 and "12 items" in result.stdout
    assert (tmp_path / "d" / "items.ndjson").is_file()

    result = _eotdl("get", "nope", "--lab", str(chips.site_dir))
    assert result.returncode == 1 and result.stderr.startswith("error: no dataset 'nope'")
    assert "Traceback" not in result.stderr and "chips" in result.stderr
    result = _eotdl("get", "chips", "--lab", str(chips.site_dir), "--bbox", "1,2,3")
    assert result.returncode == 1 and "bbox '1,2,3' needs 4 numbers" in result.stderr


def test_serve_answers_pystac_client(chips: Lab):
    import pystac_client

    process = subprocess.Popen(
        [sys.executable, "-m", "eotdl.cli.main", "serve", "--site", str(chips.site_dir),
         "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        assert "1 collection(s), 12 items" in line
        client = pystac_client.Client.open(url)
        found = sorted(i.id for i in client.search(collections=["chips"], max_items=None).items())
        assert len(found) == 12
        with urllib.request.urlopen(url + "/catalog.json") as response:
            assert json.loads(response.read())["type"] == "Catalog"
    finally:
        process.terminate()
        process.wait(timeout=10)
