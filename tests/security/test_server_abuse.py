"""`eotdl serve` under abuse: huge bodies, lying Content-Lengths, megabyte query strings,
bombs of nested CQL2, silly limits, and a crowd of clients. Each gets a 4xx JSON answer (or
its results), the connection closes when the request cannot be framed, and the server keeps
serving with flat memory.

The server is a real `eotdl serve` subprocess on 127.0.0.1, so its memory can be watched.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from eotdl.api.search import MAX_LIMIT, parse_query
from eotdl.catalog.siteserver import MAX_BODY, MAX_TARGET
from eotdl.errors import InputError
from labs import Dataset, make_lab
from serveprocess import Served, start_serve

DATASETS = {"forests": 60, "rivers": 40}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # a built site of two datasets, 100 items (seeded)
    contents = [
        Dataset(name, "synthetic", count=count, seed=seed, split_names=())
        for seed, (name, count) in enumerate(DATASETS.items())
    ]
    lab = make_lab(tmp_path_factory.mktemp("abuse"), contents, title="Abuse lab", build=True)
    server = start_serve(lab.site_dir)
    try:
        yield server
    finally:
        server.stop()


def raw(served: Served, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; read until the server closes (fails on a hang)."""
    with socket.create_connection((served.host, served.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, body


def request(served: Served, method: str, target: str, body: Any = None) -> tuple[int, str, Any]:
    """Status, Content-Type and JSON body of one request."""
    connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
    try:
        if isinstance(body, bytes):
            data: bytes | None = body
        else:
            data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        kind = response.getheader("Content-Type") or ""
        return response.status, kind, json.loads(payload) if "json" in kind else payload
    finally:
        connection.close()


def assert_json_error(status: int, kind: str, body: Any, expected: int) -> None:
    assert status == expected, body
    assert kind.startswith("application/json"), kind
    assert isinstance(body, dict) and body.get("code") and body.get("description"), body
    for internal in ("Traceback", "Error:", "NoneType", "object has no attribute"):
        assert internal not in body["description"], body


# -- bodies and framing ---------------------------------------------------------------------


def test_a_huge_body_is_refused_before_it_is_read(served: Served) -> None:
    before = served.rss()
    head = (
        "POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 300000000\r\n\r\n"
    )
    status, headers, body = raw(served, head.encode() + b"{" * 65536)
    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == "PayloadTooLarge"
    assert served.rss() - before < 32 << 20


def test_a_huge_body_announced_with_expect_gets_no_continue(served: Served) -> None:
    head = (
        "POST /search HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        f"Content-Length: {MAX_BODY + 1}\r\n\r\n"
    )
    status, _, body = raw(served, head.encode())
    assert status == 413 and b"100 Continue" not in body


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "", "10, 20", "+5", "99999999999999999999"])
def test_a_bad_content_length_is_a_400_and_the_connection_closes(
    served: Served, length: str
) -> None:
    head = f"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"
    status, headers, body = raw(served, head.encode())  # returns: the server closed it
    assert status == 400, body
    assert headers["connection"] == "close"
    assert json.loads(body)["code"] == "BadRequest"


def test_a_chunked_body_is_refused(served: Served) -> None:
    head = "POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    head += "2\r\n{}\r\n0\r\n\r\n"
    status, _, body = raw(served, head.encode())
    assert status == 411 and json.loads(body)["code"] == "LengthRequired"


