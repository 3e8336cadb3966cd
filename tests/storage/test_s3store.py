"""What only the S3 backend does, against a real SeaweedFS: conditional writes, multipart
resume, credentials, missing buckets, unreachable endpoints, and a server killed mid-upload."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from storecases import MULTIPART_SIZE, OPTIONS

from eotdl.errors import StorageError
from eotdl.storage import TransferError, TransferOptions, keys, open_store
from eotdl.storage.s3store import S3Store
from s3server import S3Bucket

pytestmark = pytest.mark.s3


def s3_store(bucket: S3Bucket, **kwargs: Any) -> S3Store:
    endpoint = None if os.environ.get("AWS_ENDPOINT_URL") else bucket.endpoint_url
    store = open_store(bucket.url, endpoint_url=endpoint, **kwargs)
    assert isinstance(store, S3Store)
    return store


class RequestLog:
    """Counts the S3 writes a client makes that the server acknowledged."""

    def __init__(self, store: S3Store) -> None:
        self.done: Counter[tuple[str, int]] = Counter()
        self.lock = threading.Lock()
        self.after_success: list[Any] = []
        events = store.client.meta.events
        for op in ("PutObject", "UploadPart"):
            events.register(f"before-parameter-build.s3.{op}", self._remember)
            events.register(f"after-call.s3.{op}", self._count)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["eotdl_test"] = (params["Key"], int(params.get("PartNumber", 0)))

    def _count(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code != 200:
            return
        with self.lock:
            self.done[context["eotdl_test"]] += 1
            total = sum(self.done.values())
        for hook in self.after_success:
            hook(total)


def test_wrong_credentials_are_refused_clearly(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    with pytest.raises(StorageError, match="rejected the credentials") as caught:
        s3_store(s3_bucket).put_file(source)
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    with pytest.raises(StorageError, match="rejected the credentials.*InvalidAccessKeyId"):
        list(s3_store(s3_bucket).list())


def test_missing_bucket(s3_bucket: S3Bucket, tmp_path: Path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    missing = S3Bucket(s3_bucket.server, "no-such-bucket", "s3://no-such-bucket/lab")
    with pytest.raises(StorageError, match="bucket 'no-such-bucket' does not exist"):
        s3_store(missing).put_file(source)
    with pytest.raises(StorageError, match="does not exist"):
        list(s3_store(missing).list())


def test_unreachable_endpoint_fails_fast(s3_bucket: S3Bucket, tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    store = open_store("s3://bucket/lab", endpoint_url=f"http://127.0.0.1:{port}")
    # how fast it fails is measured in bench/bench_fail_fast.py, not asserted here
    with pytest.raises(StorageError, match="cannot reach the S3 endpoint") as caught:
        store.put_file(source)
    assert "endpoint_url" in str(caught.value)
    with pytest.raises(StorageError, match="cannot reach"):
        store.head("x")


def test_no_credentials_at_all(s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    with pytest.raises(StorageError, match="access denied|rejected"):
        s3_store(s3_bucket).put_file(source)


def test_published_objects_are_never_overwritten(s3_bucket: S3Bucket, tmp_path: Path):
    store = s3_store(s3_bucket, options=OPTIONS)
    source = tmp_path / "a.bin"
    source.write_bytes(b"original")
    key = keys.content_key(hashlib.sha256(b"original").hexdigest(), "a.bin")
    store.client.put_object(Bucket=store.bucket, Key=store._full(key), Body=b"ORIGINAL")
    # The listing says it is there with the right size: nothing is sent, nothing replaced.
    assert not store.put_file(source).uploaded
    # Even a write that skips the listing is refused by the server (If-None-Match: *).
    from eotdl.storage.source import UploadSource

    written = store._write(
        key,
        UploadSource("a.bin", hashlib.sha256(b"original").hexdigest(), 8, source),
        overwrite=False,
        content_type=None,
    )
    assert written is False
    body = store.client.get_object(Bucket=store.bucket, Key=store._full(key))["Body"].read()
    assert body == b"ORIGINAL"
    # verify (not upload) is what finds such damage
    assert store.verify_objects([(key, None, None)], progress=False)[0].status == "corrupt"


def test_server_rejects_bytes_that_differ_from_the_checksum(s3_bucket: S3Bucket):
    """What makes a changed or damaged upload impossible to publish: the server checks."""
    from botocore.exceptions import ClientError

    store = s3_store(s3_bucket)
    checksum_of_abc = base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    with pytest.raises(ClientError, match="BadDigest"):
        store.client.put_object(
            Bucket=store.bucket, Key=store._full("x"), Body=b"abd", ChecksumSHA256=checksum_of_abc
        )
    assert store.head("x") is None


def test_public_url_and_href_forms(s3_bucket: S3Bucket):
    store = s3_store(s3_bucket)
    key = "objects/sha256/ab/" + "c" * 62 + ".tif"
    assert store.href(key) == f"{s3_bucket.url}/{key}"
    assert store.key_for_href(f"{s3_bucket.endpoint_url}/{s3_bucket.bucket}/lab/{key}") == key
    assert store.key_for_href(f"s3://{s3_bucket.bucket}/other/{key}") is None
    public = s3_store(s3_bucket, public_url="https://cdn.example/lab")
    assert public.href("a b.txt") == "https://cdn.example/lab/a%20b.txt"
    assert public.key_for_href("https://cdn.example/lab/a%20b.txt") == "a b.txt"
    assert public.key_for_href(f"{s3_bucket.url}/{key}") == key


def test_content_type_is_set(s3_bucket: S3Bucket):
    store = s3_store(s3_bucket)
    store.put_named("site/index.html", b"<p>")
    store.put_named("site/data.bin", b"x", content_type="application/x-custom")
    head = store.client.head_object(Bucket=store.bucket, Key=store._full("site/index.html"))
    assert head["ContentType"] == "text/html"
    head = store.client.head_object(Bucket=store.bucket, Key=store._full("site/data.bin"))
    assert head["ContentType"] == "application/x-custom"


def test_an_interrupted_multipart_upload_resumes_from_its_parts(
    s3_bucket: S3Bucket, tmp_path: Path
):
    store = s3_store(s3_bucket, options=OPTIONS)
    source = tmp_path / "big.bin"
    data = os.urandom(MULTIPART_SIZE + 1000)  # three parts of 5 MiB
    source.write_bytes(data)
    key = keys.content_key(hashlib.sha256(data).hexdigest(), "big.bin")
    full = store._full(key)
    upload = store.client.create_multipart_upload(
        Bucket=store.bucket, Key=full, ChecksumAlgorithm="SHA256"
    )
    part = OPTIONS.part_size
    store.client.upload_part(
        Bucket=store.bucket, Key=full, UploadId=upload["UploadId"], PartNumber=1, Body=data[:part]
    )
    log = RequestLog(store)
    obj = store.put_file(source)
    assert obj.uploaded and obj.key == key
    assert sorted(log.done) == [(full, 2), (full, 3)]  # part 1 was already there
    body = store.client.get_object(Bucket=store.bucket, Key=full)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert not store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")


def test_a_download_cut_midway_resumes_where_it_stopped(
    s3_bucket: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = s3_store(s3_bucket, options=OPTIONS)
    source = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 5)
    source.write_bytes(data)
    obj = store.put_file(source)
    original = store._read
    starts: list[int] = []

    def cut_once(key: str, sink: Any, start: int = 0) -> None:
        starts.append(start)
        received = 0

        def cutting_sink(block: memoryview) -> None:
            nonlocal received
            if len(starts) == 1 and received > 1024 * 1024:
                raise ConnectionResetError("connection reset by peer")
            sink(block)
            received += len(block)

        original(key, cutting_sink, start)

    monkeypatch.setattr(store, "_read", cut_once)
    store.get_file(obj.key, tmp_path / "out.bin", obj.checksum, obj.size)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert len(starts) == 2 and starts[1] > 1024 * 1024


def test_server_killed_mid_upload_then_rerun(s3_bucket: S3Bucket, tmp_path: Path):
    """SIGKILL the server in the middle of a multi-file, multipart upload; restart; rerun.

    The rerun completes; no object ever holds wrong bytes; nothing acknowledged is sent twice.
    """
    server = s3_bucket.server
    options = TransferOptions(workers=4, part_size=5 * 1024 * 1024, attempts=2, backoff=0.05)
    files = []
    for i in range(2):  # first, so that their parts are in flight when the server dies
        path = tmp_path / "src" / f"big{i}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(MULTIPART_SIZE + i))
        files.append(path)
    for i in range(30):
        path = tmp_path / "src" / f"small{i}.bin"
        path.write_bytes(os.urandom(50_000 + i))
        files.append(path)
    expected = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    first = s3_store(s3_bucket, options=options)
    first_log = RequestLog(first)
    killed = threading.Event()

    def kill_after(total: int) -> None:
        parts = sum(1 for _, number in first_log.done if number)
        if parts >= 2 and total >= 8 and not killed.is_set():
            killed.set()
            server.kill()

    first_log.after_success.append(kill_after)
    try:
        with pytest.raises(TransferError) as caught:
            first.put_files(files, progress=False)
        assert killed.is_set()
        summary = caught.value.summary
        assert summary.failed and summary.sent < len(files)
        assert "lost the connection" in str(caught.value) or "cannot reach" in str(caught.value)
    finally:
        server.start()

    second = s3_store(s3_bucket, options=options)
    second_log = RequestLog(second)
    rerun = second.put_files(files, progress=False)
    assert not rerun.failed
    assert set(rerun.objects) == set(expected)
    twice = set(first_log.done) & set(second_log.done)
    assert twice == set(), f"sent twice: {sorted(twice)}"
    assert rerun.skipped >= 1
    resent_parts = [done for done in second_log.done if done[1]]
    assert len(resent_parts) < 6, "acknowledged parts of the big files are not sent again"

    # Every object in the bucket holds exactly the bytes its key names.
    listed = list(second.list())
    assert len(listed) == len(files)
    for info in listed:
        body = second.client.get_object(Bucket=second.bucket, Key=second._full(info.key))
        digest = hashlib.sha256(body["Body"].read()).hexdigest()
        assert keys.sha256_of_key(info.key) == digest
    for path, sha in expected.items():
        assert rerun.objects[path].checksum == "1220" + sha


def test_endpoint_from_the_environment(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_bucket.endpoint_url)
    store = s3_store(S3Bucket(s3_bucket.server, s3_bucket.bucket, s3_bucket.url + "2"))
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    assert store.put_file(source).uploaded
    assert store.endpoint_url == s3_bucket.endpoint_url


def test_unknown_profile_is_a_clear_error(s3_bucket: S3Bucket):
    with pytest.raises(StorageError, match="AWS profile 'nobody' not found"):
        open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url, profile="nobody")


def test_a_dead_server_stops_a_big_batch_quickly(s3_bucket: S3Bucket, tmp_path: Path):
    """Once the store is unreachable, the files not yet started fail at once (no retries
    for each of them), with one message."""
    store = s3_store(s3_bucket, options=TransferOptions(workers=2, attempts=2, backoff=0.05))
    files = []
    for i in range(300):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(os.urandom(100) + bytes([i % 256]))
        files.append(path)
    store.put_file(files[0])  # the store has been reached once: errors are now "transient"
    server = s3_bucket.server

    def kill_before_first_put(**_: Any) -> None:
        if server.process is not None:
            server.kill()

    store.client.meta.events.register("before-send.s3.PutObject", kill_before_first_put)
    try:
        with pytest.raises(TransferError) as caught:
            store.put_files(files, progress=False)
    finally:
        server.start()
    message = str(caught.value)
    assert message.startswith("299 of 300 files failed to upload"), message
    assert "lost the connection" in message or "cannot reach" in message
    assert message.count("\n") <= 1, message  # one grouped message (and its hint)
    assert "Connection refused" in message
