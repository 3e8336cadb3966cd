"""`eotdl preview`: the site served on 127.0.0.1 with the right content types."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from eotdl.errors import InputError
from eotdl.site.mediatypes import content_type
from eotdl.site.serve import start_site


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """Status, headers (case-insensitive) and body of a GET."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.mark.parametrize(
    "path, expected",
    [
        ("", "text/html; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
        ("datasets/chips/", "text/html; charset=utf-8"),
        ("catalog.json", "application/json"),
        ("search-index.json", "application/json"),
        ("datasets/chips/collection.json", "application/json"),
        ("datasets/chips/items/chips-0000001.json", "application/geo+json"),
        ("datasets/chips/items.parquet", "application/vnd.apache.parquet"),
        ("datasets/chips/thumbnail.svg", "image/svg+xml"),
        ("static/site.css", "text/css; charset=utf-8"),
        ("static/site.js", "text/javascript; charset=utf-8"),
        ("static/leaflet/images/layers.png", "image/png"),
    ],
)
def test_content_types(site_dir: Path, path: str, expected: str) -> None:
    with start_site(site_dir) as site:
        status, headers, body = _get(site.url + path)
    assert status == 200 and headers["Content-Type"] == expected
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert body


def test_missing_and_hidden_files_are_404_with_the_site_page(site_dir: Path) -> None:
    with start_site(site_dir) as site:
        for path in (
            "nope.html",
            ".eotdl-build.json",
            "datasets/chips/.eotdl-build.json",
            "static/",
            "../etc/passwd",
        ):
            status, headers, body = _get(site.url + path)
            assert status == 404, path
            assert b"Not found" in body


def test_folder_without_slash_redirects(site_dir: Path) -> None:
    with start_site(site_dir) as site:
        status, _, body = _get(site.url + "datasets/chips")
    assert status == 200 and b"footprints-map" in body


def test_byte_ranges(site_dir: Path) -> None:
    whole = (site_dir / "datasets/chips/items.parquet").read_bytes()
    with start_site(site_dir) as site:
        status, headers, body = _get(
            site.url + "datasets/chips/items.parquet", {"Range": "bytes=-8"}
        )
        assert status == 206 and body == whole[-8:] and body.endswith(b"PAR1")
        assert headers["Content-Range"] == f"bytes {len(whole) - 8}-{len(whole) - 1}/{len(whole)}"
        status, _, body = _get(site.url + "datasets/chips/items.parquet", {"Range": "bytes=0-3"})
        assert status == 206 and body == b"PAR1"


def test_content_type_table() -> None:
    assert content_type("datasets/x/items/a.json") == "application/geo+json"
    assert content_type("datasets/x/collection.json") == "application/json"
    assert content_type("a.parquet") == "application/vnd.apache.parquet"
    assert content_type("x.unknownext") == "application/octet-stream"


def test_not_a_site(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a built site"):
        start_site(tmp_path)


def test_preview_command_prints_the_url(site_dir: Path, built_lab) -> None:  # type: ignore[no-untyped-def]
    process = subprocess.Popen(
        [sys.executable, "-m", "eotdl.cli.main", "preview", "--port", "0", "--quiet"],
        cwd=built_lab.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Serving" in line and "http://127.0.0.1:" in line, line
        url = line.split(" at ")[1].split()[0]
        status, headers, body = _get(url + "catalog.json")
        assert status == 200 and b'"type": "Catalog"' in body
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
