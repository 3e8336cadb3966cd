"""What a lab references in its store, now and in git history; verify and gc on top."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eotdl.catalog.assets import (
    iter_lab_assets,
    lab_references,
    plan_gc,
    run_gc,
    verify_lab,
)
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.store import asset_href, open_lab_store
from eotdl.errors import LabError
from eotdl.storage import StoredObject
from stacgen import collection, item

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def upload(lab: Lab, tmp_path: Path, data: bytes, name: str = "chip.tif") -> StoredObject:
    source = tmp_path / "src" / f"{abs(hash(data))}-{name}"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return open_lab_store(lab).put_file(source)


def write_dataset(
    lab: Lab, name: str, assets: dict[str, StoredObject], extra: dict[str, Any] | None = None
) -> None:
    """One item per asset, with the href the catalog layer would write."""
    folder = lab.dataset(name)
    folder.write_collection(collection(name))
    items = []
    for item_id, obj in sorted(assets.items()):
        it = item(item_id, name)
        it["assets"]["image"] = {
            "href": asset_href(lab, folder.path, obj),
            "file:checksum": obj.checksum,
            "file:size": obj.size,
        }
        items.append(it)
    for item_id, asset in (extra or {}).items():
        it = item(item_id, name)
        it["assets"]["image"] = asset
        items.append(it)
    folder.write_items(items)


def git(root: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    result = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return init_lab(tmp_path / "lab")


def test_assets_resolve_to_store_keys(lab: Lab, tmp_path: Path):
    a = upload(lab, tmp_path, b"a")
    write_dataset(lab, "ds", {"x": a}, extra={"y": {"href": "https://other.example/y.tif"}})
    refs = list(iter_lab_assets(lab))
    assert [(r.item_id, r.store_key, r.checksum, r.size) for r in refs] == [
        ("x", a.key, a.checksum, 1),
        ("y", None, None, None),
    ]
    assert refs[0].where == "datasets/ds/items.ndjson:1"
    assert not refs[0].href.startswith(("/", "file:"))  # relative: no local path in git


def test_verify_passes_on_an_intact_lab(lab: Lab, tmp_path: Path):
    write_dataset(lab, "ds", {"x": upload(lab, tmp_path, b"a"), "y": upload(lab, tmp_path, b"b")})
    report = verify_lab(lab, progress=False)
    assert report.passed
    assert (report.assets, report.checked, report.ok, report.external) == (2, 2, 2, 0)
    assert report.unreferenced == []


def test_verify_finds_missing_corrupt_and_unreferenced(lab: Lab, tmp_path: Path):
    a, b, c = (upload(lab, tmp_path, d) for d in (b"aaa", b"bbb", b"ccc"))
    spare = upload(lab, tmp_path, b"nobody uses me")
    write_dataset(lab, "ds", {"a": a, "b": b, "c": c})
    store = open_lab_store(lab)
    store.delete(a.key)
    damaged = Path(lab.root / "store" / b.key)
    damaged.write_bytes(b"BBB")  # same size, other bytes: only re-hashing finds it
    report = verify_lab(lab, progress=False)
    assert not report.passed
    assert [p.key for p in report.missing] == [a.key]
    assert [p.key for p in report.corrupt] == [b.key]
    assert "SHA-256" in report.corrupt[0].message
    assert report.corrupt[0].where == ["datasets/ds/items.ndjson:2 item=b asset=image"]
    assert [o.key for o in report.unreferenced] == [spare.key]
    data = report.to_dict()
    assert data["passed"] is False and data["missing"][0]["key"] == a.key


def test_verify_reports_conflicting_declarations(lab: Lab, tmp_path: Path):
    a = upload(lab, tmp_path, b"aaa")
    folder = lab.dataset("ds")
    href = asset_href(lab, folder.path, a)
    write_dataset(
        lab,
        "ds",
        {"a": a},
        extra={"b": {"href": href, "file:checksum": a.checksum, "file:size": 99}},
    )
    report = verify_lab(lab, progress=False)
    assert [p.status for p in report.problems] == ["conflict"]
    assert "different file:checksum/file:size" in report.problems[0].message


@needs_git
def test_gc_keeps_what_any_version_references(lab: Lab, tmp_path: Path):
    a, b, c = (upload(lab, tmp_path, d) for d in (b"aaa", b"bbb", b"ccc"))
    git(lab.root, "init", "-q")
    write_dataset(lab, "ds", {"a": a, "b": b})
    commit(lab.root, "v1")
    write_dataset(lab, "ds", {"a": a, "c": c})  # b is gone from the current version
    commit(lab.root, "v2")
    spare = upload(lab, tmp_path, b"never referenced")
    store = open_lab_store(lab)
    store.put_named("site/index.html", b"<p>")  # named objects are never collected

    recent = plan_gc(lab)
    assert recent.candidates == [] and recent.recent == 1
    plan = plan_gc(lab, now=LATER)
    assert [o.key for o in plan.candidates] == [spare.key]
    assert plan.git and plan.versions >= 3 and plan.referenced == 3
    run_gc(store, plan)
    assert plan.deleted == 1
    assert store.head(spare.key) is None
    assert store.head(b.key) is not None and store.head("site/index.html") is not None
    assert verify_lab(lab, progress=False).passed


@needs_git
def test_gc_sees_other_branches_the_index_and_a_lab_in_a_subfolder(tmp_path: Path):
    repo = tmp_path / "repo"
    lab = init_lab(repo / "labs" / "one")
    git(repo, "init", "-q")
    a, b, c = (upload(lab, tmp_path, d) for d in (b"aaa", b"bbb", b"ccc"))
    write_dataset(lab, "ds", {"a": a})
    commit(repo, "main")
    git(repo, "checkout", "-q", "-b", "feature")
    write_dataset(lab, "ds", {"a": a, "b": b})
    commit(repo, "feature adds b")
    git(repo, "checkout", "-q", "-")
    write_dataset(lab, "ds", {"a": a, "c": c})
    git(repo, "add", "-A")  # staged, not committed
    write_dataset(lab, "ds", {"a": a})  # and the working tree has moved on again
    refs = lab_references(lab)
    assert {a.key, b.key, c.key} <= refs.keys


def test_gc_without_git_uses_the_current_files_only(lab: Lab, tmp_path: Path):
    a, b = upload(lab, tmp_path, b"aaa"), upload(lab, tmp_path, b"bbb")
    write_dataset(lab, "ds", {"a": a})
    plan = plan_gc(lab, now=LATER)
    assert [o.key for o in plan.candidates] == [b.key]
    assert not plan.git and "not a git repository" in plan.notes[0]


@needs_git
def test_gc_refuses_a_shallow_clone(lab: Lab, tmp_path: Path):
    git(lab.root, "init", "-q")
    write_dataset(lab, "ds", {"a": upload(lab, tmp_path, b"a")})
    commit(lab.root, "v1")
    write_dataset(lab, "ds", {"b": upload(lab, tmp_path, b"b")})
    commit(lab.root, "v2")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", lab.root.as_uri(), str(clone)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(LabError, match="shallow"):
        plan_gc(Lab(clone))


@pytest.mark.s3
def test_verify_and_gc_on_an_s3_lab(tmp_path: Path, s3_bucket):  # type: ignore[no-untyped-def]
    lab = init_lab(tmp_path / "lab", store_url=s3_bucket.url)
    lab.config.store.endpoint_url = s3_bucket.endpoint_url
    a, b = upload(lab, tmp_path, b"aaa"), upload(lab, tmp_path, b"bbb")
    assert a.href.startswith(s3_bucket.url)
    write_dataset(lab, "ds", {"a": a})
    report = verify_lab(lab, progress=False)
    assert report.passed and [o.key for o in report.unreferenced] == [b.key]
    plan = plan_gc(lab, now=LATER)
    assert [o.key for o in plan.candidates] == [b.key]
    run_gc(open_lab_store(lab), plan)
    assert open_lab_store(lab).head(b.key) is None


def test_gc_lab_is_a_dry_run_unless_told_to_delete(lab: Lab, tmp_path: Path):
    from eotdl.catalog.assets import gc_lab

    a, spare = upload(lab, tmp_path, b"aaa"), upload(lab, tmp_path, b"spare")
    write_dataset(lab, "ds", {"a": a})
    store = open_lab_store(lab)
    dry = gc_lab(lab, grace=dt.timedelta(0))
    assert [o.key for o in dry.candidates] == [spare.key] and dry.deleted == 0
    assert store.head(spare.key) is not None
    done = gc_lab(lab, grace=dt.timedelta(0), delete=True)
    assert done.deleted == 1 and store.head(spare.key) is None
    assert store.head(a.key) is not None
