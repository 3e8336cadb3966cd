"""One static server: `eotdl preview` and `eotdl serve` serve a site's files the same way
(content types, 404 page, dot files and build metadata hidden, ranges, ETags), streamed."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from eotdl.api.index import load_index
from eotdl.api.server import make_server
from eotdl.site.build import build_site
from eotdl.site.serve import start_site
from labs import Dataset, make_lab

Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built site (HTML pages and STAC tree) of two small datasets."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOTDL_SITE_TILES", "none")
        contents = [
            Dataset(name, "synthetic", count=6, seed=seed, split_names=())
            for seed, name in enumerate(("forests", "rivers"))
        ]
        lab = make_lab(tmp_path_factory.mktemp("static"), contents, title="Static lab")
        build_site(lab, qa=False)
    return lab.site_dir


@pytest.fixture(scope="module")
def servers(site: Path) -> Iterator[tuple[str, str]]:
    """(preview URL, serve URL), both on 127.0.0.1."""
    api = make_server(load_index(str(site)), port=0)
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    with start_site(site) as preview:
        try:
            yield preview.url.rstrip("/"), api.url.rstrip("/")
        finally:
            api.shutdown()
            api.server_close()


def get(base: str, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Answer:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


_SAME = ("content-type", "content-length", "content-range", "etag", "accept-ranges", "location")


def same(first: Answer, second: Answer) -> None:
    assert first[0] == second[0]
    assert {k: first[1].get(k) for k in _SAME} == {k: second[1].get(k) for k in _SAME}
    assert first[2] == second[2]


def site_files(site: Path) -> list[str]:
    return sorted(
        "/" + p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(site).parts)
    )


def test_preview_and_serve_answer_every_file_the_same(site: Path, servers: tuple[str, str]) -> None:
    preview, serve = servers
    files = site_files(site)
    assert any(f.endswith(".parquet") for f in files) and any("/items/" in f for f in files)
    for path in files:
        first, second = get(preview, path), get(serve, path)
        assert first[0] == 200, path
        same(first, second)


def test_static_host_content_types(servers: tuple[str, str], site: Path) -> None:
    _, serve = servers
    item = next(p for p in site_files(site) if "/items/" in p and p.endswith(".json"))
    assert get(serve, item)[1]["content-type"] == "application/geo+json"
    parquet = next(p for p in site_files(site) if p.endswith(".parquet"))
    assert get(serve, parquet)[1]["content-type"] == "application/vnd.apache.parquet"
    assert get(serve, "/catalog.json")[1]["content-type"] == "application/json"


def test_dot_files_build_metadata_and_escapes_are_hidden(
    site: Path, servers: tuple[str, str]
) -> None:
    hidden = ["/" + p.relative_to(site).as_posix() for p in site.rglob(".*") if p.is_file()]
    assert hidden, "the build writes its metadata as dot files"
    (site.parent / "secret.txt").write_text("outside the site")
    (site / "escape.txt").symlink_to(site.parent / "secret.txt")
    try:
        for path in [*hidden, "/escape.txt", "/../secret.txt", "/%2e%2e/secret.txt", "/a\\..\\x"]:
            answers = [get(base, path) for base in servers]
            assert answers[0][0] == 404, path
            same(*answers)
            assert b"outside the site" not in answers[0][2]
    finally:
        (site / "escape.txt").unlink()


def test_folders_and_missing_files(servers: tuple[str, str]) -> None:
    for path in ("/datasets/forests", "/datasets/forests/", "/nope.html", "/static/"):
        same(*(get(base, path) for base in servers))
    status, headers, _ = get(servers[1], "/datasets/forests")
    assert status == 301 and headers["location"] == "/datasets/forests/"


@pytest.mark.parametrize(
    "header", ["bytes=0-3", "bytes=-8", "bytes=4-", "bytes=0-0", "bytes=999999-", "bytes=0-1,4-5"]
)
def test_ranges_are_served_the_same(site: Path, servers: tuple[str, str], header: str) -> None:
    path = next(p for p in site_files(site) if p.endswith(".parquet"))
    whole = (site / path.lstrip("/")).read_bytes()
    answers = [get(base, path, {"Range": header}) for base in servers]
    same(*answers)
    status, headers, body = answers[1]
    if header == "bytes=-8":
        assert status == 206 and body == whole[-8:] and body.endswith(b"PAR1")
        assert headers["content-range"] == f"bytes {len(whole) - 8}-{len(whole) - 1}/{len(whole)}"
    elif header == "bytes=999999-":
        assert status == 416 and headers["content-range"] == f"bytes */{len(whole)}"
    elif header == "bytes=0-1,4-5":
        assert status == 200 and body == whole  # several ranges: the whole file
    else:
        assert status == 206 and whole.startswith(body) or whole.endswith(body)


def test_head_and_conditional_requests(servers: tuple[str, str]) -> None:
    for base in servers:
        status, headers, body = get(base, "/catalog.json", method="HEAD")
        assert status == 200 and body == b"" and int(headers["content-length"]) > 0
        status, _, body = get(base, "/catalog.json", {"If-None-Match": headers["etag"]})
        assert status == 304 and body == b""


def test_post_to_a_file_is_a_405_json(servers: tuple[str, str]) -> None:
    for base in servers:
        status, headers, body = get(base, "/catalog.json", method="POST")
        assert status == 405 and headers["content-type"] == "application/json"


@pytest.mark.slow
def test_large_files_are_streamed_not_read_whole(site: Path) -> None:
    big = site / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(128 << 20)
    process = subprocess.Popen(
        [sys.executable, "-m", "eotdl.cli.main", "serve", "--site", str(site), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    try:
        assert process.stderr is not None
        match = re.search(r"http://127\.0\.0\.1:\d+", process.stderr.readline())
        assert match
        base = match.group(0)
        get(base, "/catalog.json")
        before = psutil.Process(process.pid).memory_info().rss
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("GET", "/big.bin")
        response = connection.getresponse()
        received = 0
        while chunk := response.read(1 << 20):
            received += len(chunk)
        connection.close()
        after = psutil.Process(process.pid).memory_info().rss
        assert received == 128 << 20
        assert after - before < 32 << 20, f"RSS grew {(after - before) >> 20} MiB"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        big.unlink()