@pytest.mark.parametrize("size", [MAX_TARGET + 1, 70_000, 1_000_000])
def test_a_long_query_string_is_a_414_json(served: Served, size: int) -> None:
    target = "/search?filter=" + "a" * size
    status, headers, body = raw(served, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status == 414 and headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == "URITooLong"


def test_garbage_request_lines_are_json_errors(served: Served) -> None:
    for line in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1 x\r\n\r\n"):
        status, headers, body = raw(served, line)
        assert 400 <= status < 600 and headers.get("content-type") == "application/json", line
        assert json.loads(body)["code"]


def test_too_many_headers_is_a_json_error(served: Served) -> None:
    headers = "".join(f"X-{i}: {i}\r\n" for i in range(200))
    status, _, body = raw(served, f"GET / HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    assert status == 431 and json.loads(body)["code"]


# -- parameters -----------------------------------------------------------------------------


def _nested_not(depth: int) -> str:
    """CQL2-JSON text of ``depth`` nested nots (built as text: json.dumps would recurse)."""
    inner = '{"op": "=", "args": [{"property": "gsd"}, 10]}'
    return '{"op": "not", "args": [' * depth + inner + "]}" * depth


def test_cql2_nested_a_thousand_deep_is_a_400(served: Served) -> None:
    body = ('{"filter-lang": "cql2-json", "filter": ' + _nested_not(1000) + "}").encode()
    assert_json_error(*request(served, "POST", "/search", body), 400)
    query = urllib.parse.urlencode({"filter": _nested_not(100), "filter-lang": "cql2-json"})
    assert_json_error(*request(served, "GET", "/search?" + query), 400)
    text = "NOT " * 1000 + "gsd = 10"
    body = {"filter": text, "filter-lang": "cql2-text"}
    assert_json_error(*request(served, "POST", "/search", body), 400)
    text = "(" * 1000 + "gsd = 10" + ")" * 1000
    assert_json_error(*request(served, "POST", "/search", {"filter": text}), 400)
    query = urllib.parse.urlencode({"filter": "(" * 1000 + "gsd = 10" + ")" * 1000})
    assert_json_error(*request(served, "GET", "/search?" + query), 400)
    deep_json = "[" * 1200 + "]" * 1200
    query = urllib.parse.urlencode({"filter": deep_json, "filter-lang": "cql2-json"})
    assert_json_error(*request(served, "GET", "/search?" + query), 400)


def test_cql2_nested_within_the_limit_still_works(served: Served) -> None:
    body = json.loads(_nested_not(40))
    status, _, body = request(served, "POST", "/search", {"filter": body})
    assert status == 200 and body["numberMatched"] == sum(DATASETS.values())


@pytest.mark.parametrize(
    "intersects", [{}, [], "x", 5, {"type": "Polygon"}, {"type": "Nope", "coordinates": []}]
)
def test_a_bad_intersects_is_a_400_that_says_geojson(served: Served, intersects: Any) -> None:
    status, kind, body = request(served, "POST", "/search", {"intersects": intersects})
    assert_json_error(status, kind, body, 400)
    assert "GeoJSON" in body["description"] or "intersects" in body["description"]
    query = urllib.parse.urlencode({"intersects": json.dumps(intersects)})
    assert_json_error(*request(served, "GET", "/search?" + query), 400)


def test_limit_is_capped() -> None:
    assert parse_query({"limit": "1000000000"}).limit == MAX_LIMIT
    assert parse_query({"limit": 10**30}, "POST").limit == MAX_LIMIT
    for bad in ("0", "-1", "abc", "1e9", "9" * 5000):
        with pytest.raises(InputError):
            parse_query({"limit": bad})


def test_a_huge_limit_answers_every_item(served: Served) -> None:
    status, _, body = request(served, "GET", "/search?limit=1000000000")
    assert status == 200 and body["numberReturned"] == sum(DATASETS.values())


@pytest.mark.parametrize(
    "target",
    [
        "/search?bbox=a,b,c,d",
        "/search?bbox=1,2,3",
        "/search?bbox=0,0,1,1&intersects="
        + urllib.parse.quote('{"type":"Point","coordinates":[0,0]}'),
        "/search?datetime=2023-02-30T00:00:00Z",
        "/search?datetime=2023-13-45T00:00:00Z",
        "/search?datetime=2023-02-30",
        "/search?datetime=yesterday",
        "/search?datetime=../..",
        "/search?filter=gsd%20%3D%3D%3D%201",
        "/search?filter=" + urllib.parse.quote("{not json"),
        "/search?sortby=-nothing_has_this",
        "/search?token=-5",
        "/search?limit=0",
        "/search?filter-lang=cql3&filter=gsd%3D1",
        "/collections/forests/items?datetime=2023-02-30T00:00:00Z",
        "/collections/forests/items?bbox=1,2",
        "/collections/forests/items?limit=-1",
    ],
)
def test_every_malformed_parameter_is_a_400_json(served: Served, target: str) -> None:
    assert_json_error(*request(served, "GET", target), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"bbox": "100.0, 0.0, 105.0, 1.0"},
        {"bbox": [1, 2, "3", 4]},
        {"datetime": "2023-13-45T00:00:00Z"},
        {"datetime": 5},
        {"limit": "many"},
        {"filter": {"op": "between", "args": [{"property": "gsd"}, [1]]}},
        {"filter": {"op": "nope", "args": []}},
        {"collections": 5},
        {"filter": 5},
        {"filter": ["not", "an", "expression"]},
    ],
)
def test_every_malformed_post_body_is_a_400_json(served: Served, body: Any) -> None:
    assert_json_error(*request(served, "POST", "/search", body), 400)


