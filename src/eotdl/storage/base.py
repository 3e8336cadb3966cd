"""The object store interface: the primitives every backend provides, and the operations
built on them once for all backends (uploads in :mod:`uploads`, downloads in :mod:`downloads`)."""

from __future__ import annotations

import builtins
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO
from urllib.parse import unquote

from eotdl.errors import InputError
from eotdl.storage.hashing import multihash_sha256
from eotdl.storage.keys import check_key
from eotdl.storage.objects import (
    GetRequest,
    ObjectCheck,
    ObjectInfo,
    ObjectMissingError,
    Sink,
    StoredObject,
    StoreUnavailableError,
    TransferError,
    TransferFailure,
    TransferSummary,
    Usage,
)
from eotdl.storage.source import UploadSource
from eotdl.storage.transfer import TransferOptions, run_parallel

__all__ = [
    "GetRequest",
    "ObjectCheck",
    "ObjectInfo",
    "ObjectMissingError",
    "ObjectStore",
    "Sink",
    "StoreUnavailableError",
    "StoredObject",
    "TransferError",
    "TransferFailure",
    "TransferSummary",
    "Usage",
]


class ObjectStore(ABC):
    """One object store: a folder (``file://``) or a bucket prefix (``s3://``).

    Backends implement the primitives (head, list, delete, open, read, write); the
    content-addressed, verified, parallel transfers are built on them once, for all.
    """

    url: str
    #: The URL readers fetch the store's objects from ("" when none is set).
    public_url: str = ""

    def __init__(self, options: TransferOptions | None = None) -> None:
        self.options = options or TransferOptions()
        self._checked: set[bool] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- primitives every backend implements ------------------------------------------

    @abstractmethod
    def _check(self, write: bool) -> None:
        """Raise StorageError unless the store can be read (and written, if asked)."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """The object's size and date, or None when there is no such object."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``.

        Folders and AWS list in key order; some servers (SeaweedFS) list folder by folder.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (no error if it is already gone)."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A binary stream reading the object from its start."""

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes of the object from offset ``start`` (fewer at its end)."""

    @abstractmethod
    def href(self, key: str) -> str:
        """The URL of an object: ``file:///…``, ``s3://…`` or the public URL."""

    @abstractmethod
    def _key_for_own_href(self, href: str) -> str | None:
        """The key of one of the backend's own URLs (``file:``/path, ``s3://``, endpoint)."""

    @abstractmethod
    def _read(self, key: str, sink: Sink, start: int = 0) -> None:
        """Stream the object from offset ``start`` into ``sink``; ObjectMissingError if absent."""

    @abstractmethod
    def _write(
        self,
        key: str,
        source: UploadSource,
        *,
        overwrite: bool,
        content_type: str | None,
        advance: Callable[[int], None] | None = None,
    ) -> bool:
        """Store ``source`` at ``key``, verified; False if it existed and overwrite is off.

        ``advance`` is told how many bytes were sent, as they are sent.
        """

    @abstractmethod
    def _is_transient(self, exc: BaseException) -> bool:
        """Whether an error is worth retrying (connection lost, server busy)."""

    # -- shared behaviour ---------------------------------------------------------------

    def key_for_href(self, href: str) -> str | None:
        """The key of an absolute href pointing into this store, or None: the inverse of
        :meth:`href`. A URL under ``public_url`` names the (unquoted) rest as key; any other
        is the backend's own form. Only valid keys (:func:`~eotdl.storage.keys.check_key`)
        come back. Relative hrefs are the lab's business: see
        :mod:`eotdl.catalog.hrefkeys`, which calls this."""
        if self.public_url and href.startswith(self.public_url + "/"):
            key = unquote(href[len(self.public_url) + 1 :])
        else:
            found = self._key_for_own_href(href)
            if found is None:
                return None
            key = found
        try:
            return check_key(key)
        except InputError:
            return None

    def check(self, write: bool = False) -> None:
        """Fail fast with a clear StorageError if the store cannot be reached (or written)."""
        if write in self._checked or (True in self._checked):
            return
        self._check(write)
        self._checked.add(write)

    def existing(self, keys_: Iterable[str]) -> dict[str, ObjectInfo]:
        """The objects among ``keys_`` that exist (backends may batch this)."""
        found: dict[str, ObjectInfo] = {}

        def done(key: str, info: ObjectInfo | None, exc: BaseException | None) -> None:
            if exc is not None:
                raise exc
            if info is not None:
                found[key] = info

        run_parallel(sorted(set(keys_)), self.head, self.options.workers, done)
        return found

    def delete_many(self, keys_: Iterable[str]) -> int:
        """Delete these objects; return how many were asked for."""
        count = 0

        def done(key: str, _: None, exc: BaseException | None) -> None:
            nonlocal count
            if exc is not None:
                raise exc
            count += 1

        run_parallel(keys_, self.delete, self.options.workers, done)
        return count

    def usage(self, prefix: str = "") -> Usage:
        """Count the objects and bytes under ``prefix``, per first-level folder below it."""
        usage = Usage(prefix)
        for info in self.list(prefix):
            usage.objects += 1
            usage.bytes += info.size
            rest = info.key[len(prefix) :]
            folder = prefix + rest.split("/", 1)[0] + "/" if "/" in rest else prefix
            count, size = usage.folders.get(folder, (0, 0))
            usage.folders[folder] = (count + 1, size + info.size)
        usage.folders = dict(sorted(usage.folders.items()))
        return usage

    def stored(self, key: str, sha256_hex: str, size: int, uploaded: bool) -> StoredObject:
        """The StoredObject for ``key`` holding bytes with this SHA-256."""
        return StoredObject(key, self.href(key), multihash_sha256(sha256_hex), size, uploaded)

    # -- uploads ------------------------------------------------------------------------

    def put_file(self, path: str | os.PathLike[str]) -> StoredObject:
        """Upload one file under its content-addressed key (nothing sent if already there)."""
        try:
            summary = self.put_files([path], workers=1, progress=False)
        except TransferError as exc:
            raise exc.first_error() from None
        return summary.objects[os.fspath(path)]

    def put_files(
        self,
        paths: Iterable[str | os.PathLike[str]],
        workers: int | None = None,
        progress: bool = True,
    ) -> TransferSummary:
        """Upload files under content-addressed keys, in parallel, skipping what is there.

        Raises TransferError (with the summary) if any file failed; the others are stored.
        """
        from eotdl.storage import uploads

        return uploads.put_files(self, paths, workers, progress)

    def put_named(
        self,
        key: str,
        data: bytes | str | os.PathLike[str],
        content_type: str | None = None,
        overwrite: bool = False,
    ) -> StoredObject:
        """Store bytes or a file at a chosen key (not content-addressed).

        Without ``overwrite`` an existing object is never replaced: StorageError instead.
        """
        from eotdl.storage import uploads

        return uploads.put_named(self, key, data, content_type, overwrite)

    # -- downloads ----------------------------------------------------------------------

    def get_file(
        self,
        key: str,
        dest: str | os.PathLike[str],
        checksum: str | None = None,
        size: int | None = None,
    ) -> StoredObject:
        """Download one object to ``dest``, verified; skipped if ``dest`` already matches."""
        try:
            summary = self.get_files([(key, dest, checksum, size)], workers=1, progress=False)
        except TransferError as exc:
            raise exc.first_error() from None
        return summary.objects[os.fspath(dest)]

    def get_files(
        self, requests: Iterable[GetRequest], workers: int | None = None, progress: bool = True
    ) -> TransferSummary:
        """Download objects in parallel, each verified against its checksum and size.

        The checksum defaults to the one a content-addressed key names. A destination that
        already holds the right bytes is skipped. Raises TransferError if any failed.
        """
        from eotdl.storage import downloads  # urllib.request, email: imported when used

        return downloads.get_files(self, requests, workers, progress)

    def verify_objects(
        self,
        entries: Iterable[tuple[str, str | None, int | None]],
        workers: int | None = None,
        progress: bool = True,
    ) -> builtins.list[ObjectCheck]:
        """Re-hash objects ``(key, file:checksum or None, size or None)`` against the store."""
        from eotdl.storage import downloads

        return downloads.verify_objects(self, entries, workers, progress)
