"""Uploads built once for every backend: content-addressed, hashed, deduplicated, checked
for existence in bulk, sent in parallel; and named (not content-addressed) writes."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from eotdl.errors import InputError
from eotdl.storage import keys
from eotdl.storage.hashcache import HashCache
from eotdl.storage.hashing import sha256_and_size
from eotdl.storage.objects import (
    Breaker,
    ObjectExistsError,
    ObjectInfo,
    StoredObject,
    TransferError,
    TransferFailure,
    TransferSummary,
    message_of,
)
from eotdl.storage.source import UploadSource
from eotdl.storage.transfer import ProgressBar, run_parallel

if TYPE_CHECKING:
    from eotdl.storage.base import ObjectStore


def put_files(
    store: ObjectStore,
    paths: Iterable[str | os.PathLike[str]],
    workers: int | None = None,
    progress: bool = True,
) -> TransferSummary:
    """Upload files under content-addressed keys, in parallel, skipping what is there.

    Raises TransferError (with the summary) if any file failed; the others are stored.
    """
    workers = workers or store.options.workers
    started = time.monotonic()
    summary = TransferSummary("upload")
    files = _stat_sources(paths)
    cache = HashCache()
    try:
        sources = _hash_sources(store, files, cache, workers, progress, summary)
    finally:
        cache.close()
    by_key: dict[str, list[UploadSource]] = {}
    for source in sources:
        by_key.setdefault(keys.content_key(source.sha256, source.name), []).append(source)
    if by_key:
        store.check(write=True)
    present = store.existing(by_key) if len(by_key) > 1 else _head_one(store, by_key)
    todo: list[tuple[str, UploadSource]] = []
    damaged: set[str] = set()
    for key, group in by_key.items():
        info = present.get(key)
        if info is None:
            todo.append((key, group[0]))
        elif info.size != group[0].size:
            # The stored object is damaged (its size is not that of the bytes its key names):
            # we hold the right bytes, hashed, so they replace it. Only the size is compared
            # here; `eotdl storage verify` re-hashes and `eotdl storage repair` fixes the rest.
            damaged.add(key)
            todo.append((key, group[0]))
        else:
            summary.skipped += len(group)
            for s in group:
                summary.objects[s.name] = store.stored(key, s.sha256, s.size, False)
    _upload_all(store, todo, by_key, workers, progress, summary, damaged)
    summary.seconds = time.monotonic() - started
    if summary.failed:
        raise TransferError(summary)
    return summary


def _head_one(store: ObjectStore, by_key: dict[str, list[UploadSource]]) -> dict[str, ObjectInfo]:
    found = {}
    for key in by_key:
        info = store.head(key)
        if info is not None:
            found[key] = info
    return found


def _hash_sources(
    store: ObjectStore,
    files: list[tuple[str, os.stat_result]],
    cache: HashCache,
    workers: int,
    progress: bool,
    summary: TransferSummary,
) -> list[UploadSource]:
    todo: list[tuple[str, os.stat_result]] = []
    sources: list[UploadSource] = []
    cwd = os.getcwd()
    absolute = {name: os.path.join(cwd, name) for name, _ in files}
    known = cache.lookup_many([(absolute[name], st) for name, st in files])
    for name, st in files:
        sha = known.get(absolute[name])
        if sha is None:
            todo.append((name, st))
        else:
            sources.append(UploadSource(name, sha, st.st_size, name, stat=st))
    if not todo:
        return sources
    with ProgressBar("hashing", sum(st.st_size for _, st in todo), progress) as bar:

        def work(entry: tuple[str, os.stat_result]) -> UploadSource:
            name, st = entry
            sha, size = sha256_and_size(name)
            source = UploadSource(name, sha, st.st_size, name, stat=st)
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
                summary.failed.append(TransferFailure(entry[0], message_of(exc), exc))

        run_parallel(todo, work, workers, done)
    return sources


def _upload_all(
    store: ObjectStore,
    todo: list[tuple[str, UploadSource]],
    by_key: dict[str, list[UploadSource]],
    workers: int,
    progress: bool,
    summary: TransferSummary,
    damaged: set[str] | None = None,
) -> None:
    if not todo:
        return
    damaged = damaged or set()
    with ProgressBar("uploading", sum(s.size for _, s in todo), progress) as bar:

        def work(entry: tuple[str, UploadSource]) -> bool:
            key, source = entry
            return store._write(
                key, source, overwrite=key in damaged, content_type=None, advance=bar.advance
            )

        def done(
            entry: tuple[str, UploadSource], written: bool | None, exc: BaseException | None
        ) -> None:
            key, source = entry
            group = by_key[key]
            if exc is not None:
                summary.failed += [TransferFailure(s.name, message_of(exc), exc) for s in group]
                return
            if written and key in damaged:
                summary.repaired += 1
            if written:
                summary.sent += 1
                summary.skipped += len(group) - 1
                summary.bytes += source.size
            else:
                summary.skipped += len(group)
            for s in group:
                summary.objects[s.name] = store.stored(key, s.sha256, s.size, bool(written))

        run_parallel(todo, Breaker().guard(work), workers, done)


def put_named(
    store: ObjectStore,
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
    store.check(write=True)
    if not store._write(key, source, overwrite=overwrite, content_type=content_type):
        raise ObjectExistsError(
            f"{store.href(key)} already exists",
            hint="pass overwrite=True to replace it, or choose another key",
        )
    return store.stored(key, source.sha256, source.size, True)


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
