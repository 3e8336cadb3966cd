"""A real HTTP server on 127.0.0.1 for tests: serves a folder, honours Range, counts bytes."""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class Served:
    """A running server: its base URL and what it has sent."""

    url: str
    root: Path
    bytes_sent: int = 0
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.bytes_sent = 0
            self.requests.clear()


class _Handler(SimpleHTTPRequestHandler):
    served: Served

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        with self.served.lock:
            self.served.requests.append(self.path)
        path = Path(self.translate_path(self.path))
        header = self.headers.get("Range")
        if header and path.is_file():
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
            size = path.stat().st_size
            if not match:
                self.send_error(416)
                return
            start_s, end_s = match.groups()
            if start_s:
                start, end = int(start_s), int(end_s) if end_s else size - 1
            else:
                start, end = max(0, size - int(end_s)), size - 1
            end = min(end, size - 1)
            if start > end:
                self.send_error(416)
                return
            with path.open("rb") as handle:
                handle.seek(start)
                data = handle.read(end - start + 1)
            self.send_response(206)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            self.wfile.write(data)
            self._count(len(data))
            return
        super().do_GET()

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        data = source.read()
        outputfile.write(data)
        self._count(len(data))

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def _count(self, n: int) -> None:
        with self.served.lock:
            self.served.bytes_sent += n


def start_server(root: Path) -> tuple[ThreadingHTTPServer, Served]:
    """Serve ``root`` on a free loopback port in a background thread."""
    served = Served(url="", root=root)
    handler = type("Handler", (_Handler,), {"served": served})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=os.fspath(root))
    )
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, served


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[Served]:
    """A folder (``served.root``) served over HTTP on 127.0.0.1 for the test."""
    root = tmp_path / "www"
    root.mkdir()
    server, served = start_server(root)
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
