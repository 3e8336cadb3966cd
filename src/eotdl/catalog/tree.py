"""The static STAC tree any STAC client can walk, written in time linear in the items.

``catalog.json`` → ``datasets/<name>/collection.json`` → ``datasets/<name>/items/<id>.json``
(models likewise under ``models/``). Links are relative; ``self`` links are absolute and only
written when the lab has a public ``base_url``. Relative hrefs of the lab (assets in the
embedded store, links between items) are rewritten so they still resolve from their new place.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.lab import Lab
from eotdl.errors import InputError

STAC_VERSION = "1.1.0"
#: Link relations the tree writer owns; any others in the lab are kept (rewritten if relative).
STRUCTURAL = {"root", "self", "parent", "child", "item", "collection"}
_UNSAFE_ID = re.compile(r"[\x00-\x1f/\\]|^\.|^$")


@dataclass
class TreeSummary:
    """What was written."""

    root: Path
    collections: int
    items: int
    seconds: float


def safe_file_name(item_id: str) -> str:
    """The file name for an item id; ids that could escape their folder are refused."""
    if _UNSAFE_ID.search(item_id) or len(item_id) > 200:
        raise InputError(
            f"item id {item_id!r} cannot be a file name in the STAC tree",
            hint="ids must not be empty, start with '.', or contain '/', '\\' or control"
            " characters (at most 200 characters)",
        )
    return f"{item_id}.json"


def _is_relative(href: str) -> bool:
    return not urllib.parse.urlsplit(href).scheme and not href.startswith("/")


def rebase(href: str, source_dir: Path, target_dir: Path) -> str:
    """A relative ``href`` written in ``source_dir``, as seen from ``target_dir``."""
    if not _is_relative(href):
        return href
    path, _, fragment = href.partition("#")
    folder, _, name = path.rpartition("/")
    prefix = _rebase_folder(folder, str(source_dir), str(target_dir))
    return (
        prefix
        + urllib.parse.quote(urllib.parse.unquote(name), safe=".-_~")
        + (f"#{fragment}" if fragment else "")
    )


@functools.lru_cache(maxsize=4096)
def _rebase_folder(folder: str, source_dir: str, target_dir: str) -> str:
    absolute = os.path.normpath(os.path.join(source_dir, urllib.parse.unquote(folder)))
    relative = os.path.relpath(absolute, target_dir).replace(os.sep, "/")
    if relative == ".":
        return "./"
    if not relative.startswith("."):
        relative = "./" + relative
    return urllib.parse.quote(relative, safe="/.-_~") + "/"


def _link(rel: str, href: str, title: str | None = None) -> dict[str, Any]:
    link: dict[str, Any] = {"rel": rel, "href": href, "type": "application/json"}
    if title:
        link["title"] = title
    return link


def _kept_links(obj: dict[str, Any], source_dir: Path, target_dir: Path) -> list[dict[str, Any]]:
    kept = []
    for link in obj.get("links") or []:
        if isinstance(link, dict) and link.get("rel") not in STRUCTURAL:
            link = dict(link)
            if isinstance(link.get("href"), str):
                link["href"] = rebase(link["href"], source_dir, target_dir)
            kept.append(link)
    return kept


def _rebase_assets(obj: dict[str, Any], source_dir: Path, target_dir: Path) -> None:
    assets = obj.get("assets")
    if not isinstance(assets, dict):
        return
    for key, asset in list(assets.items()):
        if isinstance(asset, dict) and isinstance(asset.get("href"), str):
            assets[key] = {**asset, "href": rebase(asset["href"], source_dir, target_dir)}


class _Writer:
    def __init__(self, out: Path, base_url: str, pool: ThreadPoolExecutor) -> None:
        self.out = str(out)
        self.base_url = base_url.rstrip("/") + "/" if base_url else ""
        self.pool = pool

    def self_link(self, relative: str) -> list[dict[str, Any]]:
        return [_link("self", self.base_url + relative)] if self.base_url else []

    def write(self, relative: str, obj: dict[str, Any]) -> None:
        _write_file(os.path.join(self.out, relative), canonical.dumps_pretty(obj))

    def write_many(self, files: list[tuple[str, bytes]]) -> None:
        """Write many small files; file creation is syscall-bound, so threads help."""
        if len(files) < 64:
            for relative, data in files:
                _write_file(os.path.join(self.out, relative), data)
            return
        list(self.pool.map(lambda f: _write_file(os.path.join(self.out, f[0]), f[1]), files))


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def write_stac_tree(lab: Lab, out: str | os.PathLike[str] | None = None) -> TreeSummary:
    """Write the lab's STAC tree into ``out`` (default: the site folder) atomically."""
    start = time.perf_counter()
    target = Path(out) if out is not None else lab.site_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        collections, items = _write_into(lab, staging, target)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return TreeSummary(target, collections, items, time.perf_counter() - start)


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target`` with two renames."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_into(lab: Lab, staging: Path, final: Path) -> tuple[int, int]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return _write_with(_Writer(staging, lab.config.base_url, pool), lab, final)


