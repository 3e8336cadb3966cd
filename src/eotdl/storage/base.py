"""The object store interface: what every backend provides, and the content-addressed,
verified, parallel transfers built on it once for all backends."""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import hashlib
import os
import stat
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from eotdl.errors import EotdlError, InputError, StorageError
from eotdl.storage import keys
from eotdl.storage.hashcache import HashCache
from eotdl.storage.hashing import multihash_sha256, sha256_and_size, sha256_of_checksum
from eotdl.storage.source import SourceChangedError, UploadSource
from eotdl.storage.transfer import ProgressBar, TransferOptions, run_parallel

T = TypeVar("T")
R = TypeVar("R")
#: A download request: (key, destination, file:checksum or None, size or None).
GetRequest = tuple[str, "str | os.PathLike[str]", "str | None", "int | None"]
Sink = Callable[[memoryview], None]


@dataclass(frozen=True)
class ObjectInfo:
    """An object as listed: key (relative to the store), size in bytes, last modified."""

    key: str
    size: int
    modified: dt.datetime | None = None


@dataclass(frozen=True)
class StoredObject:
    """An object in the store with its ``file:checksum`` and ``file:size``.

    ``uploaded`` is True when this call sent the bytes, False when they were already there.
    """

    key: str
    href: str
    checksum: str
    size: int
    uploaded: bool = False


@dataclass(frozen=True)
class TransferFailure:
    """One file or object that could not be transferred, and why."""

    name: str
    message: str
    error: BaseException | None = field(default=None, compare=False, repr=False)


@dataclass
class TransferSummary:
    """What a batch did. ``objects`` maps each source path (uploads) or destination path
    (downloads), as a string, to its :class:`StoredObject`."""

    direction: str
    objects: dict[str, StoredObject] = field(default_factory=dict)
    sent: int = 0
    skipped: int = 0
    failed: list[TransferFailure] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Bytes per second actually transferred."""
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": [{"name": f.name, "message": f.message} for f in self.failed],
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }

    def describe(self) -> str:
        verb = "uploaded" if self.direction == "upload" else "downloaded"
        return (
            f"{self.sent} {verb}, {self.skipped} already there, {len(self.failed)} failed;"
            f" {self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s ({self.rate / 1e6:.1f} MB/s)"
        )


@dataclass
class Usage:
    """How many objects and bytes lie under a prefix, in total and per first-level folder."""

    prefix: str
    objects: int = 0
    bytes: int = 0
    folders: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "prefix": self.prefix,
            "objects": self.objects,
            "bytes": self.bytes,
            "folders": {k: {"objects": n, "bytes": b} for k, (n, b) in self.folders.items()},
        }


class ObjectMissingError(StorageError):
    """There is no object at this key."""


class StoreUnavailableError(StorageError):
    """The store as a whole cannot be used (unreachable, credentials refused, disk full):
    a batch stops at the first such error instead of failing every file the same way."""


class TransferError(StorageError):
    """Some files of a batch failed; ``summary`` says which, and what did succeed."""

    def __init__(self, summary: TransferSummary) -> None:
        verb = "upload" if summary.direction == "upload" else "download"
        total = summary.sent + summary.skipped + len(summary.failed)
        by_message: dict[str, builtins.list[TransferFailure]] = {}
        down = [f for f in summary.failed if isinstance(f.error, StoreUnavailableError)]
        if down:  # one cause for all of these, however their messages differ
            by_message[down[0].message] = down
        for failure in summary.failed:
            if not isinstance(failure.error, StoreUnavailableError):
                by_message.setdefault(failure.message, []).append(failure)
        if len(by_message) == 1:
            message, group = next(iter(by_message.items()))
            names = ", ".join(f.name for f in group[:3]) + (", …" if len(group) > 3 else "")
            text = f"{len(group)} of {total} files failed to {verb} ({names}): {message}"
        else:
            lines = [f"{len(summary.failed)} of {total} files failed to {verb}:"]
            lines += [f"  {f.name}: {f.message}" for f in summary.failed[:10]]
            if len(summary.failed) > 10:
                lines.append(f"  … and {len(summary.failed) - 10} more")
            text = "\n".join(lines)
        hints = {f.error.hint for f in summary.failed if isinstance(f.error, EotdlError)}
        hints.discard(None)
        hint = hints.pop() if len(hints) == 1 else None
        super().__init__(text, hint=hint or "run the same command again: what is done is skipped")
        self.summary = summary

    def first_error(self) -> BaseException:
        """The first failure's own error (with its own hint), or this one."""
        failure = self.summary.failed[0]
        if isinstance(failure.error, EotdlError):
            return failure.error
        return StorageError(failure.message, hint=self.hint)


