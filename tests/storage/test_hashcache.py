import os
from pathlib import Path

import pytest

from eotdl.storage.hashcache import HashCache


def test_cache_hits_only_for_unchanged_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"one")
    cache = HashCache(tmp_path / "cache.sqlite")
    st = os.stat(path)
    assert cache.lookup(str(path), st) is None
    cache.remember(str(path), st, "a" * 64)
    cache.flush()
    again = HashCache(tmp_path / "cache.sqlite")
    assert again.lookup(str(path), os.stat(path)) == "a" * 64
    path.write_bytes(b"two")
    assert again.lookup(str(path), os.stat(path)) is None
    again.close()
    cache.close()


def test_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOTDL_HASH_CACHE", "0")
    path = tmp_path / "f"
    path.write_bytes(b"one")
    cache = HashCache(tmp_path / "cache.sqlite")
    cache.remember(str(path), os.stat(path), "a" * 64)
    cache.flush()
    assert cache.lookup(str(path), os.stat(path)) is None


def test_unusable_cache_location_is_ignored(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = HashCache(blocker / "cache.sqlite")
    path = tmp_path / "f"
    path.write_bytes(b"x")
    cache.remember(str(path), os.stat(path), "a" * 64)
    cache.close()
    assert cache.lookup(str(path), os.stat(path)) is None
