"""The space-time sort key of the parquet files: one uint64 per row, from the row alone, that
separates items by place and by time so row groups prune on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from eotdl.catalog import geoparquet
from eotdl.catalog.geoparquet import items_to_arrow, sort_order, spatial_keys, write_items_parquet

_MAX = np.iinfo(np.uint64).max


def _item(
    index: int,
    lon: float | None,
    lat: float,
    when: str | None,
    span: tuple[str, str] | None = None,
) -> dict[str, Any]:
    properties: dict[str, Any] = {"datetime": when}
    if span is not None:
        properties["start_datetime"], properties["end_datetime"] = span
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": f"k-{index:04d}",
        "geometry": None,
        "properties": properties,
        "links": [],
        "assets": {},
    }
    if lon is not None:
        item["geometry"] = {"type": "Point", "coordinates": [lon, lat]}
        item["bbox"] = [lon, lat, lon, lat]
    return item


def test_one_uint64_per_row_computed_from_the_row_alone() -> None:
    items = [
        _item(i, -170 + (i * 7.3) % 340, -80 + (i * 3.1) % 160, f"20{10 + i % 15}-03-01T00:00:00Z")
        for i in range(300)
    ]
    table = items_to_arrow(items)
    keys = spatial_keys(table)
    assert keys.dtype == np.uint64 and len(keys) == 300
    parts = np.concatenate([spatial_keys(table.slice(s, 50)) for s in range(0, 300, 50)])
    assert np.array_equal(keys, parts)  # a chunk gives the keys the whole table gives
    assert len(np.unique(keys)) == 300


def test_time_orders_items_at_one_place() -> None:
    items = [
        _item(0, 10.0, 45.0, "2024-06-01T00:00:00Z"),
        _item(1, 10.0, 45.0, "2020-01-01T00:00:00Z"),
        _item(2, 10.0, 45.0, "2022-03-01T00:00:00Z"),
    ]
    keys = spatial_keys(items_to_arrow(items))
    assert keys[1] < keys[2] < keys[0]
    assert sort_order(items_to_arrow(items)).to_pylist() == [1, 2, 0]


def test_time_ranges_use_their_middle_and_missing_parts_sort_last() -> None:
    items = [
        _item(0, 10.0, 45.0, None, ("2020-06-01T00:00:00Z", "2020-07-31T00:00:00Z")),
        _item(1, 10.0, 45.0, "2020-07-01T00:00:00Z"),
        _item(2, 10.0, 45.0, None, ("2021-01-01T00:00:00Z", "2021-01-02T00:00:00Z")),
        _item(3, None, 0.0, "2020-07-01T00:00:00Z"),  # no place
        _item(4, 10.0, 45.0, None, ("2021-05-01T00:00:00Z", "2021-05-01T00:00:00Z")),
    ]
    table = items_to_arrow(items)
    keys = spatial_keys(table)
    assert keys[0] == keys[1]  # the middle of June and July is the first of July
    assert keys[0] < keys[2] < keys[4] < keys[3] == _MAX
    assert sort_order(table).to_pylist() == [1, 0, 2, 4, 3]  # equal keys: by datetime, id


def test_an_item_with_no_time_sorts_after_the_timed_ones() -> None:
    timed = [_item(i, 10.0 + i, 45.0, f"20{10 + i}-01-01T00:00:00Z") for i in range(5)]
    untimed = _item(9, 10.0, 45.0, "2020-01-01T00:00:00Z")
    untimed["properties"] = {"datetime": None}
    keys = spatial_keys(items_to_arrow([*timed, untimed]))
    assert keys[5] > keys[:5].max() and keys[5] < _MAX


@pytest.mark.parametrize("chunk", [37, 10_000])
def test_row_groups_are_short_in_space_and_time(tmp_path: Path, chunk: int) -> None:
    """Items over 40° and two years (40° of longitude weigh about as much as two years in
    the key): each row group spans a fraction of both."""
    rng = np.random.default_rng(4)
    items = []
    for i in range(2000):
        day = int(rng.integers(0, 2 * 365))
        year, rest = 2020 + day // 365, day % 365
        when = f"{year}-{1 + rest // 31 % 12:02d}-{1 + rest % 28:02d}T12:00:00Z"
        items.append(_item(i, float(rng.uniform(0, 40)), float(rng.uniform(20, 60)), when))
    items.append(_item(9999, None, 0, "2021-01-01T00:00:00Z"))
    patch = pytest.MonkeyPatch()
    patch.setattr(geoparquet, "ROW_GROUP", 32)
    patch.setattr(geoparquet, "SORT_BUCKET", 300)
    try:
        write_items_parquet(items, tmp_path / "a.parquet", chunk_size=chunk)
    finally:
        patch.undo()
    table = pq.read_table(tmp_path / "a.parquet")
    assert sort_order(table).to_pylist() == list(range(len(items)))  # written in key order
    assert table.column("id").to_pylist()[-1] == "k-9999"  # no place: last
    metadata = pq.read_metadata(tmp_path / "a.parquet")
    ranges = []  # per row group: first and last day, smallest and largest x and y
    start = 0
    for g in range(metadata.num_row_groups):
        group = table.slice(start, metadata.row_group(g).num_rows)
        start += group.num_rows
        if group.column("bbox").null_count:
            continue
        times = group.column("datetime").combine_chunks().to_numpy(zero_copy_only=False)
        days = times.astype("datetime64[D]").astype(np.int64)
        box = group.column("bbox").combine_chunks()
        xs = box.field("xmin").to_numpy(zero_copy_only=False)
        ys = box.field("ymin").to_numpy(zero_copy_only=False)
        ranges.append((days.min(), days.max(), xs.min(), xs.max(), ys.min(), ys.max()))
    assert len(ranges) > 50
    first = int(np.datetime64("2020-01-01", "D").astype(np.int64))
    week = [first + d for d in range(0, 2 * 365 - 10, 30)]
    touched_by_time = [sum(a <= d + 10 and b >= d for a, b, *_ in ranges) for d in week]
    squares = [(x, y) for x in range(0, 38, 4) for y in range(20, 58, 4)]
    touched_by_space = [
        sum(x0 <= x + 2 and x1 >= x and y0 <= y + 2 and y1 >= y for *_, x0, x1, y0, y1 in ranges)
        for x, y in squares
    ]
    # ten days of the two years, or a 2° square of the 40°, touch part of the row groups
    # (sorted by space alone, any ten days touch every row group)
    assert np.median(touched_by_time) < len(ranges) / 2
    assert np.median(touched_by_space) < len(ranges) / 2
