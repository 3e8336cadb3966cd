"""One cache folder policy for every cache (hashes, schemas, templates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eotdl.storage.cachedir import cache_dir


def test_cache_dir_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eotdl.catalog.schemas import SchemaSource, schema_cache_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EOTDL_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_dir() == tmp_path / "home" / ".cache" / "eotdl"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "eotdl"
    monkeypatch.setenv("EOTDL_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    # the schema cache follows the same policy
    assert schema_cache_dir() == tmp_path / "mine" / "schemas"
    assert SchemaSource.from_environment().cache == tmp_path / "mine" / "schemas"