def test_a_body_that_is_not_an_object_is_a_400(served: Served) -> None:
    for data in (b"[]", b"null", b"\xff\xfe", b'{"a":' * 5000):
        connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
        connection.request("POST", "/search", body=data)
        response = connection.getresponse()
        assert response.status == 400 and json.loads(response.read())["code"] == "BadRequest"
        connection.close()


# -- a crowd --------------------------------------------------------------------------------

CLIENTS = 200
REQUESTS = 2000


def crowd(served: Served, clients: int = CLIENTS, total: int = REQUESTS) -> list[str]:
    """``clients`` threads sending ``total`` requests between them (half on kept-alive
    connections, half on a new connection each); the errors they saw."""
    targets = [
        "/search?limit=10",
        "/collections",
        "/collections/forests/items?limit=5",
        "/search?filter=" + urllib.parse.quote("gsd = 10 AND eo:cloud_cover < 20"),
        "/datasets/forests/collection.json",
        "/conformance",
    ]
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(index: int) -> None:
        keep_alive = index % 2 == 0
        connection: http.client.HTTPConnection | None = None
        try:
            start.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass
        for n in range(total // clients):
            target = targets[(index + n) % len(targets)]
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(served.host, served.port, timeout=60)
                connection.request("GET", target)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
                if not keep_alive or response.will_close:
                    connection.close()
                    connection = None
            except Exception as exc:  # every failure counts
                with lock:
                    errors.append(f"{target}: {type(exc).__name__}: {exc}")
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    stuck = sum(thread.is_alive() for thread in threads)
    return errors + [f"{stuck} clients still waiting"] * bool(stuck)


@pytest.mark.slow
def test_two_hundred_clients_see_no_errors_and_memory_stays_flat(served: Served) -> None:
    assert crowd(served, 50, 200) == []  # warm up: caches, imports, worker threads
    before = served.rss()
    assert crowd(served) == []
    assert crowd(served) == []
    growth = served.rss() - before
    assert growth < 48 << 20, f"RSS grew by {growth / 2**20:.1f} MiB over {2 * REQUESTS} requests"
    status, _, body = request(served, "GET", "/conformance")
    assert status == 200 and body["conformsTo"]


def test_idle_connections_hold_no_worker(served: Served) -> None:
    """Twice as many silent connections as there are workers: a real request still passes."""
    idle = [socket.create_connection((served.host, served.port), timeout=10) for _ in range(150)]
    try:
        status, _, body = request(served, "GET", "/conformance")
        assert status == 200 and body["conformsTo"]
    finally:
        for sock in idle:
            sock.close()
