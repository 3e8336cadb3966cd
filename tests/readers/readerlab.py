"""What every reader of a published lab does, checked against one deployment at a time.

A plain module (not conftest.py): what the lab the readers' tests build holds (two published
versions of a small classification dataset and a model, made by tests/labs.py), the real
servers they start, and :func:`check_readers`, which reads a served site as its readers do: a
crawler that requests every href of every HTML page and STAC JSON it reaches (and of every
``items.parquet``), pystac-client walking every collection and item, one asset per item checked
against its ``file:checksum``, ``eotdl get`` of the latest and of every pinned version,
``open_dataset(URL)`` feeding a DataLoader epoch, and the dataset page's own "how to download"
snippets run as printed.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import posixpath
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from labs import Dataset, Model

NAME = "chips"
MODEL = "chips-model"
VERSIONS = ("1.0.0", "1.1.0")
CLASSES = ["Forest", "River"]
BIN = Path(sys.executable).parent
#: The lab's install line: says that eotdl is there (the tests run it; nothing is installed).
INSTALL = "command -v eotdl"


#: The readers' lab: ``chips`` published twice (2 then 3 chips a class, each version tagged),
#: and a model derived from it (a link between lab documents, an asset in the store).
CONTENTS = [
    Dataset(NAME, "classification_folders", classes=CLASSES, per_class=2, version=VERSIONS[0]),
    Model(MODEL, NAME),
    Dataset(NAME, "classification_folders", classes=CLASSES, per_class=3, version=VERSIONS[1]),
]
#: ``make_lab(root, CONTENTS, **SETTINGS)``: a git lab with a tag per version.
SETTINGS: dict[str, Any] = {"tag": True, "title": "Readers lab", "install": INSTALL}


# -- servers ------------------------------------------------------------------------------


@contextmanager
def served(argv: list[str], pattern: str, cwd: Path | None = None) -> Iterator[str]:
    """Run a server command; yield the base URL it prints (``pattern``'s group 1)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        seen = []
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            match = re.search(pattern, line)
            if match:
                break
        else:
            raise AssertionError(f"{argv[0]} did not start:\n{''.join(seen)}")
        # keep reading what it logs, or a full pipe would stop the server mid-crawl
        threading.Thread(target=process.stdout.read, daemon=True).start()
        url = match.group(1)
        yield url if url.endswith("/") else url + "/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def static_server(folder: Path) -> Any:
    """``python -m http.server`` on ``folder`` (a plain static host)."""
    return served(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        r"\((http://127\.0\.0\.1:\d+/)\)",
        cwd=folder,
    )


def eotdl(*args: str) -> list[str]:
    return [str(BIN / "eotdl"), *args]


# -- the crawler --------------------------------------------------------------------------


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src"):
                self.hrefs.append(value)


@dataclass
class Crawl:
    """What a crawl requested: every URL and its status; the failures."""

    statuses: dict[str, int] = field(default_factory=dict)
    local: list[str] = field(default_factory=list)
    #: relative hrefs that climb above the site root (a browser clamps them at the host's
    #: root; they only work by chance)
    escapes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> dict[str, int]:
        return {url: status for url, status in self.statuses.items() if status != 200}


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


def _stac_hrefs(doc: Any) -> Iterator[str]:
    if not isinstance(doc, dict):
        return
    for link in doc.get("links") or []:
        if isinstance(link, dict) and isinstance(link.get("href"), str):
            if str(link.get("method", "GET")).upper() == "GET":
                yield link["href"]
    assets = doc.get("assets")
    if isinstance(assets, dict):
        for asset in assets.values():
            if isinstance(asset, dict) and isinstance(asset.get("href"), str):
                yield asset["href"]
    for key in ("features", "collections"):
        for child in doc.get(key) or []:
            yield from _stac_hrefs(child)


def _parquet_hrefs(data: bytes) -> Iterator[str]:
    import pyarrow.parquet as pq

    from eotdl.catalog.parquet_items import table_items

    for item in table_items(pq.ParquetFile(io.BytesIO(data)).read()):
        yield from _stac_hrefs(item)


def _origin(url: str) -> str:
    return "{0.scheme}://{0.netloc}/".format(urllib.parse.urlsplit(url))


def crawl(start: list[str], folder_index: bool = False, also: tuple[str, ...] = ()) -> Crawl:
    """Request every href reachable from ``start`` on the same origin, and on the origins of
    ``also`` (the store's ``public_url``); other origins are not ours to check, ``file:`` URLs
    are recorded as leaks. ``folder_index``: a URL ending in '/' means its ``index.html``
    (what a bucket website does, and a plain S3 endpoint does not)."""
    origins = tuple({_origin(start[0]), *(_origin(u) for u in also)})
    root_path = posixpath.dirname(urllib.parse.urlsplit(start[0]).path).rstrip("/") + "/"
    result = Crawl()
    queue = list(start)
    while queue:
        url = queue.pop()
        if url in result.statuses:
            continue
        request = url + "index.html" if folder_index and url.endswith("/") else url
        status, body, kind = fetch(request)
        result.statuses[url] = status
        if status != 200:
            continue
        path = urllib.parse.urlsplit(url).path
        found: list[str] = []
        if b"file:/" in body[:10_000_000] and not path.endswith((".tif", ".parquet")):
            result.local.append(url)
        if path.endswith(".parquet"):
            found = list(_parquet_hrefs(body))
        elif "json" in kind or path.endswith(".json"):
            try:
                found = list(_stac_hrefs(json.loads(body)))
            except ValueError:
                found = []
        elif "html" in kind or path.endswith((".html", "/")):
            parser = _Hrefs()
            parser.feed(body.decode("utf-8", errors="replace"))
            found = parser.hrefs
        for href in found:
            if href.startswith("file:"):
                result.local.append(f"{url} -> {href}")
                continue
            href = html.unescape(href)
            parts = urllib.parse.urlsplit(href)
            if not parts.scheme and not parts.netloc and not href.startswith("/") and parts.path:
                here = posixpath.dirname(urllib.parse.urlsplit(request).path)
                climbed = _climb(here, parts.path)
                if climbed.startswith("/..") or not climbed.startswith(root_path):
                    result.escapes.append(f"{url} -> {href}")
            absolute = urllib.parse.urljoin(request, href).split("#")[0]
            if absolute.startswith(origins) and absolute not in result.statuses:
                queue.append(absolute)
    return result


def _climb(folder: str, relative: str) -> str:
    """``relative`` from ``folder`` without clamping at '/' (``/a`` + ``../../b`` = ``/../b``)."""
    parts = [p for p in folder.split("/") if p]
    for piece in relative.split("/"):
        if piece == "..":
            parts = parts[:-1] if parts and parts[-1] != ".." else [*parts, ".."]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/" + "/".join(parts) + ("/" if relative.endswith("/") else "")


# -- every reader -------------------------------------------------------------------------


def multihash_sha256(data: bytes) -> str:
    return "1220" + hashlib.sha256(data).hexdigest()


def walk_with_pystac_client(catalog_url: str) -> tuple[int, int, list[str]]:
    """Collections, items and the problems pystac-client meets walking the whole tree; one
    asset per item is downloaded and checked against its ``file:checksum``."""
    import warnings

    from pystac_client import Client

    problems: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client.open(catalog_url)
        collections = list(client.get_all_collections())
        items = 0
        for collection in collections:
            for item in collection.get_items():
                items += 1
                asset = next(a for a in item.assets.values() if "file:checksum" in a.extra_fields)
                status, data, _ = fetch(asset.get_absolute_href() or "")
                if status != 200:
                    problems.append(f"{item.id}: HTTP {status} for {asset.href}")
                elif multihash_sha256(data) != asset.extra_fields["file:checksum"]:
                    problems.append(f"{item.id}: checksum differs for {asset.href}")
    return len(collections), items, problems


def get_every_version(lab_url: str, out: Path) -> dict[str, int]:
    """``eotdl get`` of the latest and of every pinned version: verified files per target."""
    from eotdl.read.download import get

    done = {}
    for target in (NAME, *(f"{NAME}@{v}" for v in VERSIONS)):
        result = get(target, out / target, lab=lab_url, progress=False)
        assert not result.failed
        assert result.with_checksum == result.items, target
        done[target] = result.items
    return done


def one_epoch(lab_url: str, target: str = NAME) -> int:
    """``open_dataset(NAME, lab=URL)`` feeding one DataLoader epoch: the samples seen."""
    from torch.utils.data import DataLoader

    from eotdl.ml.dataset import open_dataset

    ds = open_dataset(target, lab=lab_url)
    seen = 0
    for images, _labels in DataLoader(ds.to_torch("train"), batch_size=2, num_workers=0):
        seen += int(images.shape[0])
    return seen


def page_snippets(page: bytes, root_url: str) -> list[tuple[str, str]]:
    """The "how to download" snippets of a dataset page, as a reader's browser shows them
    (the page's script puts the site's address in place of the placeholder)."""
    from eotdl.site.snippets import PLACEHOLDER

    text = page.decode("utf-8")
    found = re.findall(
        r'<code id="snippet-\d+" class="language-(\w+)"[^>]*>(.*?)</code>', text, re.S
    )
    return [(lang, html.unescape(code).replace(PLACEHOLDER, root_url)) for lang, code in found]


def run_snippets(root_url: str, work: Path) -> list[str]:
    """Run every snippet of the dataset page at ``root_url`` as printed; their labels."""
    status, page, _ = fetch(f"{root_url}datasets/{NAME}/index.html")
    assert status == 200
    snippets = page_snippets(page, root_url)
    assert snippets, "the dataset page shows no snippets"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    ran = []
    for n, (language, code) in enumerate(snippets):
        folder = work / f"snippet-{n}"
        folder.mkdir(parents=True)
        if language == "sh":
            argv = ["bash", "-ec", code]
        else:
            argv = [sys.executable, "-c", code]
        done = subprocess.run(
            argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"snippet {language}:\n{code}\n{done.stdout}{done.stderr}"
        ran.append(language)
    assert "sh" in ran and "python" in ran
    return ran


def check_readers(
    root_url: str, work: Path, *, folder_index: bool = False, also: tuple[str, ...] = ()
) -> None:
    """Everything a reader does with the site served at ``root_url``, asserted (``also``:
    the other origins the site's hrefs may use, e.g. the store's ``public_url``)."""
    found = crawl([root_url + "catalog.json", root_url + "index.html"], folder_index, also)
    assert not found.local, found.local[:5]
    assert not found.escapes, found.escapes[:5]
    assert not found.failures, dict(list(found.failures.items())[:10])
    versioned = [u for u in found.statuses if f"/datasets/{NAME}/v/" in u]
    for version in VERSIONS:
        for name in ("collection.json", "items.parquet"):
            assert f"{root_url}datasets/{NAME}/v/{version}/{name}" in versioned, (version, name)
    assets = [u for u in found.statuses if "/objects/sha256/" in u]
    assert len(assets) >= 6  # 6 chips (those of 1.0.0 are among them: same bytes, same key)
    collections, items, problems = walk_with_pystac_client(root_url + "catalog.json")
    assert not problems, problems[:5]
    assert collections >= 2 + len(VERSIONS) and items >= 6 + 4 + 6 + 1
    counts = get_every_version(root_url, work / "get")
    assert counts == {NAME: 6, f"{NAME}@1.0.0": 4, f"{NAME}@1.1.0": 6}
    assert one_epoch(root_url) > 0
    assert one_epoch(root_url, f"{NAME}@1.0.0") > 0
    run_snippets(root_url, work / "snippets")
