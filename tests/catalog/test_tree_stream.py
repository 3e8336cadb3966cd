"""The streaming parts of the STAC tree writer: pretty JSON a piece at a time, the rows file, the
merge with the previous build's rows, the streamed parquet patch and Croissant card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from synthetic import make_item

from eotdl.catalog import canonical, geoparquet
from eotdl.catalog.croissant import croissant, dumps, write_croissant
from eotdl.catalog.lab import init_lab
from eotdl.catalog.tree import ROWS, ItemRows, write_stac_tree
from eotdl.errors import InputError
from stacgen import collection, item

S = canonical.STREAM


def _expanded(obj: Any, streams: list[list[Any]]) -> Any:
    """``obj`` with each placeholder replaced by its stream's elements, in document order."""
    queue = list(streams)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(value[k]) for k in sorted(value)}
        if isinstance(value, list):
            out: list[Any] = []
            for element in value:
                if element == S:
                    out.extend(queue.pop(0))
                else:
                    out.append(walk(element))
            return out
        return value

    return walk(obj)


@pytest.mark.parametrize(
    ("obj", "streams"),
    [
        ({"links": [{"rel": "root"}, S]}, [[{"rel": "item", "n": n} for n in range(5)]]),
        ({"links": [{"rel": "root"}, S]}, [[]]),
        ({"links": [S, {"rel": "last"}]}, [[]]),
        ({"links": [{"a": 1}, S, {"b": 2}]}, [[]]),
        ({"links": [S]}, [[]]),
        ({"data": [S], "z": {"deep": [[S], 3]}}, [[1, "two", {"x": [1, 2]}], []]),
        ({"a": [S], "b": [{"c": [S]}]}, [[{"k": "v"}], [{"nested": {"m": [1]}}, {}]]),
        ([S], [["\u00e9t\u00e9", None, 1.5]]),
    ],
)
def test_pretty_chunks_are_the_bytes_of_dumps_pretty(obj: Any, streams: list[list[Any]]) -> None:
    written = b"".join(canonical.pretty_chunks(obj, [iter(s) for s in streams]))
    assert written == canonical.dumps_pretty(_expanded(obj, streams))
    # pre-serialised elements (spooled) give the same bytes
    spooled = [[canonical.pretty_element(e) for e in s] for s in streams]
    assert b"".join(canonical.pretty_chunks(obj, spooled)) == written


def test_pretty_chunks_needs_one_stream_per_placeholder() -> None:
    with pytest.raises(ValueError, match="placeholders"):
        list(canonical.pretty_chunks({"a": [S, S]}, [[]]))


def _items(count: int) -> list[dict[str, Any]]:
    items = []
    for n in range(count):
        it = make_item(n, "cr")
        it["properties"]["ml-aoi:split"] = ("train", "test")[n % 2]
        if n % 3 == 0:
            it["properties"]["label:properties"] = ["cls"]
            it["properties"]["cls"] = f"c{n % 4}"
        items.append(it)
    return items


@pytest.mark.parametrize("count", [0, 1, 7])
def test_streamed_croissant_card_is_the_card(tmp_path: Path, count: int) -> None:
    coll = collection("cr")
    items = _items(count)
    chunks: list[bytes] = []
    write_croissant(
        lambda pieces: chunks.extend(pieces), tmp_path, coll, iter(items), url="https://x.org"
    )
    assert b"".join(chunks) == dumps(croissant(coll, items, url="https://x.org"))
    assert list(tmp_path.iterdir()) == []  # the spool files are gone


def _lab(tmp_path: Path, ids: list[str]) -> Any:
    lab = init_lab(tmp_path / "lab")
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    folder.write_items([item(i) for i in ids])
    return lab


def _write_lines(path: Path, items: list[dict[str, Any]]) -> None:
    """items.ndjson in the given order (not sorted: as a hand edit might leave it)."""
    path.write_bytes(b"".join(canonical.dumps(i) + b"\n" for i in items))


def _tree_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.suffix != ".parquet"
    }


def _rows(root: Path) -> list[Any]:
    return [json.loads(line) for line in (root / "datasets/ds" / ROWS).read_text().splitlines()]


