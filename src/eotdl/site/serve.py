"""``eotdl preview``: serve a built site on 127.0.0.1, as a static host would.

A :class:`ThreadingHTTPServer` with the site's content types (``application/geo+json`` for
items, ``application/vnd.apache.parquet``, …), ``index.html`` for folders, the site's
``404.html`` for what is missing, byte ranges (parquet readers fetch footers), permissive CORS
so browser STAC clients can read it, and nothing outside the site or starting with a dot.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import threading
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eotdl.errors import InputError
from eotdl.site.mediatypes import content_type

DEFAULT_PORT = 8000


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """Serve files of the site folder with the right types; no listings, no dot files."""

    server_version = "eotdl-preview"
    quiet = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        if not self.quiet:
            super().log_message(format, *args)

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        relative = os.path.relpath(os.fspath(path), self.directory).replace(os.sep, "/")
        return content_type(relative)

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self._not_found()
        return None

    def _hidden(self) -> bool:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in posixpath.normpath(path).split("/") if p]
        return any(p.startswith(".") for p in parts)

    def _not_found(self) -> None:
        page = Path(self.directory) / "404.html"
        if page.is_file():
            data = page.read_bytes()
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return
        self.send_error(HTTPStatus.NOT_FOUND)

    def send_head(self) -> Any:
        if self._hidden():
            self._not_found()
            return None
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            if not urllib.parse.urlsplit(self.path).path.endswith("/"):
                return super().send_head()  # redirect to the folder with a slash
            path = os.path.join(path, "index.html")
        if not os.path.isfile(path):
            self._not_found()
            return None
        header = self.headers.get("Range")
        if header:
            return self._send_range(path, header)
        return super().send_head()

    def _send_range(self, path: str, header: str) -> _Limited | None:
        size = os.path.getsize(path)
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
        if not match or not any(match.groups()):
            self.send_error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            return None
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(0, size - int(last)), size - 1
        if start > end or start >= size:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        handle = open(path, "rb")  # noqa: SIM115 - closed by copyfile's caller
        handle.seek(start)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return _Limited(handle, end - start + 1)


class _Limited:
    """A file object that reads at most ``remaining`` bytes (for range responses)."""

    def __init__(self, handle: Any, remaining: int) -> None:
        self.handle = handle
        self.remaining = remaining

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        self.remaining -= len(data)
        return bytes(data)

    def close(self) -> None:
        self.handle.close()


@dataclass
class RunningSite:
    """A preview server running in a background thread (for tests and scripts)."""

    server: ThreadingHTTPServer
    url: str
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(
    root: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    quiet: bool = False,
) -> ThreadingHTTPServer:
    """A server for the site folder ``root`` (``port`` 0 picks a free port)."""
    folder = Path(root).resolve()
    if not (folder / "index.html").is_file() and not (folder / "catalog.json").is_file():
        raise InputError(
            f"{folder} is not a built site (no index.html or catalog.json)",
            hint="run `eotdl build` first, or pass the site folder with --dir",
        )
    handler = type("Handler", (SiteRequestHandler,), {"quiet": quiet})
    try:
        server = ThreadingHTTPServer(
            (host, port), functools.partial(handler, directory=str(folder))
        )
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pass another --port (0 picks a free one)",
        ) from None
    server.daemon_threads = True
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    """The URL of the site a server serves."""
    host, port = server.server_address[:2]
    name = host.decode() if isinstance(host, bytes) else str(host)
    shown = f"[{name}]" if ":" in name else name
    return f"http://{shown}:{port}/"


def start_site(root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0) -> RunningSite:
    """Serve ``root`` in a background thread; ``stop()`` (or ``with``) ends it."""
    server = make_server(root, host, port, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningSite(server, server_url(server), thread)
