"""The one HTTP server of eotdl: a built site's files, served as a static host would, with an
optional application answering first (the STAC API of ``eotdl serve``; none for ``preview``).

The standard library's ``http.server``, hardened for clients that misbehave:

- a listen backlog of :data:`LISTEN_BACKLOG` and a fixed pool of :data:`WORKERS` threads; a
  poller thread holds every connection between requests, so idle keep-alive clients hold no
  thread; requests wait for a worker in a bounded queue (beyond it: 503);
- socket timeouts (:data:`SOCKET_TIMEOUT`) for idle and slow clients, and deadlines for a
  whole request: its line and headers must arrive within :data:`HEADER_SECONDS` of its first
  byte and its body within :data:`BODY_SECONDS`, so a client that trickles a byte at a time
  (slowloris) holds a worker that long at most, then gets a 408;
- a request target (path and query string) of at most :data:`MAX_TARGET` bytes (414), a body
  of at most :data:`MAX_BODY` bytes (413), refused before it is read; a ``Content-Length`` that
  is not a plain number (negative, garbage, repeated with different values) is a 400, and a
  chunked body a 411; each of these closes the connection;
- every error is JSON ``{"code": …, "description": …}``, never an HTML page or a traceback.

Files: content types from :mod:`eotdl.catalog.mediatypes`, ``index.html`` for folders (a
folder without its slash is redirected), the site's ``404.html`` for what is missing, single
byte ranges, ``ETag``/``If-None-Match``, streamed with ``sendfile`` (never read whole), permissive
CORS; nothing outside the site, no listings, and no dot files (build metadata) are served.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import queue
import re
import selectors
import socket
import stat
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import orjson

from eotdl import __version__
from eotdl.catalog.mediatypes import content_type

#: Connections the kernel queues before ``accept`` (capped by net.core.somaxconn).
LISTEN_BACKLOG = 1024
#: Threads answering requests; more clients than this wait in the queue below.
WORKERS = 64
#: Requests that have arrived and wait for a worker; beyond this a client gets a 503.
WAITING = 1024
#: Open connections with no request in flight; beyond this the oldest are closed.
MAX_IDLE = 10_000
#: Seconds a client may stay silent while we wait for (or send) bytes.
SOCKET_TIMEOUT = 15.0
#: Seconds from a request's first byte to the end of its headers, however it trickles in.
HEADER_SECONDS = 10.0
#: Seconds for a request body to arrive, once the headers have.
BODY_SECONDS = 30.0
#: Largest request body (a POST /search is a few KB).
MAX_BODY = 1 << 20
#: Longest request target: path plus query string.
MAX_TARGET = 8 * 1024
#: After an error, how long (and how many bytes) to read what the client still sends, so it
#: can read our answer before the connection closes.
LINGER_SECONDS = 1.0
LINGER_BYTES = 8 << 20

JSON = "application/json"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_LENGTH = re.compile(r"^[0-9]{1,18}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_ERROR_CODES = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    411: "LengthRequired",
    413: "PayloadTooLarge",
    414: "URITooLong",
    416: "RangeNotSatisfiable",
    431: "RequestHeaderFieldsTooLarge",
    500: "ServerError",
    501: "NotImplemented",
    503: "ServiceUnavailable",
    505: "HTTPVersionNotSupported",
}


@dataclass
class Response:
    """What the server sends: a status, a body and headers."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """One request, as an application sees it (the body already read, within limits)."""

    method: str
    target: str
    body: bytes
    base_url: str
    headers: Message

    @property
    def path(self) -> str:
        """The target's path, still percent-encoded."""
        return urllib.parse.urlsplit(self.target).path or "/"

    @property
    def query(self) -> str:
        return urllib.parse.urlsplit(self.target).query


#: An application: answers a request, or returns None to let the site's files answer it.
App = Callable[[Request], Response | None]


def error_response(status: int, description: str, code: str | None = None) -> Response:
    """A JSON error answer."""
    body = {"code": code or _ERROR_CODES.get(status, "Error"), "description": description}
    return Response(status, orjson.dumps(body))


