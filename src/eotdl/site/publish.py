"""``eotdl publish``: build the site and upload it to a store any static host can serve.

The target is the lab's own store (under ``site/``) or any ``file://`` or ``s3://`` URL (a
bucket website, a folder behind nginx). Every object gets the right ``Content-Type``. A manifest
of SHA-256s (``.eotdl-publish.json`` at the target) makes a second publish send only the files
that changed and delete those that are gone. New files go first and the pages that link to them
last (``catalog.json`` and ``index.html`` at the very end), so a reader never follows a link to
an object that is not there yet.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.lab import Lab
from eotdl.catalog.store import OBJECTS, open_lab_store, public_url
from eotdl.errors import InputError, StorageError
from eotdl.site.build import SiteSummary, build_site
from eotdl.site.mediatypes import content_type
from eotdl.storage import ObjectMissingError, ObjectStore, TransferFailure, open_store
from eotdl.storage.hashcache import HashCache
from eotdl.storage.hashing import sha256_and_size
from eotdl.storage.lease import acquire_lease
from eotdl.storage.objects import Breaker
from eotdl.storage.transfer import run_parallel

MANIFEST = ".eotdl-publish.json"
#: The lease a publisher holds on its target (a second publisher is told it is busy).
LOCK = ".eotdl-publish.lock"
#: Files sent between two writes of the manifest.
FLUSH_EVERY = 200
#: The site goes to the lab store's root, beside ``objects/``: see :mod:`eotdl.catalog.store`.
LAB_STORE_PREFIX = ""


@dataclass
class PublishSummary:
    """What a publish did."""

    target: str
    uploaded: int = 0
    skipped: int = 0
    deleted: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failed: list[TransferFailure] = field(default_factory=list)
    build: SiteSummary | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "uploaded": self.uploaded,
            "skipped": self.skipped,
            "deleted": self.deleted,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "failed": [{"name": f.name, "message": f.message} for f in self.failed],
            "build": self.build.to_dict() if self.build else None,
        }


def open_target(lab: Lab, to: str | ObjectStore | None) -> tuple[ObjectStore, str, str]:
    """The store, key prefix and shown URL to publish to: ``to``, else the lab's store."""
    if isinstance(to, ObjectStore):
        return to, "", to.url
    if to:
        store = open_store(to)
        return store, "", store.url
    store = open_lab_store(lab)
    return store, LAB_STORE_PREFIX, f"{store.url.rstrip('/')}/{LAB_STORE_PREFIX}"


def check_readers_reach(lab: Lab, store: ObjectStore, prefix: str) -> None:
    """Refuse to publish a site whose asset hrefs its readers could not follow.

    The site's hrefs into the lab's store are ``objects/…`` under the site root (the one rule
    of :mod:`eotdl.catalog.store`): they resolve where the site is published at the lab
    store's root. Anywhere else they need the store's ``public_url``.
    """
    if public_url(lab):
        return
    own = open_lab_store(lab)
    if store.url.rstrip("/") == own.url.rstrip("/") and prefix == LAB_STORE_PREFIX:
        return
    if next(iter(own.list(OBJECTS + "/")), None) is None:
        return  # nothing in the store: no href of the site points there
    raise InputError(
        f"the site's assets are in the lab's store ({own.url}), which readers of"
        f" {store.url} cannot reach",
        hint='add `public_url = "https://…"` (the URL readers read the store from) under'
        " [store] in eotdl.toml and publish again, or publish to the lab's own store"
        " (`eotdl publish` with no --to)",
    )


