"""A large items.parquet is sorted on disk: parts of a few chunks, read back a key range at a
time, one part at a time, each range let go before the next is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from eotdl.catalog import geoparquet
from eotdl.catalog.geoparquet import read_items_parquet, sort_order, write_items_parquet
from eotdl.catalog.parquetsplice import SegmentedWriter


def _items(count: int, seed: int = 3) -> list[dict[str, Any]]:
    """Items over 30° and a year, some with a sparse property, some with a second asset, a
    few with no place."""
    rng = np.random.default_rng(seed)
    items = []
    for index in range(count):
        x, y = float(rng.uniform(0, 30)), float(rng.uniform(-10, 20))
        day = int(rng.integers(0, 365))
        item: dict[str, Any] = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": [],
            "id": f"s-{index:05d}",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]],
            },
            "bbox": [x, y, x + 0.1, y + 0.1],
            "properties": {
                "datetime": f"2021-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}T10:00:00Z",
                "eo:cloud_cover": float(index % 100),
            },
            "links": [],
            "assets": {"image": {"href": f"./{index}.tif", "type": "image/tiff"}},
        }
        if index % 7 == 0:
            item["properties"]["ml-aoi:split"] = "test"
        if index % 11 == 0:
            item["assets"]["label"] = {"href": f"./{index}-label.tif"}
        if index % 97 == 0:
            item["geometry"] = None
            del item["bbox"]
        items.append(item)
    return items


@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key ranges of about 64 rows in row groups of 16, keys sampled one in four."""
    monkeypatch.setattr(geoparquet, "ROW_GROUP", 16)
    monkeypatch.setattr(geoparquet, "SORT_BUCKET", 64)
    monkeypatch.setattr(geoparquet, "KEY_SAMPLE", 4)


@pytest.mark.usefixtures("small_ranges")
@pytest.mark.parametrize("chunk", [9, 25])
def test_sorted_on_disk_reads_as_sorted_in_memory(tmp_path: Path, chunk: int) -> None:
    items = _items(700)
    write_items_parquet(items, tmp_path / "parts.parquet", chunk_size=chunk)
    write_items_parquet(items, tmp_path / "whole.parquet", chunk_size=10_000)
    parts = pq.read_table(tmp_path / "parts.parquet")
    whole = pq.read_table(tmp_path / "whole.parquet")
    assert parts.column("id").to_pylist() == whole.column("id").to_pylist()
    assert sort_order(parts).to_pylist() == list(range(len(items)))
    by_id = {i["id"]: i for i in items}
    back = list(read_items_parquet(tmp_path / "parts.parquet"))
    assert len(back) == len(items) and all(b == by_id[b["id"]] for b in back)
    groups = pq.ParquetFile(tmp_path / "parts.parquet").metadata
    sizes = [groups.row_group(g).num_rows for g in range(groups.num_row_groups)]
    assert set(sizes[:-1]) == {16}  # every row group full but the last
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".parts-")]


def test_a_range_is_let_go_before_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as the writer reads it (holding the batch it wrote last), the Arrow memory held
    at any batch, and when a range has been read, is one key range: a range whose batches
    were all slices of one table would be kept whole by its last batch while the next range
    is read and sorted."""
    monkeypatch.setattr(geoparquet, "ROW_GROUP", 64)
    monkeypatch.setattr(geoparquet, "SORT_BUCKET", 2000)
    monkeypatch.setattr(geoparquet, "KEY_SAMPLE", 1)  # ranges of 2,000 rows exactly
    held: list[int] = []  # Arrow bytes allocated at each batch, above what was before
    sorted_batches = geoparquet._sorted_batches

    def watched(*args: Any) -> Iterator[pa.RecordBatch]:
        for batch in sorted_batches(*args):
            held.append(pa.total_allocated_bytes() - before)
            yield batch

    concat_tables = pa.concat_tables

    def concat_watched(tables: Any, **options: Any) -> pa.Table:
        held.append(pa.total_allocated_bytes() - before)  # a range read, not yet sorted
        return concat_tables(tables, **options)

    monkeypatch.setattr(geoparquet, "_sorted_batches", watched)
    monkeypatch.setattr(pa, "concat_tables", concat_watched)
    items = [i for i in _items(8000) if i["geometry"] is not None]
    before = pa.total_allocated_bytes()
    write_items_parquet(items, tmp_path / "a.parquet", chunk_size=50)
    one_range = pq.read_table(tmp_path / "a.parquet").nbytes * 2000 / len(items)
    assert len(held) >= len(items) // 64
    # one range and the writer's buffers: 1.2 ranges here, 2.1 when a slice held the last one
    assert max(held) < 1.6 * one_range, (max(held), one_range)


@pytest.mark.usefixtures("small_ranges")
def test_a_large_file_is_written_in_segments_with_one_footer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segments of three row groups, each footer cut off, one footer for all: every reader
    reads the file whole, its statistics and GeoParquet metadata are a plain write's, and
    it can be spliced afterwards."""
    monkeypatch.setattr(geoparquet, "SEGMENT_GROUPS", 3)
    items = _items(500)
    write_items_parquet(items, tmp_path / "seg.parquet", chunk_size=20)
    write_items_parquet(items, tmp_path / "whole.parquet", chunk_size=10_000)
    seg = pq.ParquetFile(tmp_path / "seg.parquet")
    whole = pq.ParquetFile(tmp_path / "whole.parquet")
    assert seg.metadata.num_row_groups == whole.metadata.num_row_groups > 9  # several segments
    assert (
        seg.metadata.num_rows
        == 500
        == sum(seg.metadata.row_group(g).num_rows for g in range(seg.metadata.num_row_groups))
    )
    assert seg.schema_arrow.metadata == whole.schema_arrow.metadata  # geo, stac-geoparquet
    assert seg.read().equals(whole.read())
    for g in range(seg.metadata.num_row_groups):  # each row group read on its own
        assert seg.read_row_group(g).equals(whole.read_row_group(g))
        for c in range(seg.metadata.num_columns):
            a = seg.metadata.row_group(g).column(c).statistics
            b = whole.metadata.row_group(g).column(c).statistics
            assert (a is None) == (b is None) and (a is None or a.equals(b))
    by_id = {i["id"]: i for i in items}
    assert {i["id"]: i for i in read_items_parquet(tmp_path / "seg.parquet")} == by_id
    changed = dict(items[7], properties={**items[7]["properties"], "eo:cloud_cover": 1.5})
    before = {items[7]["id"]: items[7]}
    assert geoparquet.splice_items_parquet(
        tmp_path / "seg.parquet", tmp_path / "spliced.parquet", [changed], (), before
    )
    again = {i["id"]: i for i in read_items_parquet(tmp_path / "spliced.parquet")}
    assert again == {**by_id, changed["id"]: changed}


def test_segments_without_rows_and_a_failed_write(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string())])
    empty = SegmentedWriter(tmp_path / "e.parquet", schema, 2)
    empty.close()
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0
    broken = SegmentedWriter(tmp_path / "b.parquet", schema, 2)
    broken.write_batch(pa.record_batch([pa.array(["a"])], schema=schema))
    with pytest.raises(ValueError):
        broken.write_batch(pa.record_batch([pa.array([1])], names=["id"]))
    broken.abort()
    assert not (tmp_path / "b.parquet").exists()
