"""Downloads and re-hashing built once for every backend: streamed into a temporary file
while hashing, verified, renamed; resumed from the last byte after a transient error."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from eotdl.errors import StorageError
from eotdl.storage import keys
from eotdl.storage.hashcache import HashCache
from eotdl.storage.hashing import multihash_sha256, sha256_and_size, sha256_of_checksum
from eotdl.storage.objects import (
    Breaker,
    GetRequest,
    ObjectCheck,
    ObjectMissingError,
    StoredObject,
    StoreUnavailableError,
    TransferError,
    TransferFailure,
    TransferSummary,
    message_of,
)
from eotdl.storage.transfer import ProgressBar, run_parallel

if TYPE_CHECKING:
    from eotdl.storage.base import ObjectStore


def get_files(
    store: ObjectStore,
    requests: Iterable[GetRequest],
    workers: int | None = None,
    progress: bool = True,
) -> TransferSummary:
    """Download objects in parallel, each verified against its checksum and size.

    The checksum defaults to the one a content-addressed key names. A destination that
    already holds the right bytes is skipped. Raises TransferError if any failed.
    """
    workers = workers or store.options.workers
    started = time.monotonic()
    summary = TransferSummary("download")
    cache = HashCache()
    todo: list[_Get] = []
    try:
        for request in requests:
            get = _Get.of(request)
            done = get.already_there(cache)
            if done is not None:
                summary.skipped += 1
                summary.objects[get.name] = store.stored(get.key, done, get.size or 0, False)
            else:
                todo.append(get)
        if todo:
            store.check(write=False)
            _download_all(store, todo, cache, workers, progress, summary)
    finally:
        cache.close()
    summary.seconds = time.monotonic() - started
    if summary.failed:
        raise TransferError(summary)
    return summary


def _download_all(
    store: ObjectStore,
    todo: list[_Get],
    cache: HashCache,
    workers: int,
    progress: bool,
    summary: TransferSummary,
) -> None:
    total = sum(g.size or 0 for g in todo)
    with ProgressBar("downloading", total, progress) as bar:

        def work(get: _Get) -> StoredObject:
            sha, size = _download(store, get, bar.advance)
            with contextlib.suppress(OSError):
                cache.remember(os.path.abspath(get.dest), os.stat(get.dest), sha)
            return store.stored(get.key, sha, size, True)

        def done(get: _Get, obj: StoredObject | None, exc: BaseException | None) -> None:
            if obj is None:
                summary.failed.append(TransferFailure(get.name, message_of(exc), exc))
                return
            summary.sent += 1
            summary.bytes += obj.size
            summary.objects[get.name] = obj

        run_parallel(todo, Breaker().guard(work), workers, done)


def _download(store: ObjectStore, get: _Get, advance: Callable[[int], None]) -> tuple[str, int]:
    """Fetch into a temporary file beside ``dest``, verify, rename; re-fetch once if bad."""
    dest = Path(get.dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    problem = ""
    for _ in range(2):
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                sha, size = stream(store, get.key, out, advance)
            problem = get.mismatch(sha, size)
            if not problem:
                os.replace(tmp, dest)
                return sha, size
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    raise StorageError(
        f"{store.href(get.key)} is corrupt in the store: {problem} (fetched twice)",
        hint="run `eotdl storage verify`; the object must be uploaded again",
    )


def stream(
    store: ObjectStore, key: str, out: _Writer, advance: Callable[[int], None]
) -> tuple[str, int]:
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
            store._read(key, sink, start=written)
            return digest.hexdigest(), written
        except Exception as exc:
            if attempt >= store.options.attempts or not store._is_transient(exc):
                raise
            time.sleep(store.options.backoff * 2 ** (attempt - 1))
            attempt += 1


def verify_objects(
    store: ObjectStore,
    entries: Iterable[tuple[str, str | None, int | None]],
    workers: int | None = None,
    progress: bool = True,
) -> list[ObjectCheck]:
    """Re-hash objects ``(key, file:checksum or None, size or None)`` against the store."""
    todo = list(entries)
    results: list[ObjectCheck] = []
    total = sum(size or 0 for _, _, size in todo)
    if todo:
        store.check(write=False)
    with ProgressBar("verifying", total, progress) as bar:

        def work(entry: tuple[str, str | None, int | None]) -> ObjectCheck:
            key, checksum, size = entry
            get = _Get(key, "", _expected_sha(key, checksum), size)
            try:
                sha, actual = stream(store, key, _NullWriter(), bar.advance)
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
                check = ObjectCheck(entry[0], "error", message_of(exc))
            results.append(check)

        run_parallel(todo, Breaker().guard(work), workers or store.options.workers, done)
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