def site_files(root: Path) -> list[str]:
    """Every file of a built site to publish ('/'-separated, relative; no dot files)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = os.path.relpath(folder, root).replace(os.sep, "/")
        for name in sorted(files):
            if not name.startswith("."):
                found.append(name if base == "." else f"{base}/{name}")
    return found


def _hash_all(root: Path, files: list[str], workers: int) -> dict[str, list[Any]]:
    """(sha256, size) of every file, through the shared hash cache."""
    cache = HashCache()
    hashes: dict[str, list[Any]] = {}
    try:
        stats = {rel: os.stat(root / rel) for rel in files}
        known = cache.lookup_many([(str(root / rel), st) for rel, st in stats.items()])

        def work(rel: str) -> list[Any]:
            path = str(root / rel)
            sha = known.get(path)
            if sha is None:
                sha, _ = sha256_and_size(path)
                cache.remember(path, stats[rel], sha)
            return [sha, stats[rel].st_size]

        def done(rel: str, value: list[Any] | None, exc: BaseException | None) -> None:
            if exc is not None:
                raise exc
            assert value is not None
            hashes[rel] = value

        run_parallel(files, work, workers, done)
    finally:
        cache.close()
    return hashes


def _read_manifest(store: ObjectStore, key: str) -> dict[str, list[Any]]:
    try:
        with store.open(key) as handle:
            data = canonical.loads(handle.read())
    except (ObjectMissingError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _order(rel: str) -> tuple[int, str]:
    """Upload order: data first, then pages, then the entry points."""
    if rel in ("catalog.json", "index.html", "search-index.json"):
        return (3, rel)
    if rel.endswith(".html") or rel.endswith("collection.json"):
        return (2, rel)
    return (1, rel)


def publish_site(
    lab: Lab,
    to: str | ObjectStore | None = None,
    *,
    build: bool = True,
    qa: bool = True,
    full: bool = False,
    force: bool = False,
    workers: int = 8,
    progress: Callable[[str], None] | None = None,
) -> PublishSummary:
    """Build the site (unless ``build`` is off) and upload what changed to ``to`` (a ``file://``
    or ``s3://`` URL or an open store; default: the lab's store under ``site/``). ``force``
    uploads everything."""
    start = time.perf_counter()
    say = progress or (lambda _: None)
    store, prefix, shown = open_target(lab, to)
    check_readers_reach(lab, store, prefix)
    summary = PublishSummary(shown)
    if build:
        summary.build = build_site(lab, qa=qa, full=full, progress=progress)
    root = lab.site_dir
    if not (root / "catalog.json").is_file():
        raise InputError(
            f"{root} holds no built site", hint="run `eotdl build`, or publish without --no-build"
        )
    files = site_files(root)
    local = _hash_all(root, files, workers)
    lease = acquire_lease(store, prefix + LOCK, f"the site at {shown}")
    store_lost = False
    try:
        store_lost = _upload(store, prefix, root, files, local, summary, force, workers, say)
    finally:
        lease.release(remove=not store_lost)  # a dead store: do not wait on it again
    summary.seconds = time.perf_counter() - start
    if summary.failed:
        lines = [f"  {f.name}: {f.message}" for f in summary.failed[:10]]
        raise StorageError(
            f"{len(summary.failed)} of {summary.uploaded + len(summary.failed)} files failed"
            f" to upload to {shown}:\n" + "\n".join(lines),
            hint="run `eotdl publish` again: what was uploaded is skipped",
        )
    return summary


def _upload(
    store: ObjectStore,
    prefix: str,
    root: Path,
    files: list[str],
    local: dict[str, list[Any]],
    summary: PublishSummary,
    force: bool,
    workers: int,
    say: Callable[[str], None],
) -> bool:
    """Send what changed, recording it in the manifest as it goes (every ``FLUSH_EVERY``
    files and after each group), so a rerun after a crash sends only what is missing. The
    first sign of a dead store stops the rest at once (the same policy as ingest); True then."""
    remote = {} if force else _read_manifest(store, prefix + MANIFEST)
    todo = sorted((rel for rel in files if remote.get(rel) != local[rel]), key=_order)
    gone = sorted(rel for rel in remote if rel not in local)
    summary.skipped = len(files) - len(todo)
    say(f"{len(todo)} files to upload, {summary.skipped} unchanged, {len(gone)} to delete")
    store.check(write=True)
    # What the target holds: kept up to date as files arrive (entries of files being replaced
    # are dropped first, so a crash mid-way never records an old hash for a new file).
    held: dict[str, list[Any]] = {rel: v for rel, v in remote.items() if rel not in todo}
    breaker = Breaker()
    since_flush = 0

    def upload(rel: str) -> None:
        store.put_named(prefix + rel, root / rel, content_type=content_type(rel), overwrite=True)

    def flush() -> None:
        nonlocal since_flush
        _write_manifest(store, prefix, held)
        since_flush = 0

    for group in (1, 2, 3):
        batch = [rel for rel in todo if _order(rel)[0] == group]

        def done(rel: str, _: None, exc: BaseException | None) -> None:
            nonlocal since_flush
            if exc is not None:
                message = exc.message if isinstance(exc, StorageError | InputError) else str(exc)
                summary.failed.append(TransferFailure(rel, message))
                return
            summary.uploaded += 1
            summary.bytes += int(local[rel][1])
            held[rel] = local[rel]
            since_flush += 1
            if since_flush >= FLUSH_EVERY and breaker.error is None:
                flush()

        run_parallel(batch, breaker.guard(upload), workers, done)
        if summary.failed:
            break
        if batch:
            flush()
    if breaker.error is not None:
        return True  # the store is gone: the last manifest written stands
    if not summary.failed:
        store.delete_many(prefix + rel for rel in gone)
        summary.deleted = len(gone)
        held = local
    _write_manifest(store, prefix, held)
    return False


def _write_manifest(store: ObjectStore, prefix: str, files: dict[str, list[Any]]) -> None:
    manifest = {"format": 1, "files": files}
    store.put_named(
        prefix + MANIFEST,
        canonical.dumps(manifest) + b"\n",
        content_type="application/json",
        overwrite=True,
    )
