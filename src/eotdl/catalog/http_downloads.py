"""Downloading files over HTTP(S): parallel, streaming, verified and resumable.

Each file streams into ``.NAME.part`` beside its destination while it is hashed, and is renamed
into place only once its size and SHA-256 match. A run that is killed leaves the ``.part``
file; the next run hashes what it holds and asks the server for the rest with a ``Range``
request. A file whose bytes are wrong is fetched once more from scratch, then reported.
Connections are kept alive, one per worker thread and server.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import random
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eotdl.catalog.locations import USER_AGENT, http_timeout, proxy_for
from eotdl.errors import StorageError
from eotdl.storage import StoredObject, TransferOptions, TransferSummary
from eotdl.storage.base import TransferFailure
from eotdl.storage.hashcache import HashCache
from eotdl.storage.hashing import CHUNK, multihash_sha256, sha256_and_size, sha256_of_checksum
from eotdl.storage.transfer import ProgressBar, run_parallel

_REDIRECTS = (301, 302, 303, 307, 308)
_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class _Transient(Exception):
    """A failure worth retrying from where the download stopped."""


@dataclass
class HttpGet:
    """One file to fetch: its URL, where it goes, and what it must hold (either may be None)."""

    url: str
    dest: str
    checksum: str | None = None
    size: int | None = None

    @property
    def sha256(self) -> str | None:
        return sha256_of_checksum(self.checksum) if self.checksum else None

    @property
    def part(self) -> Path:
        dest = Path(self.dest)
        return dest.with_name(f".{dest.name}.part")

    def mismatch(self, sha256_hex: str, size: int) -> str:
        """Why these bytes are not the expected ones, or "" when they are."""
        if self.size is not None and size != self.size:
            return f"{size} bytes instead of {self.size}"
        expected = self.sha256
        if expected is not None and sha256_hex != expected:
            return f"SHA-256 {sha256_hex} instead of {expected}"
        return ""


def already_there(get: HttpGet, cache: HashCache) -> str | None:
    """The destination's SHA-256 when it already holds the expected bytes, else None.

    With no checksum to compare, a destination of the right size (any, when that is unknown
    too) counts: files only appear there once fully downloaded.
    """
    try:
        st = os.stat(get.dest)
    except OSError:
        return None
    if get.size is not None and st.st_size != get.size:
        return None
    expected = get.sha256
    absolute = os.path.abspath(get.dest)
    sha = cache.lookup(absolute, st)
    if sha is None:
        if expected is None:
            return ""
        try:
            sha, _ = sha256_and_size(get.dest)
        except OSError:
            return None
        cache.remember(absolute, st, sha)
    return sha if expected is None or sha == expected else None


class _Connections:
    """Keep-alive connections, one per thread and server."""

    def __init__(self, options: TransferOptions) -> None:
        self.options = options
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def get(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "pool", {}
        )
        connection = pool.get((scheme, netloc))
        if connection is None:
            timeout = max(self.options.read_timeout, http_timeout())
            proxy = self.proxy(scheme, netloc)
            if scheme == "https":
                connection = http.client.HTTPSConnection(
                    proxy or netloc, timeout=timeout, context=ssl.create_default_context()
                )
                if proxy:
                    connection.set_tunnel(netloc)
            else:
                connection = http.client.HTTPConnection(proxy or netloc, timeout=timeout)
            pool[(scheme, netloc)] = connection
            with self._lock:
                self._all.append(connection)
        return connection

    @staticmethod
    def proxy(scheme: str, netloc: str) -> str | None:
        """The ``host:port`` of the proxy (from the standard variables) for this server."""
        proxy = proxy_for(f"{scheme}://{netloc}/")
        return urllib.parse.urlsplit(proxy).netloc if proxy else None

    def drop(self, scheme: str, netloc: str) -> None:
        pool = self._local.__dict__.get("pool", {})
        connection = pool.pop((scheme, netloc), None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                with contextlib.suppress(Exception):
                    connection.close()
            self._all.clear()


class HttpDownloader:
    """Fetches many files from HTTP(S) servers at once."""

    def __init__(self, options: TransferOptions | None = None) -> None:
        self.options = options or TransferOptions()
        self._connections = _Connections(self.options)

    def get_files(
        self, requests: Iterable[HttpGet], workers: int | None = None, progress: bool = True
    ) -> TransferSummary:
        """Download every request (skipping those already there); failures are in the summary."""
        workers = workers or self.options.workers
        started = time.monotonic()
        summary = TransferSummary("download")
        cache = HashCache()
        todo: list[HttpGet] = []
        try:
            for get in requests:
                sha = already_there(get, cache)
                if sha is None:
                    todo.append(get)
                    continue
                summary.skipped += 1
                summary.objects[get.dest] = _stored(get, sha, os.stat(get.dest).st_size, False)
            total = sum(g.size or 0 for g in todo)
            lock = threading.Lock()
            with ProgressBar("downloading", total, progress) as bar:

                def work(get: HttpGet) -> StoredObject:
                    sha, size, sent = self._download(get, bar.advance)
                    with contextlib.suppress(OSError):
                        cache.remember(os.path.abspath(get.dest), os.stat(get.dest), sha)
                    with lock:
                        summary.bytes += sent
                    return _stored(get, sha, size, True)

                def done(get: HttpGet, obj: StoredObject | None, exc: BaseException | None) -> None:
                    if obj is None:
                        summary.failed.append(TransferFailure(get.dest, _message(get, exc)))
                        return
                    summary.sent += 1
                    summary.objects[get.dest] = obj

                run_parallel(todo, work, workers, done)
        finally:
            cache.close()
            self._connections.close()
        summary.seconds = time.monotonic() - started
        return summary

    def _download(self, get: HttpGet, advance: Callable[[int], None]) -> tuple[str, int, int]:
        """Fetch (resuming a ``.part`` file), verify, rename; once more from scratch if wrong.

        Returns (sha256 hex, size, bytes actually received).
        """
        Path(get.dest).parent.mkdir(parents=True, exist_ok=True)
        received = 0
        problem = ""
        for fresh in (False, True):
            if fresh:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(get.part)
            sha, size, count = self._fetch(get, advance)
            received += count
            problem = get.mismatch(sha, size)
            if not problem:
                os.replace(get.part, get.dest)
                return sha, size, received
        with contextlib.suppress(FileNotFoundError):
            os.unlink(get.part)
        raise StorageError(
            f"{get.url} is corrupt at the source: {problem} (fetched twice)",
            hint="the dataset's publisher must fix or re-upload this file",
        )

    def _fetch(self, get: HttpGet, advance: Callable[[int], None]) -> tuple[str, int, int]:
        """Stream ``get.url`` into its ``.part`` file from where it stopped, retrying."""
        state = _resume(get)
        if state.written:
            advance(state.written)
        with open(get.part, "ab", buffering=0) as out:
            attempt = 1
            while True:
                try:
                    self._stream(get, out, state, advance)
                    return state.digest.hexdigest(), state.written, state.received
                except _Transient as exc:
                    if attempt >= self.options.attempts:
                        raise StorageError(f"{get.url}: {exc} (tried {attempt} times)") from None
                    delay = self.options.backoff * 2 ** (attempt - 1)
                    time.sleep(delay * (0.5 + random.random()))
                    attempt += 1

    def _stream(
        self, get: HttpGet, out: _Appender, state: _State, advance: Callable[[int], None]
    ) -> None:
        """One request for the bytes from ``state.written`` on, appended to ``out``."""
        url = get.url
        for _ in range(6):
            parts = urllib.parse.urlsplit(url)
            path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
            if parts.scheme == "http" and self._connections.proxy(parts.scheme, parts.netloc):
                path = urllib.parse.urlunsplit((*parts[:2], parts.path or "/", parts.query, ""))
            headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
            if state.written:
                headers["Range"] = f"bytes={state.written}-"
            connection = self._connections.get(parts.scheme, parts.netloc)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self._connections.drop(parts.scheme, parts.netloc)
                if isinstance(exc, ConnectionRefusedError):
                    refused = StorageError(f"{url}: connection refused", hint="is the server up?")
                    raise refused from None
                raise _Transient(f"request failed: {exc}") from None
            status = response.status
            if status in _REDIRECTS:
                response.read()
                location = response.getheader("Location")
                if not location:
                    raise StorageError(f"{url}: HTTP {status} with no Location")
                url = urllib.parse.urljoin(url, location)
                continue
            try:
                if status == 416 and state.written:
                    response.read()
                    return  # the part file already holds everything
                if status == 200 and state.written:
                    out.truncate(0)  # the server ignored Range: start again
                    state.digest = hashlib.sha256()
                    state.written = 0
                elif status == 206:
                    start = _range_start(response.getheader("Content-Range"))
                    if start != state.written:
                        raise _Transient(f"server resumed at byte {start}, not {state.written}")
                elif status != 200:
                    response.read()
                    if status in _TRANSIENT_STATUS:
                        raise _Transient(f"HTTP {status} {response.reason}")
                    raise StorageError(f"{url}: HTTP {status} {response.reason}")
                length = response.getheader("Content-Length")
                expected = int(length) if length and length.isdigit() else None
                count = 0
                while response.length is None or response.length > 0:
                    block = response.read1(CHUNK)  # what has arrived: lands on disk now
                    if not block:
                        break
                    out.write(block)
                    state.digest.update(block)
                    state.written += len(block)
                    state.received += len(block)
                    count += len(block)
                    advance(len(block))
                response.close()  # fully read: the connection is free for the next request
                if expected is not None and count < expected:
                    raise _Transient(f"connection closed after {count} of {expected} bytes")
                return
            except (OSError, http.client.HTTPException) as exc:
                self._connections.drop(parts.scheme, parts.netloc)
                raise _Transient(f"connection lost: {exc}") from None
            except BaseException:
                self._connections.drop(parts.scheme, parts.netloc)
                raise
        raise StorageError(f"{get.url}: too many redirects")


class _Appender(Protocol):
    """What ``_stream`` writes into (a binary file opened for appending)."""

    def write(self, data: bytes, /) -> int | None: ...

    def truncate(self, size: int, /) -> int: ...


@dataclass
class _State:
    """A download in progress: the hash and size of what the ``.part`` file holds."""

    digest: Any = field(default_factory=hashlib.sha256)
    written: int = 0
    received: int = 0


def _resume(get: HttpGet) -> _State:
    """Hash what a previous run left in the ``.part`` file."""
    state = _State()
    try:
        size = os.stat(get.part).st_size
    except FileNotFoundError:
        return state
    if get.size is not None and size > get.size:
        os.unlink(get.part)
        return state
    with open(get.part, "rb", buffering=0) as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                break
            state.digest.update(block)
    state.written = size
    return state


def _range_start(header: str | None) -> int:
    if not header or not header.startswith("bytes "):
        return -1
    try:
        return int(header[6:].split("-", 1)[0])
    except ValueError:
        return -1


def _stored(get: HttpGet, sha: str, size: int, sent: bool) -> StoredObject:
    checksum = multihash_sha256(sha) if sha else (get.checksum or "")
    return StoredObject(get.url, get.url, checksum, size, sent)


def _message(get: HttpGet, exc: BaseException | None) -> str:
    if isinstance(exc, StorageError):
        return exc.message
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"{get.url}: {type(exc).__name__}: {exc}"