def test_rows_file_holds_each_item_in_order(tmp_path: Path) -> None:
    lab = _lab(tmp_path, ["b", "a", "c"])
    write_stac_tree(lab)
    rows = _rows(lab.site_dir)
    assert [r[0] for r in rows] == ["a", "b", "c"]
    entries = ItemRows(lab.site_dir / "datasets/ds" / ROWS, 3)
    assert [e.id for e in entries] == [e.id for e in entries] == ["a", "b", "c"]


@pytest.mark.parametrize("order", ["sorted", "unsorted"])
def test_incremental_tree_equals_a_full_one(tmp_path: Path, order: str) -> None:
    """Changes, insertions and removals, in a sorted and an unsorted items.ndjson: the tree
    patched by an incremental build is the tree a full build writes."""
    ids = [f"i{n:02d}" for n in range(12)]
    lab = _lab(tmp_path, ids)
    folder = lab.dataset("ds")
    items = list(folder.iter_items())
    if order == "unsorted":
        items = items[6:] + items[:6]
        _write_lines(folder.items_path, items)
    write_stac_tree(lab, parquet=True)
    items[2]["properties"]["gsd"] = 7  # changed
    del items[4]  # removed
    del items[8]
    items.insert(5, item("i03b"))  # added
    items.append(item("zz"))
    _write_lines(folder.items_path, items)
    summary = write_stac_tree(lab, parquet=True)
    assert summary.items_written < len(items)
    full = tmp_path / "full"
    write_stac_tree(lab, full, parquet=True, full=True)
    assert _tree_files(lab.site_dir) == _tree_files(full)
    assert _rows(lab.site_dir) == _rows(full)
    patched = pq.read_table(lab.site_dir / "datasets/ds/items.parquet")
    written = pq.read_table(full / "datasets/ds/items.parquet")
    assert patched.equals(written)
    removed = set(ids) - {i["id"] for i in items}
    assert len(removed) == 2
    assert not any((lab.site_dir / "datasets/ds/items" / f"{i}.json").exists() for i in removed)


def test_duplicate_ids_refused_in_an_unsorted_file(tmp_path: Path) -> None:
    lab = _lab(tmp_path, ["a", "b", "c"])
    folder = lab.dataset("ds")
    items = list(folder.iter_items())
    _write_lines(folder.items_path, [items[1], items[0], items[2], items[1]])
    with pytest.raises(InputError, match="duplicate item id 'b'"):
        write_stac_tree(lab)
    assert not lab.site_dir.exists()


def test_streamed_parquet_patch_keeps_the_sort_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small row groups, so the new rows are merged across several of them."""
    monkeypatch.setattr(geoparquet, "ROW_GROUP", 5)
    items = [make_item(n, "pp") for n in range(40)]
    geoparquet.write_items_parquet(items, tmp_path / "a.parquet")
    changed = [dict(items[n], properties={**items[n]["properties"], "gsd": 3}) for n in (3, 17)]
    added = [make_item(n, "pp") for n in (100, 250, 333)]
    removed = {items[9]["id"], items[30]["id"]}
    assert geoparquet.patch_items_parquet(
        tmp_path / "a.parquet", tmp_path / "b.parquet", changed + added, removed
    )
    expected = [
        i for i in items if i["id"] not in removed and i["id"] not in {c["id"] for c in changed}
    ]
    geoparquet.write_items_parquet(expected + changed + added, tmp_path / "c.parquet")
    patched, written = pq.read_table(tmp_path / "b.parquet"), pq.read_table(tmp_path / "c.parquet")
    assert patched.equals(written)
    assert pq.ParquetFile(tmp_path / "b.parquet").metadata.row_group(0).num_rows == 5


@pytest.mark.parametrize(
    "href",
    [
        "../../store/objects/sha256/ab/cdef.tif",
        "./local.tif",
        "plain.png",
        "../x/..",
        "sub/dir/a%20b.tif",
        "sub/%2e%2e/x.tif",
        "https://example.org/a/b.tif",
        "/abs/path.tif",
        "a/b.tif#frag",
        "a#b/c.tif",
        "../../../../../../outside.tif",
    ],
)
def test_card_hrefs_placed_per_folder_are_placed_per_href(tmp_path: Path, href: str) -> None:
    from eotdl.catalog.croissant import _site_href, _site_place
    from eotdl.catalog.tree import rebase

    base, items_dir = tmp_path / "lab/datasets/d", tmp_path / "._site.x/datasets/d/items"
    place = _site_place(base, items_dir)
    expected = _site_href(rebase(href, base, items_dir), "items")
    assert place(href) == place(href) == expected
