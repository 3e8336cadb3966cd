"""A stage beside the target: written, linked, carried, then swapped in; or thrown away."""

from __future__ import annotations

from pathlib import Path

import pytest

from eotdl.catalog.staging import Stage
from eotdl.errors import LabError


def _site(root: Path) -> Path:
    (root / "site/keep").mkdir(parents=True)
    (root / "site/keep/a.txt").write_text("a")
    (root / "site/old.txt").write_text("old")
    (root / "site/linked.txt").write_text("same")
    return root / "site"


def test_commit_writes_links_and_carries(tmp_path: Path) -> None:
    target = _site(tmp_path)
    inode = (target / "linked.txt").stat().st_ino
    kept = (target / "keep/a.txt").stat().st_ino
    with Stage(target) as stage:
        stage.write_bytes("new/b.txt", b"b")
        assert stage.link_previous("linked.txt")
        assert not stage.link_previous("missing.txt")
        stage.carry("keep")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "keep/a.txt",
        "linked.txt",
        "new/b.txt",
    ]
    assert (target / "linked.txt").stat().st_ino == inode
    assert (target / "keep/a.txt").stat().st_ino == kept
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_abort_keeps_the_target(tmp_path: Path) -> None:
    target = _site(tmp_path)
    with pytest.raises(RuntimeError), Stage(target) as stage:
        stage.write_bytes("x.txt", b"x")
        stage.carry("keep")
        raise RuntimeError("boom")
    assert (target / "old.txt").read_text() == "old" and (target / "keep/a.txt").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_second_build_is_refused_while_one_runs(tmp_path: Path) -> None:
    target = _site(tmp_path)
    first = Stage(target)
    try:
        with pytest.raises(LabError, match="another build"):
            Stage(target)
    finally:
        first.abort()
    Stage(target).abort()  # the lock is released


def test_stale_stages_are_removed(tmp_path: Path) -> None:
    target = _site(tmp_path)
    (tmp_path / ".site.abc123").mkdir()
    (tmp_path / ".site.old-999").mkdir()
    Stage(target).commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_carrying_what_is_not_there_is_an_error(tmp_path: Path) -> None:
    stage = Stage(tmp_path / "fresh")
    try:
        with pytest.raises(LabError, match="cannot carry"):
            stage.carry("datasets/x")
    finally:
        stage.abort()


def test_a_patch_keeping_unlisted_files_removes_only_those_dropped(tmp_path):
    target = tmp_path / "site"
    (target / "items").mkdir(parents=True)
    for name in ("a.json", "b.json", "c.json"):
        (target / "items" / name).write_text(name)
    stage = Stage(target)
    assert stage.patch("items", keep_unlisted=True)
    assert stage.link_previous("items/a.json") and not stage.link_previous("items/zz.json")
    stage.write_bytes("items/b.json", b"new b")
    stage.write_bytes("items/d.json", b"new d")
    stage.drop("items/c.json")
    stage.drop("items/d.json")  # written, then dropped: not there either
    assert not stage.link_previous("items/c.json")
    stage.commit()
    found = {p.name: p.read_text() for p in (target / "items").iterdir()}
    assert found == {"a.json": "a.json", "b.json": "new b"}


def test_keeping_a_previous_file_of_a_patch_takes_the_last_build_at_its_word(tmp_path):
    target = tmp_path / "site"
    (target / "items").mkdir(parents=True)
    (target / "items" / "a.html").write_text("a")
    (target / "other.txt").write_text("o")
    stage = Stage(target)
    assert stage.patch("items", keep_unlisted=True)
    assert stage.keep_previous("items/a.html")
    stage.write_bytes("items/b.html", b"b")
    stage.drop("items/c.html")
    assert not stage.keep_previous("items/b.html")  # written by this build
    assert not stage.keep_previous("items/c.html")  # dropped by it
    # outside a patched folder it is link_previous: a file that is not there is not kept
    assert stage.keep_previous("other.txt") and not stage.keep_previous("gone.txt")
    stage.commit()
    assert {p.name for p in (target / "items").iterdir()} == {"a.html", "b.html"}
