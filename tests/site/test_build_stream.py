"""The site build streams its items: an incremental build writes the site a full build writes,
and the pages made from streamed rows are the pages made from a list of every item."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sitelab import make_site_lab
from synthetic import make_item

from eotdl.catalog.tree import ItemEntry, ItemRows
from eotdl.site import folderpages, summary
from eotdl.site.build import build_site
from eotdl.site.gallery import GALLERY_PER_GROUP, MAX_CLASSES, gallery, row
from eotdl.site.summary import footprints


def _site_files(root: Path) -> dict[str, bytes]:
    """Every file of a built site but the build's own manifests (they name what was reused)
    and the parquet files (compared by content: row groups may be cut differently)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix != ".parquet"
        and "/objects/" not in f"/{p.relative_to(root).as_posix()}"
    }


@pytest.mark.parametrize("edit", ["change", "change-remove-add", "remove-many"])
def test_incremental_site_equals_a_full_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """One item changed, one removed, one added in a dataset shown as a grid of footprints
    (small limits stand for a big dataset): every page, the collection, the Croissant card
    and the parquet rows are those of a full build."""
    monkeypatch.setattr(folderpages, "PAGE_SIZE", 20)
    monkeypatch.setattr(folderpages, "ITEM_PAGES_MAX", 100)
    monkeypatch.setattr(folderpages, "_THUMB_BOXES", 30)
    monkeypatch.setattr(summary, "MAX_FOOTPRINTS", 50)
    lab = make_site_lab(tmp_path / "lab", many=150)
    build_site(lab, qa=False)
    folder = lab.dataset("many-chips")
    items = list(folder.iter_items())
    items[40]["properties"]["datetime"] = "2023-07-15T09:00:00Z"
    if edit == "change-remove-add":
        del items[70]
        items.append(make_item(999, "many-chips"))
    if edit == "remove-many":  # a list page fewer
        del items[100:125]
    folder.write_items(items)
    incremental = build_site(lab, qa=False)
    assert 0 < incremental.items_written <= 3
    pages = sorted(p.name for p in (lab.site_dir / "datasets/many-chips/items").glob("*.html"))
    assert pages == sorted(
        ["index.html"] + [f"page-{n}.html" for n in range(2, 9 if edit != "remove-many" else 8)]
    )
    other = lab.root / "_full"  # beside _site: the cards' relative hrefs are the same
    full = build_site(lab, other, qa=False, full=True)
    assert full.items_written > 150
    assert _site_files(lab.site_dir) == _site_files(other)
    for name in ("chips", "many-chips"):
        relative = f"datasets/{name}/items.parquet"
        assert pq.read_table(lab.site_dir / relative).equals(pq.read_table(other / relative))


def _entries(count: int, seed: int) -> list[ItemEntry]:
    rng = random.Random(seed)
    entries = []
    for n in range(count):
        x, y = rng.uniform(-20, 20), rng.uniform(-10, 10)
        box = [round(x, 5), round(y, 5), round(x + 0.1, 5), round(y + 0.1, 5)]
        preview = f"objects/sha256/{n:04d}.png" if rng.random() < 0.7 else None
        label = rng.choice(["a", "b", "c", None])
        split = rng.choice(["train", "test", None])
        facts = [box if rng.random() < 0.9 else None, None, None, split, 10, preview, label]
        entries.append(ItemEntry(f"it-{n:05d}", facts, False))
    return entries


def _gallery_by_lists(entries: list[ItemEntry], item_pages: bool) -> dict[str, Any]:
    """The gallery as it was computed from the list of every item (before streaming)."""
    by_class: dict[str, list[ItemEntry]] = {}
    by_split: dict[str, list[ItemEntry]] = {}
    for entry in entries:
        facts = entry.facts
        if len(facts) < 7 or not facts[5]:
            continue
        if facts[6]:
            by_class.setdefault(str(facts[6]), []).append(entry)
        if facts[3]:
            by_split.setdefault(str(facts[3]), []).append(entry)

    def pick(groups: dict[str, list[ItemEntry]]) -> list[tuple[str, list]]:
        shown = []
        for name in sorted(groups)[:MAX_CLASSES]:
            found = groups[name]
            stride = max(1, len(found) // GALLERY_PER_GROUP)
            rows = [row(e, 0, item_pages) for e in found[::stride][:GALLERY_PER_GROUP]]
            shown.append((name, rows))
        return shown

    return {"classes": pick(by_class), "splits": pick(by_split)}


def _grid_by_lists(entries: list[ItemEntry]) -> list[list[float]]:
    """The footprint grid as it was computed from the list of every box."""
    boxes = [e.facts[0] for e in entries if e.facts[0]]
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    side = max(1, int(math.sqrt(summary.MAX_FOOTPRINTS)))
    width, height = max((east - west) / side, 1e-9), max((north - south) / side, 1e-9)
    cells: dict[tuple[int, int], list[float]] = {}
    for box in boxes:
        cx = min(side - 1, int(((box[0] + box[2]) / 2 - west) / width))
        cy = min(side - 1, int(((box[1] + box[3]) / 2 - south) / height))
        cell = cells.setdefault((cx, cy), [box[0], box[1], box[2], box[3], 0])
        cell[:4] = [min(cell[0], box[0]), min(cell[1], box[1]), max(cell[2], box[2]),
                    max(cell[3], box[3])]  # fmt: skip
        cell[4] += 1
    return [[round(v, 5) for v in c[:4]] + [c[4]] for _, c in sorted(cells.items())]


def _as_rows(tmp_path: Path, entries: list[ItemEntry]) -> ItemRows:
    """The entries as a build's rows file streams them."""
    from eotdl.catalog import canonical

    path = tmp_path / "rows.ndjson"
    path.write_bytes(b"".join(canonical.dumps([e.id, "d", e.facts]) + b"\n" for e in entries))
    return ItemRows(path, len(entries), set())


@pytest.mark.parametrize("count", [0, 40, 900])
def test_streamed_gallery_and_footprints_are_those_of_the_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(summary, "MAX_FOOTPRINTS", 100)
    entries = _entries(count, seed=count)
    rows = _as_rows(tmp_path, entries)
    assert gallery(rows, True) == gallery(entries, True) == _gallery_by_lists(entries, True)
    data = footprints(rows, False)
    assert data == footprints(entries, False)
    if count > 100:
        assert data == {"kind": "grid", "cells": _grid_by_lists(entries)}
    else:
        assert data["kind"] == "items"
        assert [i[0] for i in data["items"]] == [e.id for e in entries if e.facts[0]]
