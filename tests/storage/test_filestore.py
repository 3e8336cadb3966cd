"""What only the folder backend does: atomic links, permissions, a full disk, file URLs."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from storecases import OPTIONS

from eotdl.errors import InputError, StorageError
from eotdl.storage import filestore, open_store
from eotdl.storage.filestore import FileStore, _link_new


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(open_store((tmp_path / "s").as_uri()), FileStore)
    monkeypatch.chdir(tmp_path)
    assert open_store("relative/store").root == tmp_path / "relative" / "store"  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="unsupported store URL"):
        open_store("ftp://host/x")
    with pytest.raises(InputError, match="must be local"):
        open_store("file://otherhost/x")
    with pytest.raises(InputError, match="names no bucket"):
        open_store("s3:///prefix")


def test_objects_are_readable_files_and_never_replaced(tmp_path: Path) -> None:
    store = open_store((tmp_path / "store").as_uri(), options=OPTIONS)
    source = tmp_path / "a.tif"
    source.write_bytes(b"one")
    obj = store.put_file(source)
    target = tmp_path / "store" / obj.key
    assert stat.S_IMODE(target.stat().st_mode) & 0o044 == 0o044
    assert obj.href == target.as_uri()
    other = tmp_path / "tmp"
    other.write_bytes(b"two")
    assert _link_new(str(other), target) is False
    assert target.read_bytes() == b"one"


def test_a_full_disk_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = open_store((tmp_path / "store").as_uri(), options=OPTIONS)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    written = 0

    def full_disk(fd: int, data: bytes) -> None:
        nonlocal written
        if written > 1024 * 1024:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.write(fd, data)
        written += len(data)

    real_write_all = filestore._write_all
    monkeypatch.setattr(filestore, "_write_all", full_disk)
    with pytest.raises(StorageError, match="no space left on device") as caught:
        store.put_file(source)
    assert "nothing was stored" in str(caught.value)
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
    monkeypatch.setattr(filestore, "_write_all", real_write_all)
    assert store.put_file(source).uploaded


def test_read_only_store_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    root = tmp_path / "store"
    root.mkdir()
    root.chmod(0o555)
    source = tmp_path / "a"
    source.write_bytes(b"x")
    with pytest.raises(StorageError, match="not writable"):
        open_store(root.as_uri()).put_file(source)


def test_store_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("oops")
    source = tmp_path / "a"
    source.write_bytes(b"x")
    with pytest.raises(StorageError, match="is not a folder"):
        open_store((tmp_path / "store").as_uri()).put_file(source)


def test_key_for_href_forms(tmp_path: Path) -> None:
    store = open_store((tmp_path / "store").as_uri())
    root = tmp_path / "store"
    assert store.key_for_href((root / "a" / "b c.tif").as_uri()) == "a/b c.tif"
    assert store.key_for_href(str(root / "a.tif")) == "a.tif"
    assert store.key_for_href((tmp_path / "elsewhere.tif").as_uri()) is None
    assert store.key_for_href(str(root / ".." / "x")) is None
    assert store.key_for_href("relative/a.tif") is None
    public = open_store(root.as_uri(), public_url="https://data.example/lab/")
    assert public.href("a/b c.tif") == "https://data.example/lab/a/b%20c.tif"
    assert public.key_for_href("https://data.example/lab/a/b%20c.tif") == "a/b c.tif"


def test_listing_ignores_temporary_files(tmp_path: Path) -> None:
    store = open_store((tmp_path / "store").as_uri())
    store.put_named("a/x.txt", b"x")
    (tmp_path / "store" / "a" / ".x.txt.123.eotdl-tmp").write_bytes(b"partial")
    assert [o.key for o in store.list()] == ["a/x.txt"]
