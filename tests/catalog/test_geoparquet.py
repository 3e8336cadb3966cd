"""stac-geoparquet files: written in chunks, patched by id, read back as the same items."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from stac_geoparquet.arrow import stac_table_to_items
from synthetic import make_item

from eotdl.catalog.geoparquet import (
    ItemsParquetWriter,
    count_items_parquet,
    patch_items_parquet,
    read_items_parquet,
    write_items_parquet,
)
from eotdl.errors import InputError


def _items(count: int) -> list[dict]:
    items = []
    for index in range(count):
        item = make_item(index, "gp")
        if index % 4 == 0:
            item["properties"]["ml-aoi:split"] = "test"  # a sparse column
        items.append(item)
    return items


@pytest.mark.parametrize("chunk", [3, 1000])
def test_round_trip(tmp_path: Path, chunk: int) -> None:
    items = _items(10)
    assert write_items_parquet(iter(items), tmp_path / "a.parquet", chunk_size=chunk) == 10
    assert list(read_items_parquet(tmp_path / "a.parquet")) == items
    assert count_items_parquet(tmp_path / "a.parquet") == 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".parts-")]


def test_plain_stac_geoparquet_and_pyarrow_read_it(tmp_path: Path) -> None:
    items = _items(5)
    write_items_parquet(items, tmp_path / "a.parquet")
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.num_rows == 5 and b"geo" in table.schema.metadata
    assert table.column("id").to_pylist() == [i["id"] for i in items]
    back = list(stac_table_to_items(table))
    assert [b["id"] for b in back] == [i["id"] for i in items]
    assert back[1]["geometry"] == items[1]["geometry"]


def test_patch_replaces_adds_and_removes_by_id(tmp_path: Path) -> None:
    items = _items(8)
    write_items_parquet(items, tmp_path / "a.parquet")
    changed = dict(items[2], properties={**items[2]["properties"], "eo:cloud_cover": 77.5})
    added = make_item(50, "gp")
    assert patch_items_parquet(
        tmp_path / "a.parquet", tmp_path / "b.parquet", [changed, added], removed={items[5]["id"]}
    )
    expected = sorted([*items[:2], changed, *items[3:5], *items[6:], added], key=lambda i: i["id"])
    assert _by_id(read_items_parquet(tmp_path / "b.parquet")) == expected


def test_a_patch_that_changes_the_columns_is_left_to_a_full_write(tmp_path: Path) -> None:
    """A new property (its column's place is the full build's to choose), or a property no
    item has any more: the patch declines and leaves nothing behind."""
    items = _items(8)
    write_items_parquet(items, tmp_path / "a.parquet")
    new = dict(items[2], properties={**items[2]["properties"], "new:thing": "x"})
    assert not patch_items_parquet(tmp_path / "a.parquet", tmp_path / "b.parquet", [new])
    assert not (tmp_path / "b.parquet").exists()
    with_extra = [dict(i, properties={**i["properties"], "only:one": 1}) for i in items[:1]]
    write_items_parquet([*with_extra, *items[1:]], tmp_path / "c.parquet")
    assert not patch_items_parquet(tmp_path / "c.parquet", tmp_path / "d.parquet", [items[0]])
    assert not (tmp_path / "d.parquet").exists()


def test_patch_of_a_missing_file_says_so(tmp_path: Path) -> None:
    assert not patch_items_parquet(tmp_path / "nope.parquet", tmp_path / "b.parquet", [])


def test_empty(tmp_path: Path) -> None:
    assert write_items_parquet([], tmp_path / "e.parquet") == 0
    assert list(read_items_parquet(tmp_path / "e.parquet")) == []


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    writer = ItemsParquetWriter(tmp_path / "a.parquet", chunk_size=2)
    for item in _items(5):
        writer.add(item)
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_not_parquet(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_text("hello")
    with pytest.raises(InputError, match="not a parquet file"):
        list(read_items_parquet(tmp_path / "x.parquet"))
    with pytest.raises(InputError, match="no such file"):
        list(read_items_parquet(tmp_path / "missing.parquet"))


def _by_id(items: Iterable[dict]) -> list[dict]:
    """Items in id order (files are written in space-time order)."""
    return sorted(items, key=lambda item: item["id"])


def _no_place(item: dict) -> dict:
    """``item`` as an image with no place on Earth: null geometry, no bbox."""
    item = dict(item, geometry=None)
    del item["bbox"]
    return item


@pytest.mark.parametrize("chunk", [3, 1000])
def test_null_geometry_round_trip(tmp_path: Path, chunk: int) -> None:
    items = [_no_place(i) if n % 3 else i for n, i in enumerate(_items(10))]
    assert write_items_parquet(items, tmp_path / "a.parquet", chunk_size=chunk) == 10
    assert _by_id(read_items_parquet(tmp_path / "a.parquet")) == items
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.column("geometry").null_count == 6 and table.column("bbox").null_count == 6


def test_only_null_geometries_and_patch(tmp_path: Path) -> None:
    items = [_no_place(i) for i in _items(4)]
    write_items_parquet(items, tmp_path / "a.parquet")
    assert _by_id(read_items_parquet(tmp_path / "a.parquet")) == items
    placed = make_item(50, "gp")
    assert patch_items_parquet(tmp_path / "a.parquet", tmp_path / "b.parquet", [placed])
    assert _by_id(read_items_parquet(tmp_path / "b.parquet")) == [*items, placed]


@pytest.mark.parametrize("chunk", [4, 1000])
def test_items_without_assets(tmp_path: Path, chunk: int) -> None:
    """In-situ observations often have ``assets: {}``: a struct Parquet cannot hold when every
    item of a chunk has it (20,000 such items crashed the chunked write)."""
    items = [dict(i, assets={}) for i in _items(10)]
    mixed = [dict(i, assets={}) if n < 5 else i for n, i in enumerate(_items(10))]
    for rows in (items, mixed):
        write_items_parquet(rows, tmp_path / "a.parquet", chunk_size=chunk)
        assert list(read_items_parquet(tmp_path / "a.parquet")) == rows


def test_search_readers_read_null_geometries(tmp_path: Path) -> None:
    from eotdl.catalog.locations import Reader
    from eotdl.catalog.parquet_items import table_items
    from eotdl.read.parquet import items_to_table, read_parquet

    items = [_no_place(i) if n % 2 else dict(i, assets={}) for n, i in enumerate(_items(6))]
    write_items_parquet(items, tmp_path / "a.parquet")
    back = list(table_items(read_parquet(str(tmp_path / "a.parquet"), Reader())))
    assert [b["geometry"] for b in back] == [i["geometry"] for i in items]
    assert ["bbox" in b for b in back] == ["bbox" in i for i in items]
    assert [b["assets"] for b in back] == [i["assets"] for i in items]
    assert [b["id"] for b in table_items(items_to_table(items))] == [i["id"] for i in items]
