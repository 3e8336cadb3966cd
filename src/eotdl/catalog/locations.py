"""Locations, and the one reader of their bytes: local paths, ``file://``, ``http(s)://``, ``s3://``.

A *location* is a string: a local path, or a URL. :func:`resolve` turns an href found in a
document into the location it points to (through :func:`eotdl.catalog.paths.check_link`, so a
remote document never leads to a local file); :class:`Reader` reads the bytes of any location
(S3 through :mod:`eotdl.storage`, the one seam for object stores).

Every HTTP request eotdl makes goes through :func:`open_url`: one timeout
(``EOTDL_HTTP_TIMEOUT``, default :data:`DEFAULT_TIMEOUT` seconds), one user agent
(``eotdl/<version>``), retries with backoff on transient failures (connection reset, 408, 429,
5xx; not timeouts, which would only multiply the wait) and the standard proxy variables
(``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``), read at each request. :func:`http_get` reads
a document (size-limited), :func:`download` streams one to a file. The parallel, resumable
downloader (:mod:`eotdl.catalog.http_downloads`) keeps its own connections but takes the same
timeout, user agent and proxy (:func:`proxy_for`); GDAL takes them from :func:`gdal_http_options`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import posixpath
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast
from urllib.request import url2pathname

from eotdl import __version__
from eotdl.catalog.paths import check_link, open_readable
from eotdl.errors import InputError

if TYPE_CHECKING:
    from eotdl.storage import ObjectStore

USER_AGENT = f"eotdl/{__version__}"
#: Seconds to wait for an HTTP server to answer when ``EOTDL_HTTP_TIMEOUT`` is not set.
DEFAULT_TIMEOUT = 30.0
#: Tries of one request (the first included) before a transient failure is reported.
ATTEMPTS = 4
#: HTTP statuses worth asking again: the server is busy or failed, not the request.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CHUNK = 1 << 20


class FetchError(InputError):
    """A URL that could not be read; ``status`` is the HTTP status when the server answered,
    ``unreachable`` says the host is unknown or refuses connections (asking again is useless)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.unreachable = unreachable


class NotFoundError(FetchError):
    """A document that should be there is not (404, no such file, no such object)."""


def http_timeout() -> float:
    """Seconds to wait for an HTTP server: ``EOTDL_HTTP_TIMEOUT``, else the default."""
    value = os.environ.get("EOTDL_HTTP_TIMEOUT", "").strip()
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise InputError(
            f"EOTDL_HTTP_TIMEOUT={value!r} is not a number of seconds",
            hint="set it to a positive number such as 30, or unset it",
        ) from None
    if seconds <= 0:
        raise InputError(
            f"EOTDL_HTTP_TIMEOUT={value!r} must be positive", hint="use e.g. 30, or unset it"
        )
    return seconds


def _opener() -> urllib.request.OpenerDirector:
    """An opener honouring the proxy variables as they are now (urllib's global opener reads
    them once, at its first use)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler())


def proxy_for(url: str) -> str | None:
    """The proxy URL the standard variables give for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``), or None when there is none or ``NO_PROXY`` names its host: for clients
    that open connections themselves (:mod:`eotdl.catalog.http_downloads`)."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # not in stubs
    if not proxy or bypass(parts.hostname or "", proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def is_url(target: str) -> bool:
    """Whether ``target`` is an ``http(s)://`` URL."""
    return urllib.parse.urlsplit(target).scheme in ("http", "https")


@contextlib.contextmanager
def open_url(
    url: str, *, attempts: int = ATTEMPTS, headers: dict[str, str] | None = None
) -> Iterator[http.client.HTTPResponse]:
    """The response to ``GET url``, after retrying transient failures with backoff.

    Failures raise :class:`FetchError` naming the URL (:class:`NotFoundError` for 404/410).
    Only opening is retried: a failure while the body is read is the caller's to handle.
    """
    try:
        if not is_url(url):
            raise FetchError(f"{url}: not an http(s) URL")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    except ValueError as exc:  # a malformed URL
        raise FetchError(f"{url}: not a valid URL ({exc})") from None
    timeout = http_timeout()
    opener = _opener()
    for attempt in range(1, attempts + 1):
        try:
            response = opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (404, 410):
                raise NotFoundError(
                    f"{url}: HTTP {exc.code} {exc.reason}", status=exc.code
                ) from None
            if exc.code not in TRANSIENT_STATUS or attempt == attempts:
                raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}", status=exc.code) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            unreachable = isinstance(reason, (socket.gaierror, ConnectionRefusedError))
            # a timeout is not retried: asking again would only multiply the wait
            if unreachable or isinstance(reason, TimeoutError) or attempt == attempts:
                raise FetchError(
                    f"{url}: could not be fetched ({reason})",
                    hint="is the server up and the URL right?",
                    unreachable=unreachable,
                ) from None
        except ValueError as exc:  # a malformed URL
            raise FetchError(f"{url}: not a valid URL ({exc})") from None
        else:
            with response:
                yield cast(http.client.HTTPResponse, response)
            return
        time.sleep(0.2 * 2 ** (attempt - 1))