# -- files ----------------------------------------------------------------------------------


@dataclass
class Found:
    """Where a URL path leads in the site: a file, a redirect, or nothing (``path`` None)."""

    path: Path | None = None
    redirect: str | None = None
    name: str = ""  # the path in the site (for the content type), e.g. items/a.json


class SiteFiles:
    """The files of a site folder as a static host exposes them."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        from eotdl.catalog.store import objects_mount

        self.root = Path(os.path.realpath(root))
        # The one link a site may hold: ``objects`` -> the store's objects (catalog.store's
        # rule for where bytes are). Files may resolve inside the site or inside that folder.
        mount = objects_mount(self.root)
        self.allowed = [str(self.root)] + ([os.path.realpath(mount)] if mount else [])

    def locate(self, url_path: str) -> Found:
        """The file for ``url_path`` (percent-encoded, from the request)."""
        decoded = urllib.parse.unquote(url_path, errors="strict") if "%" in url_path else url_path
        if "\x00" in decoded or not decoded.startswith("/"):
            return Found()
        parts = [p for p in decoded.split("/") if p]
        if any(p.startswith(".") or "\\" in p for p in parts):
            return Found()  # dot files (build metadata), '..', and Windows separators
        candidate = self.root.joinpath(*parts)
        name = "/".join(parts)
        if candidate.is_dir():
            if not decoded.endswith("/"):
                return Found(redirect=url_path + "/")
            candidate = candidate / "index.html"
            name = f"{name}/index.html".lstrip("/")
        real = os.path.realpath(candidate)
        if not any(real.startswith(folder + os.sep) for folder in self.allowed):
            return Found()  # a link out of the site (other than to the store's objects)
        try:
            info = os.stat(real)
        except (OSError, ValueError):
            return Found()
        if not stat.S_ISREG(info.st_mode):
            return Found()
        return Found(Path(real), name=name)

    def not_found_page(self) -> Path | None:
        page = self.root / "404.html"
        return page if page.is_file() else None


def _parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end) of one byte range; None to ignore the header; False when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match or not any(match.groups()):
        return None  # a form we do not serve (several ranges, other units): send it all
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    else:
        if int(last) == 0:
            return False
        start, end = max(0, size - int(last)), size - 1
    if start >= size:
        return False
    return start, end


# -- the handler ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: SiteServer
    protocol_version = "HTTP/1.1"
    server_version = f"eotdl/{__version__}"
    timeout = SOCKET_TIMEOUT
    #: Headers and body go out as separate writes: without this, Nagle's algorithm and
    #: delayed ACKs add 40 ms to every keep-alive answer.
    disable_nagle_algorithm = True
    _linger = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        if self.server.log:
            super().log_message(format, *args)

    def setup(self) -> None:
        super().setup()
        self.rfile = _DeadlineReader(self.rfile, self.connection)  # type: ignore[assignment]
        self._answered = False

    def handle_one_request(self) -> None:
        reader: _DeadlineReader = self.rfile  # type: ignore[assignment]
        reader.start(self.server.header_seconds)
        self._answered = False
        # nothing of an earlier request on this connection may shape the answer to this one
        self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""
        super().handle_one_request()
        if reader.expired and not self._answered:
            self._fail(error_response(408, "the request did not arrive in time"))

    # -- protocol errors, all as JSON -------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        status = HTTPStatus(code)
        description = message or status.phrase
        if code == 414:
            description = f"the request target is longer than {MAX_TARGET} bytes"
        self._fail(error_response(code, description))

    def _fail(self, response: Response) -> None:
        """Send an error and close the connection (after reading what is left, a little)."""
        self.close_connection = True
        self._linger = True
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # no client speaks 0.9: send a status line
        with contextlib.suppress(OSError):
            self._send(response)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if len(self.path) > MAX_TARGET:
            self.send_error(414)
            return False
        return True

    def handle_expect_100(self) -> bool:
        problem = self._body_problem()
        if problem is not None:
            self._fail(problem)
            return False
        return super().handle_expect_100()

    def _body_problem(self) -> Response | None:
        """Why the announced body is refused, before reading any of it."""
        if self.headers.get("Transfer-Encoding"):
            return error_response(411, "send the body with a Content-Length, not chunked")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return None
        text = values[0].strip()
        if any(v.strip() != text for v in values) or not _LENGTH.match(text):
            return error_response(400, f"invalid Content-Length {values[0]!r}")
        if int(text) > MAX_BODY:
            return error_response(413, f"the request body is larger than {MAX_BODY} bytes")
        return None

    def _read_body(self) -> bytes | None:
        """The request body (b"" when none), or None when refused or cut short."""
        problem = self._body_problem()
        if problem is not None:
            self._fail(problem)
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return b""
        reader: _DeadlineReader = self.rfile  # type: ignore[assignment]
        reader.start(self.server.body_seconds)
        try:
            data = self.rfile.read(length)
        except TimeoutError:
            self._fail(error_response(408, "the request body did not arrive in time"))
            return None
        if len(data) < length:
            self.close_connection = True
            return None
        return data

    # -- answering --------------------------------------------------------------------------

    def _base_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url
        host = self.headers.get("X-Forwarded-Host") or self.headers.get("Host") or ""
        if not _HOST.match(host):
            host = self.server.host_and_port
        proto = self.headers.get("X-Forwarded-Proto")
        return f"{proto if proto in ('http', 'https') else 'http'}://{host}"

    def _send(self, response: Response, length: int | None = None) -> None:
        self._answered = True
        reader: _DeadlineReader = self.rfile  # type: ignore[assignment]
        if reader.deadline is not None:  # the request is in: writes get the plain timeout
            reader.stop()
            self.connection.settimeout(self.timeout)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        size = len(response.body) if length is None else length
        if response.status != 304:
            self.send_header("Content-Length", str(size))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _answer(self) -> None:
        body = self._read_body()
        if body is None:
            return
        request = Request(self.command, self.path, body, self._base_url(), self.headers)
        response: Response | None = None
        if self.server.app is not None:
            try:
                response = self.server.app(request)
            except Exception:  # a bug: say so, and keep serving
                traceback.print_exc(file=sys.stderr)
                response = error_response(500, "internal error")
        if response is None:
            self._serve_file(request)
        else:
            self._send(response)

    def _serve_file(self, request: Request) -> None:
        files = self.server.files
        if files is None:
            self._send(error_response(404, f"nothing at {request.path}"))
            return
        if request.method not in ("GET", "HEAD"):
            response = error_response(405, f"{request.method} is not allowed on {request.path}")
            response.headers["Allow"] = "GET, HEAD, OPTIONS"
            self._send(response)
            return
        try:
            found = files.locate(request.path)
        except UnicodeDecodeError:
            found = Found()
        if found.redirect is not None:
            query = request.query
            location = found.redirect + (f"?{query}" if query else "")
            self._send(Response(301, b"", JSON, {"Location": location}))
            return
        if found.path is None:
            self._not_found(files, request)
            return
        self._send_file(found.path, found.name)

    def _not_found(self, files: SiteFiles, request: Request) -> None:
        page = files.not_found_page()
        if page is None:
            self._send(error_response(404, f"nothing at {request.path}"))
            return
        data = page.read_bytes()
        self._send(Response(404, data, "text/html; charset=utf-8"))

    def _send_file(self, path: Path, name: str) -> None:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            size = info.st_size
            etag = f'"{size:x}-{info.st_mtime_ns:x}"'
            relative = name or path.name
            headers = {
                "Accept-Ranges": "bytes",
                "ETag": etag,
                "Last-Modified": email.utils.formatdate(info.st_mtime, usegmt=True),
                "Cache-Control": "no-cache",
            }
            kind = content_type(relative)
            if etag in (self.headers.get("If-None-Match") or ""):
                self._send(Response(304, b"", kind, headers), length=0)
                return
            start, count, status = 0, size, 200
            span = _parse_range(self.headers.get("Range") or "", size)
            if span is False:
                headers["Content-Range"] = f"bytes */{size}"
                response = error_response(416, f"the file has {size} bytes")
                response.headers.update(headers)
                self._send(response)
                return
            if isinstance(span, tuple):
                start, end = span
                count, status = end - start + 1, 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            self._send(Response(status, b"", kind, headers), length=count)
            if self.command != "HEAD" and count:
                self.connection.sendfile(handle, start, count)

    # -- methods ----------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._answer()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815

    def do_OPTIONS(self) -> None:  # noqa: N802 - stdlib name
        if self._read_body() is None:
            return
        headers = {
            "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Range, Accept",
            "Allow": "GET, HEAD, POST, OPTIONS",
        }
        self._send(Response(204, b"", "text/plain", headers))

    # -- the connection's life: answer what has arrived, then wait in the poller -----------

    def __init__(self, request: socket.socket, client_address: Any, server: SiteServer) -> None:
        # Unlike the stdlib's, this constructor does not answer: `serve` does, from a worker.
        self.request = request
        self.client_address = client_address
        self.server = server
        self.setup()

    def serve(self) -> bool:
        """Answer the requests that have arrived; True when the connection is idle and open
        (park it), False when it is done (close it)."""
        self.connection.settimeout(self.timeout)
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            if not self._pending():
                return True
            self.handle_one_request()
        return False

    def _pending(self) -> bool:
        """Whether bytes of a next request are already here (pipelined), without waiting."""
        try:
            self.connection.settimeout(0)
            return bool(self.rfile.peek(1))  # type: ignore[attr-defined]
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.timeout)

    def close(self) -> None:
        """Flush, linger after an error, and close the connection."""
        try:
            with contextlib.suppress(OSError, ValueError):
                self.finish()
            if self._linger:
                _linger(self.connection)
        finally:
            self.server.shutdown_request(self.connection)


class _DeadlineReader:
    """The request stream of a connection, read against a deadline for the whole request and
    not only per ``recv``: a client sending a byte every few seconds still runs out of time."""

    def __init__(self, raw: Any, connection: socket.socket) -> None:
        self._raw = raw
        self._connection = connection
        self.deadline: float | None = None
        self.expired = False

    def start(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.expired = False

    def stop(self) -> None:
        self.deadline = None

    def _arm(self) -> None:
        """Give the next ``recv`` what is left of the deadline (or raise TimeoutError)."""
        assert self.deadline is not None
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError("the request did not arrive in time")
        self._connection.settimeout(min(left, SOCKET_TIMEOUT))

    def readline(self, limit: int = -1) -> bytes:
        if self.deadline is None:
            return bytes(self._raw.readline(limit))
        line = bytearray()
        while limit < 0 or len(line) < limit:
            self._arm()
            try:
                chunk = self._raw.peek(1)
            except TimeoutError:
                self.expired = True
                raise
            if not chunk:
                break
            room = len(chunk) if limit < 0 else min(len(chunk), limit - len(line))
            end = chunk.find(b"\n", 0, room)
            line += self._raw.read(end + 1 if end >= 0 else room)
            if end >= 0:
                break
        return bytes(line)

    def read(self, size: int = -1) -> bytes:
        if self.deadline is None or size < 0:
            return bytes(self._raw.read(size))
        data = bytearray()
        while len(data) < size:
            self._arm()
            try:
                chunk = self._raw.read1(size - len(data))
            except TimeoutError:
                self.expired = True
                raise
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def __getattr__(self, name: str) -> Any:  # peek, close, closed, …
        return getattr(self._raw, name)


def _linger(connection: socket.socket) -> None:
    """Half-close, then read (and drop) what the client still sends, for a short while, so
    that closing does not reset the connection before the client has read our answer."""
    try:
        connection.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_SECONDS
        seen = 0
        while seen < LINGER_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            connection.settimeout(left)
            data = connection.recv(65536)
            if not data:
                return
            seen += len(data)
    except OSError:
        return


# -- the server -----------------------------------------------------------------------------


class SiteServer(HTTPServer):
    """A fixed pool of threads answering requests for a site folder and/or an application.

    The main thread accepts; a poller thread watches every open connection that has no request
    in flight (new ones, and kept-alive ones between requests); a connection goes to a worker
    only once bytes arrive, so idle clients hold no thread. Idle connections close after
    :data:`SOCKET_TIMEOUT`; beyond :data:`WAITING` queued requests, a client gets a 503.
    """

    request_queue_size = LISTEN_BACKLOG
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        root: str | os.PathLike[str] | None = None,
        app: App | None = None,
        public_url: str | None = None,
        log: bool = False,
        workers: int = WORKERS,
        waiting: int = WAITING,
        header_seconds: float = HEADER_SECONDS,
        body_seconds: float = BODY_SECONDS,
    ) -> None:
        self.header_seconds = header_seconds
        self.body_seconds = body_seconds
        self.files = SiteFiles(root) if root is not None else None
        self.app = app
        self.public_url = public_url.rstrip("/") if public_url else None
        self.log = log
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._ready: queue.Queue[_Handler | None] = queue.Queue(waiting)
        self._parking: queue.SimpleQueue[_Handler] = queue.SimpleQueue()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_writer.setblocking(False)
        self._closed = threading.Event()
        super().__init__(address, _Handler)
        self._threads = [
            threading.Thread(target=self._work, name=f"eotdl-http-{i}", daemon=True)
            for i in range(workers)
        ]
        self._threads.append(threading.Thread(target=self._poll, name="eotdl-poll", daemon=True))
        for thread in self._threads:
            thread.start()

    @property
    def host_and_port(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"

    @property
    def url(self) -> str:
        """The URL this server answers at (``http://HOST:PORT/``)."""
        return f"http://{self.host_and_port}/"

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            handler = _Handler(request, client_address, self)
        except OSError:
            self.shutdown_request(request)
            return
        self._park(handler)

    def _park(self, handler: _Handler) -> None:
        """Hand a connection with no request in flight to the poller."""
        self._parking.put(handler)
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def _poll(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_reader, selectors.EVENT_READ, None)
        idle: dict[_Handler, float] = {}  # in the order they went idle: oldest first
        while not self._closed.is_set():
            now = time.monotonic()
            wait = min(1.0, max(0.0, next(iter(idle.values()), now + 1.0) - now))
            for key, _ in selector.select(wait):
                if key.data is None:
                    with contextlib.suppress(OSError):
                        self._wake_reader.recv(4096)
                    continue
                handler = key.data
                selector.unregister(handler.connection)
                del idle[handler]
                self._dispatch(handler)
            while True:
                try:
                    handler = self._parking.get_nowait()
                except queue.Empty:
                    break
                try:
                    selector.register(handler.connection, selectors.EVENT_READ, handler)
                except (OSError, ValueError):
                    handler.close()
                    continue
                idle[handler] = time.monotonic() + SOCKET_TIMEOUT
            now = time.monotonic()
            for handler, deadline in list(idle.items()):
                if deadline > now and len(idle) <= MAX_IDLE:
                    break
                selector.unregister(handler.connection)
                del idle[handler]
                handler.close()
        for handler in idle:
            handler.close()
        selector.close()

    def _dispatch(self, handler: _Handler) -> None:
        try:
            self._ready.put_nowait(handler)
        except queue.Full:
            _refuse(handler.connection)
            handler.close()

    def _work(self) -> None:
        while True:
            handler = self._ready.get()
            if handler is None:
                return
            try:
                keep = handler.serve()
            except Exception:
                self.handle_error(handler.connection, handler.client_address)
                keep = False
            if keep and not self._closed.is_set():
                self._park(handler)
            else:
                handler.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that went away or stalled: nothing to report
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")
        for _ in self._threads:
            with contextlib.suppress(queue.Full):
                self._ready.put_nowait(None)


def _refuse(connection: socket.socket) -> None:
    body = orjson.dumps({"code": "ServiceUnavailable", "description": "too many requests"})
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        connection.settimeout(1.0)
        connection.sendall(head.encode() + body)
