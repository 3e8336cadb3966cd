"""The HTTP side of ``eotdl serve``: a threaded stdlib server handing requests to
:class:`eotdl.access.api.StacApi`."""

from __future__ import annotations

import os
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eotdl import __version__
from eotdl.access.api import StacApi
from eotdl.access.index import SiteIndex
from eotdl.access.responses import json_response


class _Handler(BaseHTTPRequestHandler):
    api: StacApi
    public_url: str | None
    protocol_version = "HTTP/1.1"
    server_version = f"eotdl/{__version__}"
    #: Headers and body go out as two writes: without this, Nagle's algorithm and delayed
    #: ACKs add 40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        if os.environ.get("EOTDL_SERVE_LOG"):
            super().log_message(format, *args)

    def _base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = self.headers.get("X-Forwarded-Host") or self.headers.get("Host")
        if not host:
            address: Any = self.server.server_address
            host = f"{address[0]}:{address[1]}"
        proto = self.headers.get("X-Forwarded-Proto") or "http"
        return f"{proto}://{host}"

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            response = self.api.handle(
                method,
                self.path,
                body,
                self._base_url(),
                self.headers.get("Accept", ""),
                self.headers.get("Range"),
            )
        except Exception:  # a bug: say so, and keep serving
            traceback.print_exc(file=sys.stderr)
            response = json_response({"code": "ServerError", "description": "internal error"}, 500)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._answer("GET")

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._answer("HEAD")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._answer("POST")

    def do_PUT(self) -> None:  # noqa: N802 - stdlib name
        self._answer("PUT")

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib name
        self._answer("DELETE")

    def do_OPTIONS(self) -> None:  # noqa: N802 - stdlib name
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Range")
        self.send_header("Content-Length", "0")
        self.end_headers()


def make_server(
    site: SiteIndex, host: str = "127.0.0.1", port: int = 8000, public_url: str | None = None
) -> ThreadingHTTPServer:
    """A threaded HTTP server answering the STAC API for ``site`` (call serve_forever)."""
    handler = type("Handler", (_Handler,), {"api": StacApi(site), "public_url": public_url or None})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
