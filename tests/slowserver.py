"""A deliberately slow HTTP server on 127.0.0.1 for the download tests (a plugin: the
``slow_server`` fixture; tests/conftest.py loads it)."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class SlowServer:
    """Serves a folder on 127.0.0.1; ``delay`` seconds per ``chunk`` bytes sent (0: full speed).

    Records every request path with its Range header, and the bytes sent.
    """

    url: str
    root: Path
    delay: float = 0.0
    chunk: int = 4096
    bytes_sent: int = 0
    ranges: list[tuple[str, str | None]] | None = None

    def __post_init__(self) -> None:
        self.ranges = []
        self.lock = threading.Lock()


class _SlowHandler(SimpleHTTPRequestHandler):
    served: SlowServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        served = self.served
        header = self.headers.get("Range")
        with served.lock:
            assert served.ranges is not None
            served.ranges.append((self.path, header))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if header:
            start = int(header.split("=", 1)[1].split("-", 1)[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for offset in range(0, len(body), served.chunk):
            piece = body[offset : offset + served.chunk]
            try:
                self.wfile.write(piece)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            with served.lock:
                served.bytes_sent += len(piece)
            if served.delay:
                time.sleep(served.delay)


def start_slow_server(root: Path) -> tuple[ThreadingHTTPServer, SlowServer]:
    """Serve ``root`` slowly (see :class:`SlowServer`) in a background thread."""
    served = SlowServer(url="", root=root)
    handler = type("Handler", (_SlowHandler,), {"served": served})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=os.fspath(root))
    )
    server.daemon_threads = True
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, served


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[SlowServer]:
    root = tmp_path / "www"
    root.mkdir()
    server, served = start_slow_server(root)
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
