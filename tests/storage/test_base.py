"""The store contract: every test here runs on the folder backend and on SeaweedFS."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from storecases import MULTIPART_SIZE, OPTIONS, plant_corruption

from eotdl.errors import InputError, StorageError
from eotdl.storage import (
    ObjectMissingError,
    ObjectStore,
    StoredObject,
    TransferError,
    keys,
    open_store,
)
from eotdl.storage.source import UploadSource

MakeFile = Callable[..., Path]


@pytest.fixture
def file_store(tmp_path: Path) -> ObjectStore:
    return open_store((tmp_path / "store").as_uri(), options=OPTIONS)


@pytest.fixture
def s3_store(s3_bucket) -> ObjectStore:  # type: ignore[no-untyped-def]
    return open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url, options=OPTIONS)


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """Each test using this runs once per backend."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a file of random bytes under tmp_path/src and return its path."""
    counter = iter(range(10**6))

    def make(name: str | None = None, size: int = 1000, data: bytes | None = None) -> Path:
        path = tmp_path / "src" / (name or f"file{next(counter)}.bin")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if data is not None else os.urandom(size))
        return path

    return make


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(root: Path) -> list[Path]:
    """Temporary files left anywhere under root."""
    return [p for p in root.rglob("*") if p.name.endswith((".part", ".eotdl-tmp"))]


def test_put_file_is_content_addressed_and_idempotent(store: ObjectStore, make_file: MakeFile):
    path = make_file("Chip.TIF", data=b"pixels")
    first = store.put_file(path)
    digest = sha(b"pixels")
    assert first == StoredObject(
        key=f"objects/sha256/{digest[:2]}/{digest[2:]}.tif",
        href=store.href(first.key),
        checksum="1220" + digest,
        size=6,
        uploaded=True,
    )
    second = store.put_file(path)
    assert not second.uploaded
    assert second.key == first.key
    assert store.key_for_href(first.href) == first.key
    assert store.head(first.key).size == 6
    with store.open(first.key) as stream:
        assert stream.read() == b"pixels"


def test_put_files_dedups_skips_and_summarises(store: ObjectStore, make_file: MakeFile):
    small = [make_file(size=2000 + i) for i in range(20)]
    twin = make_file(data=small[0].read_bytes())
    big = make_file("big.bin", size=MULTIPART_SIZE + 123)
    paths = [*small, twin, big]
    summary = store.put_files(paths, progress=False)
    assert summary.sent == 21
    assert summary.skipped == 1  # the twin: same bytes, same key
    assert summary.bytes == sum(p.stat().st_size for p in [*small, big])
    assert not summary.failed
    assert summary.objects[str(twin)].key == summary.objects[str(small[0])].key
    big_obj = summary.objects[str(big)]
    assert big_obj.size == MULTIPART_SIZE + 123
    assert store.read_range(big_obj.key, MULTIPART_SIZE, 200) == big.read_bytes()[MULTIPART_SIZE:]
    again = store.put_files(paths, progress=False)
    assert (again.sent, again.skipped, again.bytes) == (0, 22, 0)
    assert {k: o.key for k, o in again.objects.items()} == {
        k: o.key for k, o in summary.objects.items()
    }


def test_missing_source_fails_before_anything_is_sent(store: ObjectStore, make_file: MakeFile):
    good = make_file()
    with pytest.raises(InputError, match="cannot upload 2 path"):
        store.put_files([good, good.parent / "nope.bin", good.parent], progress=False)
    assert list(store.list()) == []


def test_empty_file(store: ObjectStore, make_file: MakeFile, tmp_path: Path):
    obj = store.put_file(make_file("empty.txt", data=b""))
    assert obj.size == 0 and obj.checksum == "1220" + sha(b"")
    store.get_file(obj.key, tmp_path / "out" / "empty.txt")
    assert (tmp_path / "out" / "empty.txt").read_bytes() == b""


def test_get_files_verifies_and_skips_what_is_there(
    store: ObjectStore, make_file: MakeFile, tmp_path: Path
):
    paths = [make_file(size=5000 + i) for i in range(10)] + [make_file(size=MULTIPART_SIZE + 7)]
    up = store.put_files(paths, progress=False)
    dest = tmp_path / "dl"
    requests = [(o.key, dest / Path(p).name, o.checksum, o.size) for p, o in up.objects.items()]
    down = store.get_files(requests, progress=False)
    assert down.sent == 11 and down.skipped == 0
    for p in paths:
        assert (dest / p.name).read_bytes() == p.read_bytes()
    (dest / paths[0].name).write_bytes(b"damaged")
    again = store.get_files(requests, progress=False)
    assert (again.sent, again.skipped) == (1, 10)
    assert (dest / paths[0].name).read_bytes() == paths[0].read_bytes()
    assert leftovers(dest) == []


