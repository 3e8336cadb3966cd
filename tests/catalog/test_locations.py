"""The one reader of locations: timeout, user agent, retries, proxies, streaming downloads.

Every server here is a real HTTP server on 127.0.0.1 started by the test.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eotdl import __version__
from eotdl.catalog import locations
from eotdl.catalog.locations import FetchError, NotFoundError, download, http_get, resolve
from eotdl.catalog.paths import PathRefused
from eotdl.errors import InputError

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class _Server:
    """A loopback server answering every GET with ``handler``; records each request."""

    def __init__(self, handler: Handler) -> None:
        seen: list[tuple[str, dict[str, str]]] = []
        self.requests = seen

        class _Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                seen.append((self.path, dict(self.headers)))
                handler(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _answer(request: http.server.BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    request.send_response(status)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], _Server]]:
    servers: list[_Server] = []

    def start(handler: Handler) -> _Server:
        server = _Server(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("EOTDL_HTTP_TIMEOUT", raising=False)


def test_user_agent_names_eotdl_and_its_version(serve: Callable[[Handler], _Server]) -> None:
    server = serve(lambda r: _answer(r, 200, b"{}"))
    assert http_get(server.url + "/doc.json") == b"{}"
    headers = server.requests[0][1]
    assert headers["User-Agent"] == f"eotdl/{__version__}"


def test_transient_failures_are_retried(
    serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locations.time, "sleep", lambda s: None)
    statuses = iter([503, 429])
    server = serve(lambda r: _answer(r, next(statuses, 200), b"third time"))
    assert http_get(server.url + "/flaky") == b"third time"
    assert len(server.requests) == 3


def test_a_reset_connection_is_retried(
    serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locations.time, "sleep", lambda s: None)
    calls = []

    def handler(request: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) <= 2:
            request.close_connection = True
            request.connection.close()  # no answer at all: the client sees a reset/EOF
            return
        _answer(request, 200, b"ok")

    server = serve(handler)
    assert http_get(server.url + "/reset") == b"ok"
    assert len(calls) == 3


def test_retries_give_up_with_a_message_naming_the_url(
    serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locations.time, "sleep", lambda s: None)
    server = serve(lambda r: _answer(r, 500, b"down"))
    with pytest.raises(FetchError) as caught:
        http_get(server.url + "/down", attempts=3)
    assert caught.value.status == 500
    assert f"{server.url}/down: HTTP 500" in caught.value.message
    assert len(server.requests) == 3


def test_not_found_is_not_retried(serve: Callable[[Handler], _Server]) -> None:
    server = serve(lambda r: _answer(r, 404, b""))
    with pytest.raises(NotFoundError):
        http_get(server.url + "/missing")
    assert len(server.requests) == 1


def test_timeout_comes_from_the_environment(
    serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def slow(request: http.server.BaseHTTPRequestHandler) -> None:
        release.wait(10)
        _answer(request, 200, b"late")

    server = serve(slow)
    monkeypatch.setenv("EOTDL_HTTP_TIMEOUT", "0.2")
    assert locations.http_timeout() == 0.2
    try:
        with pytest.raises(FetchError, match="timed out"):
            http_get(server.url + "/slow")
    finally:
        release.set()
    assert len(server.requests) == 1  # a timeout is not asked again


def test_one_default_timeout_and_a_bad_value_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert locations.http_timeout() == locations.DEFAULT_TIMEOUT
    monkeypatch.setenv("EOTDL_HTTP_TIMEOUT", "soon")
    with pytest.raises(InputError, match="EOTDL_HTTP_TIMEOUT"):
        locations.http_timeout()


def _proxy_answer(request: http.server.BaseHTTPRequestHandler) -> None:
    _answer(request, 200, b"via proxy " + request.path.encode())


def test_http_proxy_is_honoured(
    serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = serve(_proxy_answer)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    # a name that resolves nowhere: only a proxy can answer it
    assert http_get("http://data.example.invalid/doc.json") == (
        b"via proxy http://data.example.invalid/doc.json"
    )
    assert proxy.requests[0][1]["User-Agent"].startswith("eotdl/")


def test_no_proxy_bypasses_the_proxy_for_loopback(
    serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = serve(_proxy_answer)
    origin = serve(lambda r: _answer(r, 200, b"direct"))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert http_get(origin.url + "/doc.json") == b"direct"
    assert proxy.requests == []


def test_download_streams_to_the_file(serve: Callable[[Handler], _Server], tmp_path: Path) -> None:
    body = bytes(range(256)) * 9000  # > 2 MiB: several chunks
    server = serve(lambda r: _answer(r, 200, body))
    dest = tmp_path / "asset.bin"
    assert download(server.url + "/asset.bin", dest) == len(body)
    assert dest.read_bytes() == body
    assert not (tmp_path / "asset.bin.part").exists()


def test_a_truncated_download_is_fetched_again_then_reported(
    serve: Callable[[Handler], _Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locations.time, "sleep", lambda s: None)

    def short(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100")
        request.end_headers()
        request.wfile.write(b"x" * 10)
        request.close_connection = True

    server = serve(short)
    dest = tmp_path / "asset.bin"
    with pytest.raises(FetchError):
        download(server.url + "/asset.bin", dest, attempts=2)
    assert len(server.requests) == 2
    assert list(tmp_path.iterdir()) == []


def test_resolve_keeps_the_path_guard() -> None:
    assert resolve("https://h/a/catalog.json", "b/item.json") == "https://h/a/b/item.json"
    assert resolve("s3://bucket/a/catalog.json", "../x.json") == "s3://bucket/x.json"
    assert resolve("/data/a/catalog.json", "b%20c/item.json") == "/data/a/b c/item.json"
    assert resolve("/data/a/catalog.json", "gs://bucket/x.tif") == "gs://bucket/x.tif"
    with pytest.raises(PathRefused):
        resolve("https://h/a/catalog.json", "file:///etc/passwd")
    assert resolve("https://h/a/catalog.json", "/etc/passwd") == "https://h/etc/passwd"


def test_an_unreachable_host_is_marked_and_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    tries = []
    monkeypatch.setattr(locations.time, "sleep", tries.append)
    with pytest.raises(FetchError) as caught:
        http_get("http://127.0.0.1:9/nothing")  # the discard port: nobody listens
    assert caught.value.unreachable
    assert tries == []


def test_proxy_for_reads_the_variables_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    assert locations.proxy_for("https://data.example/x") is None
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,.internal")
    assert locations.proxy_for("https://data.example/x") == "http://proxy.example:3128"
    assert locations.proxy_for("https://127.0.0.1:9000/x") is None
    assert locations.proxy_for("https://a.internal/x") is None
    assert locations.proxy_for("http://data.example/x") is None  # HTTPS_PROXY only


def test_the_parallel_downloader_goes_through_the_proxy(
    serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from eotdl.catalog.http_downloads import HttpDownloader, HttpGet

    proxy = serve(lambda r: _answer(r, 200, b"via proxy"))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    get = HttpGet("http://data.example.invalid/a.bin", str(tmp_path / "a.bin"))
    summary = HttpDownloader().get_files([get], progress=False)
    assert not summary.failed
    assert (tmp_path / "a.bin").read_bytes() == b"via proxy"
    assert proxy.requests[0][0] == "http://data.example.invalid/a.bin"


@pytest.mark.parametrize("url", ["http://[::1/x", "ftp://example/x", "http://"])
def test_a_malformed_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(FetchError, match="URL"):
        http_get(url)
