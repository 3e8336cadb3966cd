"""Smoke tests of `eotdl storage …`: the real assertions live in tests/catalog/test_assets.py
and tests/storage/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from eotdl.catalog.lab import Lab
from eotdl.catalog.store import asset_href, open_lab_store
from eotdl.cli.main import cli
from labs import make_lab
from stacgen import collection, item


def eotdl(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    """Run the real entry point in a subprocess (errors become messages and exit codes)."""
    return subprocess.run(
        [sys.executable, "-m", "eotdl.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def stored_lab(root: Path, store_url: str = "store", endpoint_url: str = "") -> Lab:
    """A lab in ``root`` whose store holds the bytes of its one item and a spare object."""
    store = {"endpoint_url": endpoint_url} if endpoint_url else None
    lab = make_lab(root.parent, name=root.name, store_url=store_url, store=store)
    source = root.parent / "chip.tif"
    source.write_bytes(b"pixels")
    obj = open_lab_store(lab).put_file(source)
    spare = root.parent / "spare.bin"
    spare.write_bytes(b"unused")
    open_lab_store(lab).put_file(spare)
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    it = item("a")
    it["assets"]["image"] = {
        "href": asset_href(lab, folder.path, obj),
        "file:checksum": obj.checksum,
        "file:size": obj.size,
    }
    folder.write_items([it])
    return lab


def test_ls_du_verify_gc(tmp_path: Path) -> None:
    lab = stored_lab(tmp_path / "lab")
    runner = CliRunner()
    result = runner.invoke(cli, ["storage", "ls", "--lab", str(lab.root), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert len(listed) == 2 and all(o["key"].startswith("objects/sha256/") for o in listed)

    result = runner.invoke(cli, ["storage", "ls", "objects/", "--lab", str(lab.root)])
    assert result.exit_code == 0 and result.output.count("objects/sha256/") == 2

    result = runner.invoke(cli, ["storage", "du", "--lab", str(lab.root), "--json"])
    assert json.loads(result.output)["objects"] == 2
    result = runner.invoke(cli, ["storage", "du", "--lab", str(lab.root)])
    assert result.exit_code == 0 and "total" in result.output

    result = runner.invoke(cli, ["storage", "verify", "--lab", str(lab.root)])
    assert result.exit_code == 0, result.output
    assert "1 ok, 0 missing, 0 corrupt" in result.output and "1 unreferenced" in result.output

    result = runner.invoke(cli, ["storage", "gc", "--lab", str(lab.root), "--grace", "0"])
    assert result.exit_code == 0, result.output
    assert "1 to remove" in result.output and "dry run" in result.output
    result = runner.invoke(cli, ["storage", "gc", "--lab", str(lab.root), "--json"])
    assert json.loads(result.output)["candidates"] == []  # 7 days of grace by default
    result = runner.invoke(
        cli, ["storage", "gc", "--lab", str(lab.root), "--grace", "0", "--yes", "--json"]
    )
    report = json.loads(result.output)
    assert report["deleted"] == 1 and report["dry_run"] is False
    assert len(list(open_lab_store(lab).list())) == 1


def test_verify_exits_non_zero_on_damage(tmp_path: Path) -> None:
    lab = stored_lab(tmp_path / "lab")
    key = next(iter(lab.dataset("ds").iter_items()))["assets"]["image"]["href"]
    damaged = (lab.dataset("ds").path / key).resolve()
    damaged.write_bytes(b"PIXELS")
    result = eotdl("storage", "verify", "--json", cwd=lab.root)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["corrupt"][0]["status"] == "corrupt" and not report["passed"]
    result = eotdl("storage", "verify", cwd=lab.root)
    assert result.returncode == 1 and "verify failed" in result.stdout


def test_clear_errors(tmp_path: Path) -> None:
    result = eotdl("storage", "ls", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("error: no lab here")
    lab = stored_lab(tmp_path / "lab")
    result = eotdl("storage", "gc", "--grace", "soon", cwd=lab.root)
    assert result.returncode == 1 and "not a duration" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.s3
def test_wrong_credentials_on_an_s3_lab(tmp_path: Path, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    lab = stored_lab(tmp_path / "lab", s3_bucket.url, s3_bucket.endpoint_url)
    result = eotdl("storage", "du", "--json", cwd=lab.root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["objects"] == 2
    env = dict(os.environ, AWS_SECRET_ACCESS_KEY="wrong")
    result = eotdl("storage", "verify", cwd=lab.root, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "rejected the credentials" in result.stderr
    assert "Traceback" not in result.stderr