def test_content_key_alone_is_enough_to_verify(
    store: ObjectStore, make_file: MakeFile, tmp_path: Path
):
    obj = store.put_file(make_file(data=b"abc"))
    got = store.get_file(obj.key, tmp_path / "a.bin")
    assert got.checksum == obj.checksum and got.size == 3


def test_wrong_checksum_is_refetched_once_then_reported(
    store: ObjectStore, make_file: MakeFile, tmp_path: Path
):
    obj = store.put_file(make_file(data=b"abc"))
    dest = tmp_path / "dl" / "a.bin"
    with pytest.raises(StorageError, match="corrupt.*fetched twice"):
        store.get_file(obj.key, dest, checksum="1220" + sha(b"abd"))
    assert not dest.exists()
    assert leftovers(tmp_path / "dl") == []


def test_a_corrupt_first_read_is_refetched(
    store: ObjectStore, make_file: MakeFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    obj = store.put_file(make_file(data=b"good bytes"))
    original = store._read
    calls = []

    def flaky_read(key: str, sink, start: int = 0) -> None:  # type: ignore[no-untyped-def]
        calls.append(start)
        if len(calls) == 1:
            sink(memoryview(b"bad bytes!"))
            return
        original(key, sink, start)

    monkeypatch.setattr(store, "_read", flaky_read)
    store.get_file(obj.key, tmp_path / "x.bin")
    assert (tmp_path / "x.bin").read_bytes() == b"good bytes"
    assert len(calls) == 2


def test_missing_object(store: ObjectStore, tmp_path: Path):
    key = keys.content_key(sha(b"nothing"), "x.bin")
    assert store.head(key) is None
    with pytest.raises(TransferError) as caught:
        store.get_files([(key, tmp_path / "x.bin", None, None)], progress=False)
    assert "no object" in str(caught.value)
    assert caught.value.summary.failed[0].name == str(tmp_path / "x.bin")
    with pytest.raises(ObjectMissingError):
        store.open(key)


def test_file_store_lists_in_key_order(file_store: ObjectStore):
    for key in ["b/2.txt", "a/1.txt", "a.txt", "a/sub/3.txt", "c"]:
        file_store.put_named(key, key.encode())
    assert [o.key for o in file_store.list()] == ["a.txt", "a/1.txt", "a/sub/3.txt", "b/2.txt", "c"]


def test_list_head_delete(store: ObjectStore):
    for key in ["b/2.txt", "a/1.txt", "a.txt", "a/sub/3.txt", "c"]:
        store.put_named(key, key.encode())
    listed = [o.key for o in store.list()]
    assert sorted(listed) == ["a.txt", "a/1.txt", "a/sub/3.txt", "b/2.txt", "c"]
    assert sorted(o.key for o in store.list("a/")) == ["a/1.txt", "a/sub/3.txt"]
    assert sorted(o.key for o in store.list("a")) == ["a.txt", "a/1.txt", "a/sub/3.txt"]
    assert [o.key for o in store.list("a/s")] == ["a/sub/3.txt"]
    assert list(store.list("zzz/")) == []
    info = store.head("a/1.txt")
    assert info is not None and info.size == 7 and info.modified is not None
    store.delete("a/1.txt")
    store.delete("a/1.txt")  # already gone: fine
    assert store.head("a/1.txt") is None
    assert store.delete_many(["b/2.txt", "c"]) == 2
    assert sorted(o.key for o in store.list()) == ["a.txt", "a/sub/3.txt"]


def test_put_named_never_overwrites_unless_asked(store: ObjectStore, tmp_path: Path):
    first = store.put_named("site/index.html", b"<p>one</p>", content_type="text/html")
    assert first.uploaded and first.checksum == "1220" + sha(b"<p>one</p>")
    with pytest.raises(StorageError, match="already exists"):
        store.put_named("site/index.html", b"<p>two</p>")
    assert store.read_range("site/index.html", 0, 100) == b"<p>one</p>"
    source = tmp_path / "ckpt.pt"
    source.write_bytes(b"weights" * 1000)
    store.put_named("site/index.html", source, overwrite=True)
    with store.open("site/index.html") as stream:
        assert stream.read() == b"weights" * 1000
    with pytest.raises(InputError):
        store.put_named("../escape", b"x")


def test_read_range(store: ObjectStore):
    store.put_named("r.bin", bytes(range(256)))
    assert store.read_range("r.bin", 10, 5) == bytes(range(10, 15))
    assert store.read_range("r.bin", 250, 100) == bytes(range(250, 256))
    assert store.read_range("r.bin", 0, 0) == b""


def test_href_round_trip(store: ObjectStore):
    key = "objects/sha256/ab/" + "c" * 62 + ".tif"
    assert store.key_for_href(store.href(key)) == key
    assert store.key_for_href("https://elsewhere.example/x.tif") is None


def _append_once(path: Path) -> Callable[[], None]:
    def change() -> None:
        with open(path, "ab") as handle:
            handle.write(b"more")

    return change


@pytest.mark.parametrize("size", [3000, MULTIPART_SIZE + 1])
def test_file_changed_before_it_is_sent_is_refused(
    store: ObjectStore, make_file: MakeFile, monkeypatch: pytest.MonkeyPatch, size: int
):
    path = make_file(size=size)
    original = store._write

    def write_after_change(key: str, source: UploadSource, **kwargs):  # type: ignore[no-untyped-def]
        _append_once(path)()
        return original(key, source, **kwargs)

    monkeypatch.setattr(store, "_write", write_after_change)
    with pytest.raises(StorageError, match="changed while it was being uploaded"):
        store.put_file(path)
    assert list(store.list()) == []


@pytest.mark.parametrize("size", [3000, MULTIPART_SIZE + 1])
def test_file_changed_while_it_is_read_is_refused(
    store: ObjectStore, make_file: MakeFile, monkeypatch: pytest.MonkeyPatch, size: int
):
    path = make_file(size=size)
    original_parts = UploadSource.parts
    original_read_all = UploadSource.read_all

    def parts(self: UploadSource, part_size: int, buffers=None) -> Iterator[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
        for number, block in original_parts(self, part_size, buffers):
            yield number, block
            if number == 1:
                _append_once(path)()

    def read_all(self: UploadSource, rehash: bool = True) -> bytes:
        _append_once(path)()
        return original_read_all(self, rehash)

    monkeypatch.setattr(UploadSource, "parts", parts)
    monkeypatch.setattr(UploadSource, "read_all", read_all)
    with pytest.raises(TransferError, match="changed while it was being uploaded"):
        store.put_files([path], progress=False)
    assert list(store.list()) == []


def test_verify_objects_finds_missing_and_corrupt(store: ObjectStore, make_file: MakeFile):
    good = store.put_file(make_file(data=b"good"))
    bad = store.put_file(make_file(data=b"will be damaged"))
    plant_corruption(store, bad.key, b"WILL BE DAMAGED")
    gone = keys.content_key(sha(b"never uploaded"), "x.bin")
    checks = {
        c.key: c
        for c in store.verify_objects(
            [(good.key, good.checksum, good.size), (bad.key, None, None), (gone, None, None)],
            progress=False,
        )
    }
    assert checks[good.key].status == "ok"
    assert checks[bad.key].status == "corrupt"
    assert "SHA-256" in checks[bad.key].message
    assert checks[gone].status == "missing"
    wrong_size = store.verify_objects([(good.key, None, 5)], progress=False)[0]
    assert wrong_size.status == "corrupt" and "4 bytes instead of 5" in wrong_size.message


def test_put_file_single_object_errors_are_plain_storage_errors(store: ObjectStore, tmp_path):
    with pytest.raises(InputError, match="no such file|No such file"):
        store.put_file(tmp_path / "missing.bin")


def test_bytes_that_differ_from_their_hash_are_never_stored(
    store: ObjectStore, make_file: MakeFile
):
    """Even when the file's stat does not show it (a same-size rewrite within one clock tick,
    a stale hash cache), what is sent is checked against the hash: by the server for S3,
    by the copy for folders."""
    path = make_file(data=b"the old bytes")
    old = sha(b"the old bytes")
    path.write_bytes(b"the new bytes")
    if hasattr(store, "_server_checks"):
        store._server_checks = True  # type: ignore[attr-defined]  # as after a first upload
    stale = UploadSource(str(path), old, 13, path, stat=os.stat(path))
    with pytest.raises(StorageError, match="changed while it was being uploaded"):
        store._write(keys.content_key(old, "x.bin"), stale, overwrite=False, content_type=None)
    assert list(store.list()) == []


def test_usage_counts_per_folder(store: ObjectStore):
    store.put_named("site/a.html", b"12345")
    store.put_named("site/css/b.css", b"123")
    store.put_named("top.txt", b"1")
    usage = store.usage()
    assert (usage.objects, usage.bytes) == (3, 9)
    assert usage.folders == {"": (1, 1), "site/": (2, 8)}
    assert store.usage("site/").folders == {"site/": (1, 5), "site/css/": (1, 3)}
    assert usage.to_dict()["folders"]["site/"] == {"objects": 2, "bytes": 8}


def test_summary_reads_well(store: ObjectStore, make_file: MakeFile):
    summary = store.put_files([make_file(size=10), make_file(size=20)], progress=False)
    assert summary.describe().startswith("2 uploaded, 0 already there, 0 failed; 0.0 MB in")
    data = summary.to_dict()
    assert data["sent"] == 2 and data["bytes"] == 30 and data["failed"] == []


def test_keys_with_odd_characters_list_as_written(store: ObjectStore):
    key = "site/a b+c/é & ü%20.html"
    store.put_named(key, b"x")
    assert [o.key for o in store.list("site/")] == [key]
    assert store.head(key) is not None
    assert store.key_for_href(store.href(key)) == key