def _write_with(writer: _Writer, lab: Lab, final: Path) -> tuple[int, int]:
    children = []
    total_items = 0
    folders = [("datasets", f) for f in lab.datasets()] + [("models", f) for f in lab.models()]
    for group, folder in folders:
        relative = f"{group}/{folder.name}/collection.json"
        title, count = _write_collection(writer, folder, group, final)
        children.append(_link("child", f"./{relative}", title))
        total_items += count
    root = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": _slug(lab.config.title) or "eotdl-lab",
        "title": lab.config.title,
        "description": f"{lab.config.title}: Earth-observation training datasets and models.",
        "links": [
            _link("root", "./catalog.json", lab.config.title),
            *writer.self_link("catalog.json"),
            *children,
        ],
    }
    writer.write("catalog.json", root)
    return len(children), total_items


def _write_collection(
    writer: _Writer, folder: DatasetFolder, group: str, final: Path
) -> tuple[str, int]:
    relative_dir = f"{group}/{folder.name}"
    os.makedirs(os.path.join(writer.out, relative_dir, "items"), exist_ok=True)
    final_dir = final / relative_dir
    collection = folder.read_collection()
    item_links = []
    count = 0
    batch: list[tuple[str, bytes]] = []
    for item in folder.iter_items():
        name = safe_file_name(str(item.get("id", "")))
        item_links.append(_link("item", f"./items/{name}"))
        relative = f"{relative_dir}/items/{name}"
        batch.append(
            (relative, _item_bytes(writer, item, folder.path, final_dir / "items", relative))
        )
        count += 1
        if len(batch) >= 512:
            writer.write_many(batch)
            batch = []
    writer.write_many(batch)
    collection = dict(collection)
    collection["links"] = [
        _link("root", "../../catalog.json"),
        _link("parent", "../../catalog.json"),
        *writer.self_link(f"{relative_dir}/collection.json"),
        *_kept_links(collection, folder.path, final_dir),
        *item_links,
    ]
    _rebase_assets(collection, folder.path, final_dir)
    writer.write(f"{relative_dir}/collection.json", collection)
    return str(collection.get("title") or folder.name), count


def _item_bytes(
    writer: _Writer, item: dict[str, Any], source_dir: Path, final_dir: Path, relative: str
) -> bytes:
    item = dict(item)
    item["links"] = [
        _link("root", "../../../catalog.json"),
        _link("parent", "../collection.json"),
        _link("collection", "../collection.json"),
        *writer.self_link(relative),
        *_kept_links(item, source_dir, final_dir),
    ]
    _rebase_assets(item, source_dir, final_dir)
    return canonical.dumps_pretty(item)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def iter_tree_files(root: Path) -> Iterator[Path]:
    """Every JSON file of a written tree (for tests and publishing)."""
    yield from sorted(root.rglob("*.json"))