class _Breaker:
    """Stops a batch at the first StoreUnavailableError: what has not started fails at once."""

    def __init__(self) -> None:
        self.error: StoreUnavailableError | None = None

    def guard(self, work: Callable[[T], R]) -> Callable[[T], R]:
        def run(item: T) -> R:
            if self.error is not None:
                raise StoreUnavailableError(self.error.message, hint=self.error.hint)
            try:
                return work(item)
            except StoreUnavailableError as exc:
                self.error = self.error or exc
                raise

        return run


@dataclass(frozen=True)
class ObjectCheck:
    """The result of re-hashing one object: "ok", "missing", "corrupt" or "error" (unreadable)."""

    key: str
    status: str
    message: str = ""
    size: int | None = None
    checksum: str | None = None


class ObjectStore(ABC):
    """One object store: a folder (``file://``) or a bucket prefix (``s3://``).

    Backends implement the primitives (head, list, delete, open, read, write); the
    content-addressed, verified, parallel transfers are built here once for all of them.
    """

    url: str

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
    def key_for_href(self, href: str) -> str | None:
        """The key of an href pointing into this store, or None."""

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
        workers = workers or self.options.workers
        started = time.monotonic()
        summary = TransferSummary("upload")
        files = _stat_sources(paths)
        cache = HashCache()
        try:
            sources = self._hash_sources(files, cache, workers, progress, summary)
        finally:
            cache.close()
        by_key: dict[str, builtins.list[UploadSource]] = {}
        for source in sources:
            by_key.setdefault(keys.content_key(source.sha256, source.name), []).append(source)
        if by_key:
            self.check(write=True)
        present = self.existing(by_key) if len(by_key) > 1 else self._head_one(by_key)
        todo: builtins.list[tuple[str, UploadSource]] = []
        for key, group in by_key.items():
            info = present.get(key)
            if info is None:
                todo.append((key, group[0]))
            elif info.size != group[0].size:
                message = (
                    f"the store holds {key} with {info.size} bytes instead of {group[0].size}:"
                    " it is corrupt; run `eotdl storage verify`"
                )
                summary.failed += [TransferFailure(s.name, message) for s in group]
            else:
                summary.skipped += len(group)
                for s in group:
                    summary.objects[s.name] = self.stored(key, s.sha256, s.size, False)
        self._upload_all(todo, by_key, workers, progress, summary)
        summary.seconds = time.monotonic() - started
        if summary.failed:
            raise TransferError(summary)
        return summary

    def _head_one(self, by_key: dict[str, builtins.list[UploadSource]]) -> dict[str, ObjectInfo]:
        found = {}
        for key in by_key:
            info = self.head(key)
            if info is not None:
                found[key] = info
        return found

    def _hash_sources(
        self,
        files: builtins.list[tuple[str, os.stat_result]],
        cache: HashCache,
        workers: int,
        progress: bool,
        summary: TransferSummary,
    ) -> builtins.list[UploadSource]:
        todo: builtins.list[tuple[str, os.stat_result]] = []
        sources: builtins.list[UploadSource] = []
        cwd = os.getcwd()
        absolute = {name: os.path.join(cwd, name) for name, _ in files}
        known = cache.lookup_many([(absolute[name], st) for name, st in files])
        for name, st in files:
            sha = known.get(absolute[name])
            if sha is None:
                todo.append((name, st))
            else:
                sources.append(UploadSource(name, sha, st.st_size, Path(name), stat=st))
        if not todo:
            return sources
        with ProgressBar("hashing", sum(st.st_size for _, st in todo), progress) as bar:

            def work(entry: tuple[str, os.stat_result]) -> UploadSource:
                name, st = entry
                sha, size = sha256_and_size(name)
                source = UploadSource(name, sha, st.st_size, Path(name), stat=st)
                source.confirm(sha, size)
                cache.remember(absolute[name], st, sha)
                bar.advance(size)
                return source

            def done(
                entry: tuple[str, os.stat_result],
                source: UploadSource | None,
                exc: BaseException | None,
            ) -> None:
                if source is not None:
                    sources.append(source)
                else:
                    summary.failed.append(TransferFailure(entry[0], _message(exc), exc))

            run_parallel(todo, work, workers, done)
        return sources

    def _upload_all(
        self,
        todo: builtins.list[tuple[str, UploadSource]],
        by_key: dict[str, builtins.list[UploadSource]],
        workers: int,
        progress: bool,
        summary: TransferSummary,
    ) -> None:
        if not todo:
            return
        with ProgressBar("uploading", sum(s.size for _, s in todo), progress) as bar:

            def work(entry: tuple[str, UploadSource]) -> bool:
                key, source = entry
                return self._write(
                    key, source, overwrite=False, content_type=None, advance=bar.advance
                )

            def done(
                entry: tuple[str, UploadSource], written: bool | None, exc: BaseException | None
            ) -> None:
                key, source = entry
                group = by_key[key]
                if exc is not None:
                    summary.failed += [TransferFailure(s.name, _message(exc), exc) for s in group]
                    return
                if written:
                    summary.sent += 1
                    summary.skipped += len(group) - 1
                    summary.bytes += source.size
                else:
                    summary.skipped += len(group)
                for s in group:
                    summary.objects[s.name] = self.stored(key, s.sha256, s.size, bool(written))

            run_parallel(todo, _Breaker().guard(work), workers, done)

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
        keys.check_key(key)
        if isinstance(data, bytes | bytearray | memoryview):
            source = UploadSource.from_bytes(bytes(data), name=key)
        else:
            path = Path(data)
            try:
                st = path.stat()
                sha, size = sha256_and_size(path)
            except (FileNotFoundError, IsADirectoryError):
                raise InputError(f"{path}: no such file") from None
            source = UploadSource(str(path), sha, size, path, stat=st)
            source.confirm(sha, size)
        self.check(write=True)
        if not self._write(key, source, overwrite=overwrite, content_type=content_type):
            raise StorageError(
                f"{self.href(key)} already exists",
                hint="pass overwrite=True to replace it, or choose another key",
            )
        return self.stored(key, source.sha256, source.size, True)

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
        workers = workers or self.options.workers
        started = time.monotonic()
        summary = TransferSummary("download")
        cache = HashCache()
        todo: builtins.list[_Get] = []
        try:
            for request in requests:
                get = _Get.of(request)
                done = get.already_there(cache)
                if done is not None:
                    summary.skipped += 1
                    summary.objects[get.name] = self.stored(get.key, done, get.size or 0, False)
                else:
                    todo.append(get)
            if todo:
                self.check(write=False)
                self._download_all(todo, cache, workers, progress, summary)
        finally:
            cache.close()
        summary.seconds = time.monotonic() - started
        if summary.failed:
            raise TransferError(summary)
        return summary

    def _download_all(
        self,
        todo: builtins.list[_Get],
        cache: HashCache,
        workers: int,
        progress: bool,
        summary: TransferSummary,
    ) -> None:
        total = sum(g.size or 0 for g in todo)
        with ProgressBar("downloading", total, progress) as bar:

            def work(get: _Get) -> StoredObject:
                sha, size = self._download(get, bar.advance)
                with contextlib.suppress(OSError):
                    cache.remember(os.path.abspath(get.dest), os.stat(get.dest), sha)
                return self.stored(get.key, sha, size, True)

            def done(get: _Get, obj: StoredObject | None, exc: BaseException | None) -> None:
                if obj is None:
                    summary.failed.append(TransferFailure(get.name, _message(exc), exc))
                    return
                summary.sent += 1
                summary.bytes += obj.size
                summary.objects[get.name] = obj

            run_parallel(todo, _Breaker().guard(work), workers, done)

    def _download(self, get: _Get, advance: Callable[[int], None]) -> tuple[str, int]:
        """Fetch into a temporary file beside ``dest``, verify, rename; re-fetch once if bad."""
        dest = Path(get.dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        problem = ""
        for _ in range(2):
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            try:
                with os.fdopen(fd, "wb", buffering=0) as out:
                    sha, size = self._stream(get.key, out, advance)
                problem = get.mismatch(sha, size)
                if not problem:
                    os.replace(tmp, dest)
                    return sha, size
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        raise StorageError(
            f"{self.href(get.key)} is corrupt in the store: {problem} (fetched twice)",
            hint="run `eotdl storage verify`; the object must be uploaded again",
        )

    def _stream(self, key: str, out: _Writer, advance: Callable[[int], None]) -> tuple[str, int]:
        """Read a whole object into ``out`` while hashing; resume from the last byte on a
        transient error. Returns (sha256 hex, size)."""
        digest = hashlib.sha256()
        written = 0

        def sink(block: memoryview) -> None:
            nonlocal written
            digest.update(block)
            view = block
            while view:
                count = out.write(view)
                if count is None:  # pragma: no cover - unbuffered files always return a count
                    count = len(view)
                view = view[count:]
            written += len(block)
            advance(len(block))

        attempt = 1
        while True:
            try:
                self._read(key, sink, start=written)
                return digest.hexdigest(), written
            except Exception as exc:
                if attempt >= self.options.attempts or not self._is_transient(exc):
                    raise
                time.sleep(self.options.backoff * 2 ** (attempt - 1))
                attempt += 1

    def verify_objects(
        self,
        entries: Iterable[tuple[str, str | None, int | None]],
        workers: int | None = None,
        progress: bool = True,
    ) -> builtins.list[ObjectCheck]:
        """Re-hash objects ``(key, file:checksum or None, size or None)`` against the store."""
        todo = list(entries)
        results: builtins.list[ObjectCheck] = []
        total = sum(size or 0 for _, _, size in todo)
        if todo:
            self.check(write=False)
        with ProgressBar("verifying", total, progress) as bar:

            def work(entry: tuple[str, str | None, int | None]) -> ObjectCheck:
                key, checksum, size = entry
                get = _Get(key, "", _expected_sha(key, checksum), size)
                try:
                    sha, actual = self._stream(key, _NullWriter(), bar.advance)
                except ObjectMissingError:
                    return ObjectCheck(key, "missing", "not in the store", size, checksum)
                problem = get.mismatch(sha, actual)
                status = "corrupt" if problem else "ok"
                return ObjectCheck(key, status, problem, actual, multihash_sha256(sha))

            def done(
                entry: tuple[str, str | None, int | None],
                check: ObjectCheck | None,
                exc: BaseException | None,
            ) -> None:
                if isinstance(exc, StoreUnavailableError):
                    raise exc  # the whole store is down: not one "error" per object
                if check is None:
                    check = ObjectCheck(entry[0], "error", _message(exc))
                results.append(check)

            run_parallel(todo, _Breaker().guard(work), workers or self.options.workers, done)
        results.sort(key=lambda c: c.key)
        return results


class _Writer(Protocol):
    def write(self, data: memoryview, /) -> int | None: ...


class _NullWriter:
    def write(self, data: memoryview) -> int:
        return len(data)


def _expected_sha(key: str, checksum: str | None) -> str | None:
    if checksum:
        return sha256_of_checksum(checksum)
    return keys.sha256_of_key(key)


@dataclass
class _Get:
    key: str
    dest: str
    sha256: str | None
    size: int | None

    @classmethod
    def of(cls, request: GetRequest) -> _Get:
        key, dest, checksum, size = request
        return cls(key, os.fspath(dest), _expected_sha(key, checksum), size)

    @property
    def name(self) -> str:
        return self.dest

    def mismatch(self, sha256_hex: str, size: int) -> str:
        """Why these bytes are not the expected ones, or "" when they are."""
        if self.size is not None and size != self.size:
            return f"{size} bytes instead of {self.size}"
        if self.sha256 is not None and sha256_hex != self.sha256:
            return f"SHA-256 {sha256_hex} instead of {self.sha256}"
        return ""

    def already_there(self, cache: HashCache) -> str | None:
        """The destination's SHA-256 when it already holds the expected bytes, else None."""
        if self.sha256 is None:
            return None
        try:
            st = os.stat(self.dest)
        except OSError:
            return None
        if self.size is not None and st.st_size != self.size:
            return None
        absolute = os.path.abspath(self.dest)
        sha = cache.lookup(absolute, st)
        if sha is None:
            try:
                sha, _ = sha256_and_size(self.dest)
            except OSError:
                return None
            cache.remember(absolute, st, sha)
        if self.size is None:
            self.size = st.st_size
        return sha if sha == self.sha256 else None


def _stat_sources(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, os.stat_result]]:
    """Stat every path up front: a missing file or a folder fails before anything is sent."""
    files: list[tuple[str, os.stat_result]] = []
    problems: list[str] = []
    for path in paths:
        name = os.fspath(path)
        try:
            st = os.stat(name)
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror or exc}")
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"{name}: not a regular file")
            continue
        files.append((name, st))
    if problems:
        shown = "\n  ".join(problems[:10])
        more = f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise InputError(f"cannot upload {len(problems)} path(s):\n  {shown}{more}")
    return files


def _message(exc: BaseException | None) -> str:
    if isinstance(exc, StorageError | SourceChangedError | InputError):
        return exc.message
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"{type(exc).__name__}: {exc}"
