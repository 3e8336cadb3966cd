"""The S3 backend (``s3://bucket/prefix``) through botocore: AWS, MinIO, SeaweedFS, Ceph, R2.

Writes never overwrite a published object (``If-None-Match: *``; 412 means it is there) and
carry their SHA-256 (``x-amz-checksum-sha256``), so the server refuses bytes that differ from
what was hashed. Large files go up in parts, each verified; an interrupted multipart upload is
resumed from the parts already stored. One client, shared by every thread.
"""

from __future__ import annotations

import base64
import builtins
import datetime as dt
import email.utils
import hashlib
import http.client
import io
import mimetypes
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

import botocore.exceptions as bce
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from urllib3.exceptions import HTTPError as Urllib3Error

from eotdl.errors import InputError, StorageError
from eotdl.storage.base import (
    ObjectInfo,
    ObjectMissingError,
    ObjectStore,
    Sink,
    StoreUnavailableError,
)
from eotdl.storage.hashing import CHUNK
from eotdl.storage.keys import CONTENT_PREFIX, check_key
from eotdl.storage.source import SourceChangedError, UploadSource
from eotdl.storage.transfer import (
    BufferPool,
    MemoryBudget,
    TransferOptions,
    retry,
    run_parallel,
)

_TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "InternalError",
        "ServiceUnavailable",
        "OperationAborted",
        "ConditionalRequestConflict",
    }
)
#: The server computed another checksum than the one sent with the bytes.
_DIGEST_CODES = frozenset({"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"})
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "AuthorizationHeaderMalformed",
        "InvalidSecurity",
    }
)
_NETWORK_ERRORS = (
    bce.EndpointConnectionError,
    bce.ConnectionClosedError,
    bce.ReadTimeoutError,
    bce.ConnectTimeoutError,
    bce.ResponseStreamingError,
    bce.IncompleteReadError,
    Urllib3Error,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


class S3ConnectionError(StoreUnavailableError):
    """The S3 endpoint could not be reached, or the connection kept failing."""


def _code(exc: BaseException) -> tuple[str, int]:
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return str(error.get("Code", "")), int(status or 0)
    return "", 0


def _reason(exc: BaseException) -> str:
    """The useful end of a network error ("[Errno 111] Connection refused"), not its URL."""
    kwargs = getattr(exc, "kwargs", None) or {}
    for text in (str(kwargs.get("error", "")), str(exc)):
        match = re.search(r"\[Errno -?\d+\][^'\"\)]*", text)
        if match:
            return match.group(0).strip()
    if isinstance(exc, bce.ConnectTimeoutError):
        return "timed out"
    return str(exc)


def _b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


class S3Store(ObjectStore):
    """Objects under ``s3://bucket/prefix``, through one thread-safe boto3 client."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        public_url: str = "",
        options: TransferOptions | None = None,
    ) -> None:
        super().__init__(options)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        endpoint_url = (
            endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        self.endpoint_url = (endpoint_url or "").rstrip("/") or None
        self.public_url = public_url.rstrip("/")
        self.client = _make_client(self.endpoint_url, region, profile, self.options)
        self._budget = MemoryBudget(self.options.memory)
        self._buffers = BufferPool(
            self.options.part_size, max(2, self.options.memory // self.options.part_size)
        )
        self._parts: ThreadPoolExecutor | None = None
        self._parts_lock = threading.Lock()
        self._reached = False
        #: True once the server has echoed a SHA-256 it checked: then it, not us, re-hashes
        #: what is sent (servers that ignore the header get the bytes re-hashed here).
        self._server_checks = False

    # -- keys and URLs ------------------------------------------------------------------

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _full_prefix(self, prefix: str) -> str:
        return f"{self.prefix}/{prefix}" if self.prefix else prefix

    def _relative(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    @property
    def _where(self) -> str:
        return self.endpoint_url or "AWS S3"

    def href(self, key: str) -> str:
        if self.public_url:
            return f"{self.public_url}/{quote(check_key(key))}"
        return f"s3://{self.bucket}/{self._full(key)}"

    def key_for_href(self, href: str) -> str | None:
        bases = [f"s3://{self.bucket}/{self.prefix}/" if self.prefix else f"s3://{self.bucket}/"]
        quoted = []
        if self.public_url:
            quoted.append(self.public_url + "/")
        if self.endpoint_url:
            quoted.append(f"{self.endpoint_url}/{bases[0][5:]}")
        for base in bases + quoted:
            if href.startswith(base):
                rest = href[len(base) :]
                key = unquote(rest) if base in quoted else rest
                try:
                    return check_key(key)
                except InputError:
                    return None
        return None

    # -- errors -------------------------------------------------------------------------

    def _is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, bce.EndpointConnectionError) and not self._reached:
            return False  # never reached: a wrong endpoint, not a blip; fail fast
        if isinstance(exc, bce.ClientError):
            code, status = _code(exc)
            return status >= 500 or code in _TRANSIENT_CODES
        return isinstance(exc, _NETWORK_ERRORS)

    def _call(self, method: str, attempts: int | None = None, **kwargs: Any) -> Any:
        """One S3 request, retried on transient errors, with errors made readable."""
        function = getattr(self.client, method)
        try:
            response = retry(lambda: function(**kwargs), self._is_transient, self.options, attempts)
            self._reached = True
            return response
        except bce.ClientError:
            raise
        except (bce.BotoCoreError, *_NETWORK_ERRORS) as exc:
            raise self._error(exc, kwargs.get("Key")) from None

    def _error(self, exc: BaseException, full_key: str | None = None) -> StorageError:
        """A StorageError that says what failed, where, and what to do."""
        where = f"s3://{self.bucket}/{full_key}" if full_key else self.url
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, bce.NoCredentialsError):
            return StoreUnavailableError(
                f"no AWS credentials found for {self.url}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or"
                " [store] profile in eotdl.toml",
            )
        if isinstance(exc, bce.EndpointConnectionError | bce.ConnectTimeoutError):
            return S3ConnectionError(
                f"cannot reach the S3 endpoint {self._where}: {_reason(exc)}",
                hint="is the server running? Check [store] endpoint_url in eotdl.toml"
                " (or AWS_ENDPOINT_URL)",
            )
        if isinstance(exc, _NETWORK_ERRORS):
            return S3ConnectionError(
                f"lost the connection to {self._where} on {where}: {_reason(exc)}"
            )
        code, status = _code(exc)
        message = ""
        if isinstance(exc, bce.ClientError):
            message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        if code == "NoSuchBucket" or (status == 404 and not full_key):
            return StoreUnavailableError(
                f"bucket {self.bucket!r} does not exist at {self._where}",
                hint=f"create it (e.g. `aws s3 mb s3://{self.bucket}`) or fix [store] url in"
                " eotdl.toml",
            )
        if code in _CREDENTIAL_CODES:
            return StoreUnavailableError(
                f"{self._where} rejected the credentials ({code}): {message}",
                hint="check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or"
                " [store] profile in eotdl.toml",
            )
        if code in ("AccessDenied", "403", "Forbidden") or status == 403:
            return StoreUnavailableError(
                f"access denied to {where} by {self._where} ({code})",
                hint="the credentials in use lack permission for this bucket or prefix",
            )
        return StorageError(f"{self._where} refused a request on {where}: {code} {message}")

    # -- primitives -----------------------------------------------------------------------

    def _check(self, write: bool) -> None:
        try:
            self._call(
                "list_objects_v2",
                attempts=2,
                Bucket=self.bucket,
                Prefix=f"{self.prefix}/" if self.prefix else "",
                MaxKeys=1,
            )
        except bce.ClientError as exc:
            code, status = _code(exc)
            if code == "AccessDenied" and write:
                return  # write-only credentials: let the writes speak for themselves
            raise self._error(exc) from None

    def head(self, key: str) -> ObjectInfo | None:
        full = self._full(key)
        try:
            response = self._call("head_object", Bucket=self.bucket, Key=full)
        except bce.ClientError as exc:
            code, status = _code(exc)
            if status == 404 or code in ("NoSuchKey", "NotFound", "404"):
                return None
            raise self._error(exc, full) from None
        return ObjectInfo(key, int(response["ContentLength"]), _when(response.get("LastModified")))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self._list(self._full_prefix(prefix))

    def _list(self, full_prefix: str) -> Iterator[ObjectInfo]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full_prefix}
            if token:
                kwargs["ContinuationToken"] = token
            try:
                page = self._call("list_objects_v2", **kwargs)
            except bce.ClientError as exc:
                raise self._error(exc) from None
            for entry in page.get("Contents", []):
                yield ObjectInfo(
                    self._relative(entry["Key"]),
                    int(entry["Size"]),
                    _when(entry.get("LastModified")),
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def existing(self, keys_: Iterable[str]) -> dict[str, ObjectInfo]:
        """Which keys exist, in as few requests as possible: content-addressed keys by listing
        their shards (or a sixteenth of the key space at once) when that is cheaper than a
        HEAD per key; 10,000 keys in a small store cost 17 LISTs, not 10,000 HEADs."""
        wanted = sorted(set(keys_))
        shard_of = len(CONTENT_PREFIX) + 3
        content = [k for k in wanted if k.startswith(CONTENT_PREFIX) and len(k) > shard_of]
        if len(content) <= 8:
            return self._head_many(wanted)
        taken = set(content)
        found = self._head_many([k for k in wanted if k not in taken])
        shards: dict[str, builtins.list[str]] = {}
        for key in content:
            shards.setdefault(key[:shard_of], []).append(key)
        # List the fullest shard first: its size tells how big the store is.
        sample = max(shards, key=lambda shard: len(shards[shard]))
        listed = builtins.list(self._list(self._full_prefix(sample)))
        found.update({i.key: i for i in listed if i.key in taken})
        rest = {shard: keys for shard, keys in shards.items() if shard != sample}
        if not rest:
            return found
        per_shard = max(len(listed), 1)
        costs = {
            "head": sum(len(keys) for keys in rest.values()),
            "shards": len(rest) * -(-per_shard // 1000),
            "wide": len({shard[:-2] for shard in rest}) * -(-per_shard * 16 // 1000),
        }
        plan = min(costs, key=lambda name: costs[name])
        if plan == "head":
            found.update(self._head_many([k for keys in rest.values() for k in keys]))
            return found
        prefixes = sorted(rest) if plan == "shards" else sorted({s[:-2] for s in rest})
        lock = threading.Lock()

        def work(prefix: str) -> builtins.list[ObjectInfo]:
            return [i for i in self._list(self._full_prefix(prefix)) if i.key in taken]

        def done(prefix: str, infos: builtins.list[ObjectInfo] | None, exc: Any) -> None:
            if exc is not None:
                raise exc
            with lock:
                found.update({i.key: i for i in infos or []})

        run_parallel(prefixes, work, self.options.workers, done)
        return found

    def _head_many(self, keys_: builtins.list[str]) -> dict[str, ObjectInfo]:
        return ObjectStore.existing(self, keys_) if keys_ else {}

    def delete(self, key: str) -> None:
        full = self._full(key)
        try:
            self._call("delete_object", Bucket=self.bucket, Key=full)
        except bce.ClientError as exc:
            if _code(exc)[1] != 404:
                raise self._error(exc, full) from None

    def delete_many(self, keys_: Iterable[str]) -> int:
        """Delete in batches of 1000 (one request each)."""
        batch: builtins.list[str] = []
        count = 0
        for key in keys_:
            batch.append(self._full(key))
            if len(batch) == 1000:
                count += self._delete_batch(batch)
                batch = []
        if batch:
            count += self._delete_batch(batch)
        return count

    def _delete_batch(self, fulls: builtins.list[str]) -> int:
        try:
            response = self._call(
                "delete_objects",
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in fulls], "Quiet": True},
            )
        except bce.ClientError as exc:
            raise self._error(exc) from None
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageError(
                f"{len(errors)} of {len(fulls)} deletions failed; first: {first.get('Key')}:"
                f" {first.get('Code')} {first.get('Message', '')}"
            )
        return len(fulls)

    def _get(self, key: str, range_: str | None = None) -> Any:
        full = self._full(key)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": full}
        if range_:
            kwargs["Range"] = range_
        try:
            return self._call("get_object", **kwargs)
        except bce.ClientError as exc:
            code, status = _code(exc)
            if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
                raise ObjectMissingError(f"no object {key} in {self.url}") from None
            if code == "InvalidRange":
                return None
            raise self._error(exc, full) from None

    def open(self, key: str) -> BinaryIO:
        response = self._get(key)
        return io.BufferedReader(_BodyReader(response["Body"]), buffer_size=CHUNK)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        response = self._get(key, f"bytes={start}-{start + length - 1}")
        if response is None:
            return b""
        with response["Body"] as body:
            return bytes(body.read())

    def _read(self, key: str, sink: Sink, start: int = 0) -> None:
        response = self._get(key, f"bytes={start}-" if start else None)
        if response is None:  # asked to resume at the very end
            return
        body = response["Body"]
        expected = int(response.get("ContentLength", -1))
        try:
            received = _drain(body, sink)
        except BaseException:
            body.close()  # the connection is broken: never hand it back to the pool
            raise
        if expected >= 0 and received != expected:
            body.close()
            raise bce.IncompleteReadError(actual_bytes=received, expected_bytes=expected)

    # -- writes ---------------------------------------------------------------------------

    def _write(
        self,
        key: str,
        source: UploadSource,
        *,
        overwrite: bool,
        content_type: str | None,
        advance: Callable[[int], None] | None = None,
    ) -> bool:
        full = self._full(key)
        extra: dict[str, Any] = {}
        kind = content_type or mimetypes.guess_type(key)[0]
        if kind:
            extra["ContentType"] = kind
        try:
            if source.size <= self.options.multipart_threshold:
                with self._budget.hold(source.size):
                    data = source.read_all(rehash=not self._server_checks)
                    written = self._put_whole(
                        full, source.name, data, source.sha256, overwrite, extra
                    )
                if advance is not None:
                    advance(source.size)
                return written
            return self._put_parts(full, source, overwrite, extra, advance)
        except bce.ClientError as exc:
            raise self._error(exc, full) from None

    def _send_checked(
        self, method: str, name: str, body: bytes | bytearray, sha256_hex: str, **kwargs: Any
    ) -> Any:
        """A write the server checks against ``sha256_hex``. When it disagrees, either the
        bytes are not what was hashed (the file changed: refused) or the network damaged
        them (sent again)."""
        for attempt in range(1, self.options.attempts + 1):
            try:
                return self._call(method, Body=body, ChecksumSHA256=_b64(sha256_hex), **kwargs)
            except bce.ClientError as exc:
                if _code(exc)[0] not in _DIGEST_CODES:
                    raise
                if hashlib.sha256(body).hexdigest() != sha256_hex:
                    raise SourceChangedError(
                        f"{name} changed while it was being uploaded; nothing was stored",
                        hint="upload it again once nothing is writing to it",
                    ) from None
                if attempt == self.options.attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _put_whole(
        self,
        full: str,
        name: str,
        data: bytes,
        sha256_hex: str,
        overwrite: bool,
        extra: dict[str, Any],
    ) -> bool:
        kwargs = dict(extra, Bucket=self.bucket, Key=full)
        if not overwrite:
            kwargs["IfNoneMatch"] = "*"
        try:
            response = self._send_checked("put_object", name, data, sha256_hex, **kwargs)
        except bce.ClientError as exc:
            if _code(exc)[1] == 412:
                return self._same_as_stored(full, sha256_hex)
            raise
        returned = response.get("ChecksumSHA256")
        if returned and returned != _b64(sha256_hex):
            raise StorageError(f"{self._where} stored {full} with another SHA-256 than was sent")
        if returned:
            self._server_checks = True
        return True

    def _same_as_stored(self, full: str, sha256_hex: str) -> bool:
        """After a 412 on a named key: True if the stored object is ours (a retried write)."""
        if self._relative(full).startswith(CONTENT_PREFIX):
            return False
        try:
            head = self._call("head_object", Bucket=self.bucket, Key=full, ChecksumMode="ENABLED")
        except bce.ClientError:
            return False
        return bool(head.get("ChecksumSHA256") == _b64(sha256_hex))

    def _part_pool(self) -> ThreadPoolExecutor:
        with self._parts_lock:
            if self._parts is None:
                self._parts = ThreadPoolExecutor(
                    max_workers=self.options.workers, thread_name_prefix="eotdl-part"
                )
            return self._parts

    def _put_parts(
        self,
        full: str,
        source: UploadSource,
        overwrite: bool,
        extra: dict[str, Any],
        advance: Callable[[int], None] | None,
    ) -> bool:
        upload_id, stored = self._resumable_upload(full)
        if upload_id is None:
            created = self._call(
                "create_multipart_upload",
                Bucket=self.bucket,
                Key=full,
                ChecksumAlgorithm="SHA256",
                **extra,
            )
            upload_id = str(created["UploadId"])
        parts: dict[int, dict[str, Any]] = {}
        futures: builtins.list[Future[None]] = []
        lock = threading.Lock()
        failed = threading.Event()

        part_size = _part_size(source.size, self.options.part_size)
        pool = self._buffers if part_size == self._buffers.size else BufferPool(part_size, 2)

        def send(number: int, view: memoryview, checksum: str) -> None:
            try:
                response = self._send_checked(
                    "upload_part",
                    source.name,
                    _body(view),
                    base64.b64decode(checksum).hex(),
                    Bucket=self.bucket,
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
                futures.append(self._part_pool().submit(send, number, view, checksum))
                if failed.is_set():
                    break
        except SourceChangedError:
            self._abort(full, upload_id, futures)
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
                    self._abort(full, upload_id, [])
                raise exc
        return self._complete(full, upload_id, parts, source, overwrite)

    def _complete(
        self,
        full: str,
        upload_id: str,
        parts: dict[int, dict[str, Any]],
        source: UploadSource,
        overwrite: bool,
    ) -> bool:
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": full,
            "UploadId": upload_id,
            "MultipartUpload": {"Parts": [parts[n] for n in sorted(parts)]},
        }
        if not overwrite:
            kwargs["IfNoneMatch"] = "*"
        try:
            self._call("complete_multipart_upload", **kwargs)
        except bce.ClientError as exc:
            if _code(exc)[1] == 412:
                self._abort(full, upload_id, [])
                return self._same_as_stored(full, source.sha256)
            if _code(exc)[0] == "NoSuchUpload" and self.head(self._relative(full)) is not None:
                return False  # a retried complete whose first attempt went through
            raise
        stored = self.head(self._relative(full))
        if stored is None or stored.size != source.size:
            raise StorageError(
                f"{self._where} reports {full} with {stored.size if stored else 'no'} bytes"
                f" after the upload, expected {source.size}"
            )
        return True

    def _abort(self, full: str, upload_id: str, futures: builtins.list[Future[None]]) -> None:
        wait(futures)
        try:
            self._call("abort_multipart_upload", Bucket=self.bucket, Key=full, UploadId=upload_id)
        except (bce.ClientError, StorageError):
            pass

    def _resumable_upload(self, full: str) -> tuple[str | None, dict[int, dict[str, Any]]]:
        """The newest unfinished multipart upload of this key and its stored parts."""
        try:
            listing = self._call("list_multipart_uploads", Bucket=self.bucket, Prefix=full)
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
                page = self._call(
                    "list_parts",
                    Bucket=self.bucket,
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


class _BodyReader(io.RawIOBase):
    """A raw binary stream over a botocore response body."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def _drain(body: Any, sink: Sink) -> int:
    """Pass every byte of a response body to ``sink``; return the count.

    When the body wraps a plain ``http.client`` response, read straight into one reused
    buffer (one copy less per byte than ``body.read``), the way rclone's buffers work.
    """
    raw = getattr(body, "_raw_stream", None)
    fp = getattr(raw, "_fp", None)
    if raw is not None and isinstance(fp, http.client.HTTPResponse):
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        total = 0
        while True:
            count = fp.readinto(view)
            if not count:
                break
            sink(view[:count])
            total += count
        raw.release_conn()
        return total
    total = 0
    while True:
        block = body.read(CHUNK)
        if not block:
            return total
        sink(memoryview(block))
        total += len(block)


def _when(value: Any) -> dt.datetime | None:
    """A timestamp as botocore hands it over unparsed (ISO 8601 in listings, RFC 1123 in
    headers); parsing it ourselves is several times faster than botocore's dateutil."""
    if value is None or isinstance(value, dt.datetime):
        return value
    text = str(value)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            return email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None


def _raw_timestamp(value: str) -> str:
    return value


def _make_client(
    endpoint_url: str | None, region: str | None, profile: str | None, options: TransferOptions
) -> Any:
    """One botocore S3 client (boto3 adds nothing a client needs, and costs 0.1 s to import)."""
    core = botocore.session.get_session()
    if profile:
        core.set_config_variable("profile", profile)
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_raw_timestamp
    )
    try:
        signed = core.get_credentials() is not None
        region = region or core.get_config_variable("region") or "us-east-1"
    except bce.ProfileNotFound:
        raise StorageError(
            f"AWS profile {profile!r} not found",
            hint="define it in ~/.aws/config, or fix [store] profile in eotdl.toml",
        ) from None
    config = Config(
        signature_version=None if signed else UNSIGNED,
        max_pool_connections=max(32, options.workers * 2 + 8),
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"total_max_attempts": 1},
        tcp_keepalive=True,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={
            "payload_signing_enabled": False,
            "addressing_style": "path" if endpoint_url else "auto",
        },
    )
    try:
        return core.create_client(
            "s3", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except ValueError as exc:
        raise StorageError(f"invalid S3 endpoint URL {endpoint_url!r}: {exc}") from None
