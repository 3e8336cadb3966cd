"""Fetching the assets of an imported catalog into the builder's scratch folder.

http(s) assets are streamed to disk by :func:`eotdl.catalog.locations.download` (the one
reader: its timeout, retries and Content-Length check); ``s3://`` assets go through
:mod:`eotdl.storage`. Each href is fetched once however many items name it, in parallel. A
failure is never raised here: it is returned as a reason, so the builder can report every
missing asset at once. A host that cannot be resolved or refuses connections is not asked
again.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import urllib.parse
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eotdl.catalog.hrefkeys import key_under
from eotdl.catalog.locations import FetchError, Reader, download, is_url, split_s3
from eotdl.catalog.paths import readable_path
from eotdl.errors import EotdlError, InputError

if TYPE_CHECKING:
    from eotdl.storage import ObjectStore

_ATTEMPTS = 3
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Fetched:
    """Where an href's bytes now are (a local path, or the remote href when kept as is), or
    why they could not be had."""

    href: str | None
    reason: str = ""


@dataclass(frozen=True)
class Mirror:
    """A catalog read from an object store prefix, mirrored (JSON first, assets on demand)
    into ``root``: a missing file under ``root`` is fetched from ``store`` by its path."""

    root: Path
    store: ObjectStore
    url: str

    def key(self, path: Path) -> str | None:
        """The store key of a path under the mirror (None: outside it)."""
        return key_under(path, self.root)


class Fetcher:
    """Brings asset hrefs to local files in ``workdir`` (or keeps remote ones as they are)."""

    def __init__(
        self,
        workdir: Path,
        *,
        keep_remote: bool = False,
        workers: int = 8,
        endpoint_url: str | None = None,
        mirror: Mirror | None = None,
        root: Path | None = None,
    ) -> None:
        self.workdir = workdir
        #: The folder local hrefs must resolve inside (symlinks followed); None: anywhere,
        #: but still only regular files.
        self.root = root
        self.keep_remote = keep_remote
        self.workers = max(1, workers)
        self.endpoint_url = endpoint_url
        self.mirror = mirror
        self._done: dict[str, Fetched] = {}
        self._down_hosts: dict[str, str] = {}
        self._reader = Reader(endpoint_url)  # opens each bucket once
        self._lock = threading.Lock()

    def fetch_all(self, hrefs: Iterable[str]) -> dict[str, Fetched]:
        """Every href's outcome; hrefs already seen are not fetched again."""
        wanted = list(dict.fromkeys(hrefs))
        todo = [h for h in wanted if h not in self._done]
        if todo:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
                for href, outcome in zip(todo, pool.map(self._fetch, todo), strict=True):
                    self._done[href] = outcome
        return {h: self._done[h] for h in wanted}

    def download(self, href: str) -> Path:
        """Fetch one remote file (an archive, say) or raise EotdlError saying why not."""
        outcome = self._fetch(href)
        if outcome.href is None:
            raise EotdlError(f"{href}: could not be fetched ({outcome.reason})")
        return Path(outcome.href)

    # -- one href ---------------------------------------------------------------------

    def _fetch(self, href: str) -> Fetched:
        if is_url(href):
            return Fetched(href) if self.keep_remote else self._http(href)
        if href.startswith("s3://"):
            return Fetched(href) if self.keep_remote else self._s3(href)
        if "://" in href:
            scheme = href.split("://", 1)[0]
            return (
                Fetched(href) if self.keep_remote else Fetched(None, f"{scheme}:// not supported")
            )
        path = Path(href)
        if path.exists() or path.is_symlink():
            try:
                readable_path(path, self.root)
            except InputError as exc:
                return Fetched(None, exc.message)
            return Fetched(str(path))
        if self.mirror is not None:
            key = self.mirror.key(path)
            if key is not None:
                return self._from_store(self.mirror.store, key, path)
        if path.exists():
            return Fetched(None, "not a regular file")
        return Fetched(None, "no such file")

    def _destination(self, href: str) -> Path:
        digest = hashlib.sha256(href.encode("utf-8")).hexdigest()[:24]
        base = os.path.basename(urllib.parse.unquote(urllib.parse.urlsplit(href).path))
        name = _UNSAFE.sub("_", base).lstrip(".") or "asset"
        folder = self.workdir / "downloads" / digest
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name[-100:]

    def _http(self, url: str) -> Fetched:
        host = urllib.parse.urlsplit(url).netloc
        with self._lock:
            down = self._down_hosts.get(host)
        if down:
            return Fetched(None, down)
        dest = self._destination(url)
        try:
            download(url, dest, attempts=_ATTEMPTS)
        except FetchError as exc:
            reason = exc.message.removeprefix(f"{url}: ")
            if exc.unreachable:
                with self._lock:
                    self._down_hosts[host] = reason
            return Fetched(None, reason)
        return Fetched(str(dest))

    def _s3(self, url: str) -> Fetched:
        try:
            bucket, key = split_s3(url)
        except InputError:
            bucket = key = ""
        if not bucket or not key:
            return Fetched(None, "not an s3://bucket/key URL")
        try:
            store = self._reader.store(bucket)
        except EotdlError as exc:
            return Fetched(None, exc.message)
        return self._from_store(store, key, self._destination(url))

    def _from_store(self, store: ObjectStore, key: str, dest: Path) -> Fetched:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            store.get_file(key, dest)
        except (EotdlError, OSError) as exc:
            dest.unlink(missing_ok=True)
            message = exc.message if isinstance(exc, EotdlError) else str(exc)
            return Fetched(None, message.splitlines()[0] if message else type(exc).__name__)
        return Fetched(str(dest))
