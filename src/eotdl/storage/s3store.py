"""The S3 backend (``s3://bucket/prefix``) through botocore: AWS, MinIO, SeaweedFS, Ceph, R2.

Writes never overwrite a published object (``If-None-Match: *``; 412 means it is there) and
carry their SHA-256 (``x-amz-checksum-sha256``), so the server refuses bytes that differ from
what was hashed. Large files go up in parts, each verified; an interrupted multipart upload is
resumed from the parts already stored. One client, shared by every thread.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import mimetypes
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

import botocore.exceptions as bce

from eotdl.errors import StorageError
from eotdl.storage import s3parts
from eotdl.storage.base import ObjectStore
from eotdl.storage.hashing import CHUNK
from eotdl.storage.keys import CONTENT_PREFIX, check_key
from eotdl.storage.objects import ObjectInfo, ObjectMissingError, Sink, StoreUnavailableError
from eotdl.storage.s3client import (
    CREDENTIAL_CODES,
    DIGEST_CODES,
    NETWORK_ERRORS,
    TRANSIENT_CODES,
    BodyReader,
    S3ConnectionError,
    b64,
    drain,
    error_code,
    make_client,
    network_reason,
    parse_time,
)
from eotdl.storage.source import SourceChangedError, UploadSource
from eotdl.storage.transfer import (
    BufferPool,
    MemoryBudget,
    TransferOptions,
    retry,
    run_parallel,
)


class S3Store(ObjectStore):
    """Objects under ``s3://bucket/prefix``, through one thread-safe botocore client."""

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
        self.client = make_client(self.endpoint_url, region, profile, self.options)
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

    def _key_for_own_href(self, href: str) -> str | None:
        """``s3://bucket/prefix/KEY``, or the bucket's URL at the endpoint (quoted)."""
        base = f"s3://{self.bucket}/{self.prefix}/" if self.prefix else f"s3://{self.bucket}/"
        if href.startswith(base):
            return href[len(base) :]
        at_endpoint = f"{self.endpoint_url}/{base[5:]}" if self.endpoint_url else ""
        if at_endpoint and href.startswith(at_endpoint):
            return unquote(href[len(at_endpoint) :])
        return None

    # -- errors -------------------------------------------------------------------------

    def _is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, bce.EndpointConnectionError) and not self._reached:
            return False  # never reached: a wrong endpoint, not a blip; fail fast
        if isinstance(exc, bce.ClientError):
            code, status = error_code(exc)
            return status >= 500 or code in TRANSIENT_CODES
        return isinstance(exc, NETWORK_ERRORS)

    def _call(self, method: str, attempts: int | None = None, **kwargs: Any) -> Any:
        """One S3 request, retried on transient errors, with errors made readable."""
        function = getattr(self.client, method)
        try:
            response = retry(lambda: function(**kwargs), self._is_transient, self.options, attempts)
            self._reached = True
            return response
        except bce.ClientError:
            raise
        except (bce.BotoCoreError, *NETWORK_ERRORS) as exc:
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
                f"cannot reach the S3 endpoint {self._where}: {network_reason(exc)}",
                hint="is the server running? Check [store] endpoint_url in eotdl.toml"
                " (or AWS_ENDPOINT_URL)",
            )
        if isinstance(exc, NETWORK_ERRORS):
            return S3ConnectionError(
                f"lost the connection to {self._where} on {where}: {network_reason(exc)}"
            )
        code, status = error_code(exc)
        message = ""
        if isinstance(exc, bce.ClientError):
            message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        if code == "NoSuchBucket" or (status == 404 and not full_key):
            return StoreUnavailableError(
                f"bucket {self.bucket!r} does not exist at {self._where}",
                hint=f"create it (e.g. `aws s3 mb s3://{self.bucket}`) or fix [store] url in"
                " eotdl.toml",
            )
        if code in CREDENTIAL_CODES:
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
            code, status = error_code(exc)
            if code == "AccessDenied" and write:
                return  # write-only credentials: let the writes speak for themselves
            raise self._error(exc) from None

    def head(self, key: str) -> ObjectInfo | None:
        full = self._full(key)
        try:
            response = self._call("head_object", Bucket=self.bucket, Key=full)
        except bce.ClientError as exc:
            code, status = error_code(exc)
            if status == 404 or code in ("NoSuchKey", "NotFound", "404"):
                return None
            raise self._error(exc, full) from None
        return ObjectInfo(
            key, int(response["ContentLength"]), parse_time(response.get("LastModified"))
        )

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
            entries = page.get("EotdlEntries")  # read by s3client.fast_listing
            if entries is None:
                entries = [
                    (e["Key"], e["Size"], e.get("LastModified")) for e in page.get("Contents", [])
                ]
            for key, size, when in entries:
                yield ObjectInfo(self._relative(key), int(size), parse_time(when))
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
            if error_code(exc)[1] != 404:
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
            code, status = error_code(exc)
            if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
                raise ObjectMissingError(f"no object {key} in {self.url}") from None
            if code == "InvalidRange":
                return None
            raise self._error(exc, full) from None

    def open(self, key: str) -> BinaryIO:
        response = self._get(key)
        return io.BufferedReader(BodyReader(response["Body"]), buffer_size=CHUNK)

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
            received = drain(body, sink)
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
            return s3parts.put_parts(self, full, source, overwrite, extra, advance)
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
                return self._call(method, Body=body, ChecksumSHA256=b64(sha256_hex), **kwargs)
            except bce.ClientError as exc:
                if error_code(exc)[0] not in DIGEST_CODES:
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
            if error_code(exc)[1] == 412:
                return self._same_as_stored(full, sha256_hex)
            raise
        returned = response.get("ChecksumSHA256")
        if returned and returned != b64(sha256_hex):
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
        return bool(head.get("ChecksumSHA256") == b64(sha256_hex))

    def _part_pool(self) -> ThreadPoolExecutor:
        with self._parts_lock:
            if self._parts is None:
                self._parts = ThreadPoolExecutor(
                    max_workers=self.options.workers, thread_name_prefix="eotdl-part"
                )
            return self._parts
