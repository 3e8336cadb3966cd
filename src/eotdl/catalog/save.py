"""Saving a built dataset into the lab: upload its local files, lay out its folder.

Builders yield Items whose assets point at local files. :func:`save_dataset` uploads those
files to the lab's store (content-addressed, in parallel, verified), rewrites the hrefs to the
stored objects with ``file:checksum``/``file:size``, computes the collection's extents, and
writes the dataset folder (collection, sorted canonical items, card, recipe) by renaming a
finished staging folder into place: a failure at any step leaves the lab as it was.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eotdl.catalog import canonical, ndjson
from eotdl.catalog.card import Card, write_card
from eotdl.catalog.dataset import COLLECTION, ITEMS, RECIPE, DatasetFolder
from eotdl.catalog.extent import ExtentAccumulator
from eotdl.catalog.lab import Lab
from eotdl.catalog.locks import dataset_lock, scratch
from eotdl.catalog.store import asset_href, open_lab_store
from eotdl.catalog.vocabulary import FILE_EXT, SPLIT
from eotdl.errors import InputError
from eotdl.storage import TransferSummary


@dataclass
class SaveResult:
    """What saving a dataset did."""

    folder: DatasetFolder
    items: int
    uploaded: int
    skipped: int
    bytes: int
    splits: dict[str, int] = field(default_factory=dict)


def local_path(href: str) -> Path | None:
    """The local file an href names (an absolute path or ``file://`` URL), else None."""
    if href.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(href).path))
    if os.path.isabs(href):
        return Path(href)
    return None


def save_dataset(
    lab: Lab,
    name: str,
    items: Iterable[dict[str, Any]],
    collection: dict[str, Any] | Callable[[], dict[str, Any]],
    card: Card | None = None,
    recipe: dict[str, Any] | None = None,
    *,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    progress: bool = True,
    keep_card: bool = True,
    keep_recipe: bool = False,
    upload: Callable[[list[str]], TransferSummary] | None = None,
) -> SaveResult:
    """Upload the items' local assets and write ``datasets/<name>/`` in one step.

    ``collection`` may be a function, called once every item has been made (so a builder can
    put statistics over all its items in it). ``upload`` stores the local files instead of the
    lab store's ``put_files`` (an ingest on a Dask cluster: the workers upload them).
    """
    folder = lab.dataset(name)
    with dataset_lock(lab, name), scratch(lab, f"save-{name}-") as workdir:
        spool = workdir / "spool.ndjson"
        files: dict[str, None] = {}
        count = _spool(items, spool, files, transform, progress)
        if count == 0:
            raise InputError(f"the builder produced no items for dataset {name!r}")
        if upload is not None:
            summary = upload(list(files))
        else:
            summary = open_lab_store(lab).put_files(list(files), progress=progress)
        staging = workdir / "dataset"
        staging.mkdir()
        extent = ExtentAccumulator()
        splits: dict[str, int] = {}

        def finished() -> Iterator[dict[str, Any]]:
            for item in ndjson.iter_items(spool):
                _link_assets(item, lab, folder.path, summary.objects)
                _link_collection(item, name)
                extent.add(item)
                split = item.get("properties", {}).get(SPLIT)
                if split:
                    splits[split] = splits.get(split, 0) + 1
                yield item

        ndjson.write_items(staging / ITEMS, finished())
        base = collection() if callable(collection) else collection
        full = _collection(base, name, extent, splits)
        (staging / COLLECTION).write_bytes(canonical.dumps_pretty(full))
        if keep_card and folder.card_path.exists():
            shutil.copy2(folder.card_path, staging / "README.md")
        elif card is not None:
            write_card(staging / "README.md", card)
        if keep_recipe and recipe is None and folder.recipe_path.exists():
            shutil.copy2(folder.recipe_path, staging / RECIPE)
        elif recipe is not None:
            (staging / RECIPE).write_text(
                yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
        _replace_folder(staging, folder.path, workdir / "old")
    return SaveResult(folder, count, summary.sent, summary.skipped, summary.bytes, splits)


def _spool(
    items: Iterable[dict[str, Any]],
    spool: Path,
    files: dict[str, None],
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None,
    progress: bool,
) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    count = 0
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description} {task.completed} items"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not progress, transient=True) as bar, spool.open("wb") as out:
        task = bar.add_task("building", total=None)
        for item in items:
            bar.advance(task)
            if hasattr(item, "to_dict"):
                item = item.to_dict(include_self_link=False)  # a pystac Item
            if transform is not None:
                item = transform(item)
            for key, asset in (item.get("assets") or {}).items():
                path = local_path(str(asset.get("href", "")))
                if path is None:
                    continue
                if not path.is_file():
                    raise InputError(
                        f"item {item.get('id')!r}: asset {key!r} points at {path},"
                        " which is not a file"
                    )
                files[str(path)] = None
            out.write(canonical.dumps(item) + b"\n")
            count += 1
    return count


def _link_assets(item: dict[str, Any], lab: Lab, dataset_dir: Path, stored: dict) -> None:
    """Point local hrefs (assets and links) at the stored objects, with file:* fields."""
    uses_file = False
    rewritten: dict[str, str] = {}
    for asset in (item.get("assets") or {}).values():
        path = local_path(str(asset.get("href", "")))
        if path is None:
            continue
        obj = stored[str(path)]
        href = asset_href(lab, dataset_dir, obj)
        rewritten[asset["href"]] = href
        asset["href"] = href
        asset["file:checksum"] = obj.checksum
        asset["file:size"] = obj.size
        uses_file = True
    for link in item.get("links") or []:
        href = link.get("href")
        if isinstance(href, str) and href in rewritten:
            link["href"] = rewritten[href]
    if uses_file:
        extensions = item.setdefault("stac_extensions", [])
        if FILE_EXT not in extensions:
            extensions.append(FILE_EXT)


def _link_collection(item: dict[str, Any], name: str) -> None:
    """Every item names its collection and links to it (``./collection.json`` in the lab)."""
    item["collection"] = name
    links = [link for link in item.get("links") or [] if link.get("rel") != "collection"]
    links.append({"rel": "collection", "href": "./collection.json", "type": "application/json"})
    item["links"] = links


def _collection(
    base: dict[str, Any], name: str, extent: ExtentAccumulator, splits: dict[str, int]
) -> dict[str, Any]:
    collection: dict[str, Any] = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": name,
        "description": "",
        "license": "other",
        "links": [],
        "version": "1.0.0",
        **base,
    }
    collection["id"] = name
    collection["extent"] = extent.to_extent()
    if splits:
        summaries = collection.setdefault("summaries", {})
        summaries[SPLIT] = sorted(splits)
    return collection


def _replace_folder(staging: Path, target: Path, old: Path) -> None:
    """Swap ``staging`` in for ``target``; the previous folder goes to ``old`` (in scratch)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    moved = False
    if target.exists():
        os.replace(target, old)
        moved = True
    try:
        os.replace(staging, target)
    except BaseException:
        if moved:
            os.replace(old, target)
        raise
