"""The site server against slow and crowding clients, in process so its queue can be watched:
a client that trickles its request gets a 408 at the deadline and frees its worker, and beyond
the queue a client gets a 503 JSON answer at once."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eotdl.catalog.siteserver import SiteServer


@contextlib.contextmanager
def running(site: Path, **options: float) -> Iterator[SiteServer]:
    server = SiteServer(("127.0.0.1", 0), root=site, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "catalog.json").write_text('{"type": "Catalog"}')
    return tmp_path


def answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response read from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(4096)
    return int(lines[0].split()[1]), headers, body


def get(server: SiteServer, path: str = "/catalog.json") -> tuple[int, dict[str, str], bytes]:
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=20) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return answer(sock)


class Trickler:
    """A client that sends its request a byte at a time, forever (until stopped or cut off)."""

    def __init__(self, server: SiteServer, request: bytes) -> None:
        host, port = server.server_address[:2]
        self.sock = socket.create_connection((str(host), port), timeout=20)
        self.request = request
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()

    def _send(self) -> None:
        for byte in self.request:
            if self.stop.wait(0.1):
                return
            try:
                self.sock.send(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


SLOW_HEADERS = b"GET /catalog.json HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 10_000


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never: {what}")


def test_a_client_trickling_its_headers_gets_a_408_and_frees_its_worker(site: Path) -> None:
    with running(site, workers=1, header_seconds=1.0) as server:
        slow = Trickler(server, SLOW_HEADERS)
        try:
            status, headers, body = answer(slow.sock)
            assert status == 408
            assert headers["content-type"] == "application/json"
            assert json.loads(body)["description"] == "the request did not arrive in time"
            assert get(server)[0] == 200  # the one worker is free again
        finally:
            slow.close()


def test_a_client_trickling_its_body_gets_a_408(site: Path) -> None:
    head = b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    with running(site, workers=1, body_seconds=1.0) as server:
        host, port = server.server_address[:2]
        sock = socket.create_connection((str(host), port), timeout=20)
        sock.sendall(head)
        slow = Trickler(server, b"{" * 5000)
        slow.sock.close()
        slow.sock = sock  # trickle the body on the connection that sent the headers
        try:
            status, _, body = answer(sock)
            assert status == 408 and json.loads(body)["code"]
        finally:
            slow.close()
        assert get(server)[0] == 200


def test_beyond_the_queue_a_client_gets_a_503_json_and_the_queued_one_is_answered(
    site: Path,
) -> None:
    with running(site, workers=1, waiting=1, header_seconds=2.0) as server:
        slow = Trickler(server, SLOW_HEADERS)  # holds the one worker until its deadline
        try:
            wait_for(lambda: slow.sock.fileno() != -1, "connected")
            time.sleep(0.3)  # its first byte has been sent ...
            wait_for(lambda: server._ready.qsize() == 0, "the worker took the slow client")
            host, port = server.server_address[:2]
            request = b"GET /catalog.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            queued = socket.create_connection((str(host), port), timeout=20)
            queued.sendall(request)
            wait_for(lambda: server._ready.qsize() == 1, "the second client waits in the queue")
            refused = socket.create_connection((str(host), port), timeout=20)
            refused.sendall(request)
            status, headers, body = answer(refused)
            assert status == 503
            assert headers["retry-after"] == "1"
            assert json.loads(body)["code"] == "ServiceUnavailable"
            assert answer(slow.sock)[0] == 408
            assert answer(queued)[0] == 200
            queued.close()
            refused.close()
        finally:
            slow.close()
