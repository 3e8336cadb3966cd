"""Where a reader's documents live: local paths, ``http(s)://`` URLs and ``s3://`` objects.

A *location* is a string: an absolute local path, or a URL. :func:`resolve` turns an href
found in a document into the location it points to; :class:`Reader` reads the bytes of any
location (S3 through :mod:`eotdl.storage`, the one seam for object stores).
"""

from __future__ import annotations

import http.client
import os
import posixpath
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from urllib.request import url2pathname

from eotdl import __version__
from eotdl.catalog.paths import check_link, open_readable
from eotdl.errors import InputError, StorageError
from eotdl.storage import ObjectMissingError, ObjectStore, open_store

USER_AGENT = f"eotdl/{__version__}"
#: Seconds to wait for an HTTP server to answer (EOTDL_HTTP_TIMEOUT overrides).
HTTP_TIMEOUT = float(os.environ.get("EOTDL_HTTP_TIMEOUT", "30"))


class NotFoundError(InputError):
    """A document that should be there is not (404, no such file, no such object)."""


def scheme(location: str) -> str:
    """``http``, ``https``, ``s3`` or ``file`` (local paths and ``file://`` URLs)."""
    parts = urllib.parse.urlsplit(location)
    if parts.scheme in ("http", "https", "s3"):
        return parts.scheme
    return "file"


def is_remote(location: str) -> bool:
    return scheme(location) != "file"


def local_path(location: str) -> str:
    """A local path for a path or ``file://`` URL (made absolute)."""
    parts = urllib.parse.urlsplit(location)
    if parts.scheme == "file":
        return os.path.abspath(url2pathname(parts.path))
    return os.path.abspath(os.path.expanduser(location))


def normalize(location: str) -> str:
    """Local locations as absolute paths; URLs unchanged."""
    return location if is_remote(location) else local_path(location)


def resolve(base: str, href: str) -> str:
    """The location ``href`` points to, read in the document at ``base``.

    A remote document never leads to a local file (:func:`eotdl.catalog.paths.check_link`).
    """
    return check_link(base, _resolve(base, href))


def _resolve(base: str, href: str) -> str:
    parts = urllib.parse.urlsplit(href)
    if parts.scheme in ("http", "https", "s3"):
        return href
    if parts.scheme == "file":
        return local_path(href)
    if len(parts.scheme) == 1:  # a Windows drive letter
        return href
    if is_remote(base):
        if base.startswith("s3://"):
            joined = urllib.parse.urljoin("http://" + base[5:], href)
            return "s3://" + joined[len("http://") :]
        return urllib.parse.urljoin(base, href)
    if os.path.isabs(href):
        return os.path.normpath(href)
    folder = os.path.dirname(local_path(base))
    return os.path.normpath(os.path.join(folder, urllib.parse.unquote(parts.path)))


def join(folder: str, relative: str) -> str:
    """``relative`` (a plain relative path) inside ``folder`` (a location)."""
    if is_remote(folder):
        return folder.rstrip("/") + "/" + urllib.parse.quote(relative)
    return os.path.join(local_path(folder), relative)


def parent(location: str) -> str:
    """The folder holding ``location``, with a trailing slash for URLs."""
    if is_remote(location):
        parts = urllib.parse.urlsplit(location)
        folder = posixpath.dirname(parts.path)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, folder + "/", "", ""))
    return os.path.dirname(local_path(location))


def relative_to(location: str, folder: str) -> str | None:
    """``location`` as a path relative to ``folder`` (same kind), or None if outside it."""
    if is_remote(location) != is_remote(folder):
        return None
    if is_remote(location):
        base = folder if folder.endswith("/") else folder + "/"
        if not location.startswith(base):
            return None
        return urllib.parse.unquote(location[len(base) :].split("?", 1)[0])
    rel = os.path.relpath(location, local_path(folder))
    if rel == ".." or rel.startswith(".." + os.sep):
        return None
    return rel.replace(os.sep, "/")


def split_s3(url: str) -> tuple[str, str]:
    """(bucket, key) of an ``s3://bucket/key`` URL."""
    parts = urllib.parse.urlsplit(url)
    if not parts.netloc:
        raise InputError(f"{url}: no bucket in this S3 URL", hint="use s3://bucket/key")
    return parts.netloc, urllib.parse.unquote(parts.path.lstrip("/"))


def s3_endpoint(endpoint_url: str | None = None) -> str | None:
    """The S3 endpoint to use: the one given, else ``AWS_ENDPOINT_URL(_S3)``, else AWS."""
    return (
        endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


class Reader:
    """Reads whole documents from any location; S3 buckets are opened once and shared."""

    def __init__(self, endpoint_url: str | None = None, attempts: int = 4) -> None:
        self.endpoint_url = s3_endpoint(endpoint_url)
        self.attempts = attempts
        self._stores: dict[str, ObjectStore] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        return {"endpoint_url": self.endpoint_url, "attempts": self.attempts}

    def __setstate__(self, state: dict[str, object]) -> None:
        endpoint = state.get("endpoint_url")
        self.endpoint_url = endpoint if isinstance(endpoint, str) else None
        attempts = state.get("attempts")
        self.attempts = attempts if isinstance(attempts, int) else 4
        self._stores = {}
        self._lock = threading.Lock()

    def store(self, bucket: str) -> ObjectStore:
        """The object store of one S3 bucket (opened once per reader)."""
        with self._lock:
            found = self._stores.get(bucket)
            if found is None:
                found = open_store(f"s3://{bucket}", endpoint_url=self.endpoint_url)
                self._stores[bucket] = found
            return found

    def s3_object(self, url: str) -> tuple[ObjectStore, str]:
        bucket, key = split_s3(url)
        return self.store(bucket), key

    def read_bytes(self, location: str) -> bytes:
        """The whole content; NotFoundError when it does not exist."""
        kind = scheme(location)
        if kind == "file":
            path = local_path(location)
            if not os.path.lexists(path):
                raise NotFoundError(f"{path}: no such file")
            with open_readable(path, None) as handle:  # regular files only: no FIFO, /proc
                return handle.read()
        if kind == "s3":
            store, key = self.s3_object(location)
            try:
                with store.open(key) as handle:
                    return handle.read()
            except ObjectMissingError:
                raise NotFoundError(f"{location}: no such object") from None
        return self._http_get(location)

    def exists(self, location: str) -> bool:
        """Whether the document is there (reads it for HTTP, where HEAD is often refused)."""
        kind = scheme(location)
        if kind == "file":
            return os.path.isfile(local_path(location))
        if kind == "s3":
            store, key = self.s3_object(location)
            return store.head(key) is not None
        try:
            self._http_get(location)
        except NotFoundError:
            return False
        return True

    def _http_get(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        for attempt in range(1, self.attempts + 1):
            try:
                with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                    return bytes(response.read())
            except urllib.error.HTTPError as exc:
                if exc.code in (404, 410):
                    raise NotFoundError(f"{url}: not found (HTTP {exc.code})") from None
                if exc.code < 500 and exc.code not in (408, 429) or attempt == self.attempts:
                    raise StorageError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if attempt == self.attempts:
                    reason = getattr(exc, "reason", exc)
                    raise StorageError(
                        f"cannot read {url}: {reason}", hint="is the server up and the URL right?"
                    ) from None
                if isinstance(getattr(exc, "reason", None), ConnectionRefusedError):
                    raise StorageError(
                        f"cannot read {url}: connection refused",
                        hint="is the server up and the URL right?",
                    ) from None
            time.sleep(0.2 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover
