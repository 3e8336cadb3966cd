"""S3 multipart uploads: parts read into reused buffers and sent in parallel, each checked by
the server; the whole file checked against its SHA-256 before the upload is completed (with
``If-None-Match: *``); an interrupted upload resumed from the parts already stored."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

from eotdl.errors import StorageError
from eotdl.storage.s3client import S3ConnectionError, error_code
from eotdl.storage.source import SourceChangedError, UploadSource
from eotdl.storage.transfer import BufferPool

if TYPE_CHECKING:
    from eotdl.storage.s3store import S3Store


def put_parts(
    store: S3Store,
    full: str,
    source: UploadSource,
    overwrite: bool,
    extra: dict[str, Any],
    advance: Callable[[int], None] | None,
) -> bool:
    """Upload ``source`` to ``full`` in parts; False if the key existed (and not overwrite)."""
    upload_id, stored = _resumable_upload(store, full)
    if upload_id is None:
        created = store._call(
            "create_multipart_upload",
            Bucket=store.bucket,
            Key=full,
            ChecksumAlgorithm="SHA256",
            **extra,
        )
        upload_id = str(created["UploadId"])
    parts: dict[int, dict[str, Any]] = {}
    futures: list[Future[None]] = []
    lock = threading.Lock()
    failed = threading.Event()

    part_size = _part_size(source.size, store.options.part_size)
    pool = store._buffers if part_size == store._buffers.size else BufferPool(part_size, 2)

    def send(number: int, view: memoryview, checksum: str) -> None:
        try:
            response = store._send_checked(
                "upload_part",
                source.name,
                _body(view),
                base64.b64decode(checksum).hex(),
                Bucket=store.bucket,
                Key=full,
                UploadId=upload_id,
                PartNumber=number,
            )
        except BaseException:
            failed.set()
            raise
        finally:
            _give_back(pool, view)
        with lock:
            parts[number] = {"PartNumber": number, "ETag": response["ETag"]}
            parts[number]["ChecksumSHA256"] = checksum
        if advance is not None:
            advance(len(view))

    blocks = source.parts(part_size, pool)
    try:
        for number, view in blocks:  # waits for a free buffer before reading a part
            checksum = base64.b64encode(hashlib.sha256(view).digest()).decode()
            if _already_sent(stored.get(number), view, checksum):
                _give_back(pool, view)
                parts[number] = {"PartNumber": number, "ETag": stored[number]["ETag"]}
                parts[number]["ChecksumSHA256"] = checksum
                if advance is not None:
                    advance(len(view))
                continue
            futures.append(store._part_pool().submit(send, number, view, checksum))
            if failed.is_set():
                break
    except SourceChangedError:
        abort(store, full, upload_id, futures)
        raise
    except BaseException:
        wait(futures)
        raise
    finally:
        blocks.close()
    wait(futures)
    for future in futures:
        exc = future.exception()
        if exc is not None:
            if not isinstance(exc, S3ConnectionError):
                abort(store, full, upload_id, [])
            raise exc
    return _complete(store, full, upload_id, parts, source, overwrite)


def _complete(
    store: S3Store,
    full: str,
    upload_id: str,
    parts: dict[int, dict[str, Any]],
    source: UploadSource,
    overwrite: bool,
) -> bool:
    """Complete the upload (never over an existing object, unless asked), then check its size."""
    kwargs: dict[str, Any] = {
        "Bucket": store.bucket,
        "Key": full,
        "UploadId": upload_id,
        "MultipartUpload": {"Parts": [parts[n] for n in sorted(parts)]},
    }
    if not overwrite:
        kwargs["IfNoneMatch"] = "*"
    try:
        store._call("complete_multipart_upload", **kwargs)
    except bce.ClientError as exc:
        if error_code(exc)[1] == 412:
            abort(store, full, upload_id, [])
            return store._same_as_stored(full, source.sha256)
        if error_code(exc)[0] == "NoSuchUpload" and store.head(store._relative(full)) is not None:
            return False  # a retried complete whose first attempt went through
        raise
    stored = store.head(store._relative(full))
    if stored is None or stored.size != source.size:
        raise StorageError(
            f"{store._where} reports {full} with {stored.size if stored else 'no'} bytes"
            f" after the upload, expected {source.size}"
        )
    return True


def abort(store: S3Store, full: str, upload_id: str, futures: list[Future[None]]) -> None:
    """Wait for the parts in flight, then drop the upload (best effort)."""
    wait(futures)
    try:
        store._call("abort_multipart_upload", Bucket=store.bucket, Key=full, UploadId=upload_id)
    except (bce.ClientError, StorageError):
        pass


def _resumable_upload(store: S3Store, full: str) -> tuple[str | None, dict[int, dict[str, Any]]]:
    """The newest unfinished multipart upload of this key and its stored parts."""
    try:
        listing = store._call("list_multipart_uploads", Bucket=store.bucket, Prefix=full)
    except (bce.ClientError, StorageError):
        return None, {}
    uploads = [u for u in listing.get("Uploads", []) if u.get("Key") == full]
    if not uploads:
        return None, {}
    upload = max(uploads, key=lambda u: str(u.get("Initiated", "")))
    upload_id = str(upload["UploadId"])
    stored: dict[int, dict[str, Any]] = {}
    marker = 0
    while True:
        try:
            page = store._call(
                "list_parts",
                Bucket=store.bucket,
                Key=full,
                UploadId=upload_id,
                PartNumberMarker=marker,
            )
        except (bce.ClientError, StorageError):
            return None, {}
        for part in page.get("Parts", []):
            stored[int(part["PartNumber"])] = {
                "Size": int(part["Size"]),
                "ETag": part["ETag"],
                "Checksum": part.get("ChecksumSHA256"),
            }
        if not page.get("IsTruncated"):
            return upload_id, stored
        marker = int(page.get("NextPartNumberMarker", 0))


def _body(view: memoryview) -> bytes | bytearray:
    """The bytes to send for a part: its pool buffer itself when full, else a copy."""
    whole = view.obj
    if isinstance(whole, bytes | bytearray) and len(whole) == len(view):
        return whole
    return bytes(view)


def _give_back(pool: BufferPool, view: memoryview) -> None:
    buffer = view.obj
    if isinstance(buffer, bytearray) and len(buffer) == pool.size:
        pool.put(buffer)


def _already_sent(previous: dict[str, Any] | None, block: memoryview, checksum: str) -> bool:
    """Whether a part listed by the server holds exactly ``block`` (by SHA-256, else MD5 ETag)."""
    if previous is None or previous["Size"] != len(block):
        return False
    if previous["Checksum"]:
        return bool(previous["Checksum"] == checksum)
    etag = str(previous["ETag"]).strip('"')
    return etag == hashlib.md5(block, usedforsecurity=False).hexdigest()


def _part_size(size: int, preferred: int) -> int:
    """The part size: the preferred one, or bigger so that no file needs over 9,000 parts."""
    mib = 1024 * 1024
    needed = -(-size // 9000)
    return max(preferred, -(-needed // mib) * mib)