def http_get(url: str, *, limit: int | None = None, attempts: int = ATTEMPTS) -> bytes:
    """The body of ``GET url``; FetchError when it fails or holds more than ``limit`` bytes."""
    for attempt in range(1, attempts + 1):
        with open_url(url, attempts=attempts) as response:
            try:
                data = response.read() if limit is None else response.read(limit + 1)
            except (http.client.HTTPException, OSError) as exc:
                if attempt == attempts or isinstance(exc, TimeoutError):
                    raise FetchError(f"{url}: transfer failed ({exc!r})") from None
                time.sleep(0.2 * 2 ** (attempt - 1))
                continue
        if limit is not None and len(data) > limit:
            raise FetchError(f"{url}: larger than the {limit // (1024 * 1024)} MiB limit")
        return bytes(data)
    raise AssertionError("unreachable")  # pragma: no cover


def download(url: str, dest: str | os.PathLike[str], *, attempts: int = ATTEMPTS) -> int:
    """Stream ``url`` into ``dest`` (never whole in memory, through ``DEST.part``); its size.

    A body shorter than its Content-Length is fetched again; nothing is left at ``dest`` or
    ``DEST.part`` when every try fails.
    """
    target = Path(dest)
    partial = target.with_name(target.name + ".part")
    reason = ""
    try:
        for attempt in range(1, attempts + 1):
            with open_url(url, attempts=attempts) as response:
                expected = response.headers.get("Content-Length")
                try:
                    written = _stream_to(response, partial)
                except (http.client.HTTPException, OSError) as exc:
                    reason = f"transfer failed ({exc!r})"
                    written = -1
            if written >= 0:
                if expected is None or not expected.isdigit() or written == int(expected):
                    os.replace(partial, target)
                    return written
                reason = f"truncated: {written} of {expected} bytes"
            if attempt < attempts:
                time.sleep(0.2 * 2 ** (attempt - 1))
        raise FetchError(f"{url}: {reason}")
    except BaseException:
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise


def _stream_to(response: IO[bytes], path: Path) -> int:
    written = 0
    with open(path, "wb") as out:
        while block := response.read(_CHUNK):
            out.write(block)
            written += len(block)
    return written


#: File extensions GDAL may open through ``/vsicurl/`` besides the one of the URL read.
RASTER_EXTENSIONS = (".tif", ".tiff", ".TIF", ".TIFF")


def gdal_http_options(href: str | None = None) -> dict[str, str]:
    """GDAL settings for reading rasters over HTTP with this reader's timeout and user agent:
    no directory listings, merged range requests, a few retries; ``href``'s file extension is
    allowed through ``/vsicurl/``. (GDAL reads the proxy variables itself, through curl.)"""
    options = {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_HTTP_MULTIPLEX": "YES",
        "GDAL_HTTP_MAX_RETRY": str(ATTEMPTS - 1),
        "GDAL_HTTP_RETRY_DELAY": "1",
        "GDAL_HTTP_TIMEOUT": str(max(1, round(http_timeout()))),
        "GDAL_HTTP_USERAGENT": USER_AGENT,
        "VSI_CACHE": "TRUE",
    }
    suffix = posixpath.splitext(urllib.parse.urlsplit(href).path)[1] if href else ""
    if suffix:
        allowed = list(RASTER_EXTENSIONS)
        if suffix not in allowed:
            allowed.append(suffix)
        options["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] = ",".join(allowed)
    return options


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
    if len(parts.scheme) == 1 or "://" in href:  # a Windows drive letter; gs://, ftp://…
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

    def __init__(self, endpoint_url: str | None = None, attempts: int = ATTEMPTS) -> None:
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
        self.attempts = attempts if isinstance(attempts, int) else ATTEMPTS
        self._stores = {}
        self._lock = threading.Lock()

    def store(self, bucket: str) -> ObjectStore:
        """The object store of one S3 bucket (opened once per reader)."""
        with self._lock:
            found = self._stores.get(bucket)
            if found is None:
                from eotdl.storage import open_store

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
            from eotdl.storage import ObjectMissingError

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
        return http_get(url, attempts=self.attempts)
