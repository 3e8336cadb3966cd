"""Reading items.parquet: the fast row conversion gives what stac-geoparquet's own reader gives."""

from __future__ import annotations

import copy
from pathlib import Path

import pyarrow.parquet as pq
from stac_geoparquet.arrow import stac_table_to_items

from eotdl.catalog.geoparquet import read_items_parquet, write_items_parquet
from eotdl.catalog.lab import Lab
from eotdl.catalog.parquet_items import table_items, tidy_item
from labs import Dataset, make_lab


def test_rows_read_back_as_the_shared_reader_reads_them(chips: Lab, tmp_path: Path):
    items = list(chips.dataset("chips").iter_items())
    lab = make_lab(
        tmp_path, [Dataset("tiles", "segmentation_pairs"), Dataset("boxes", "detection")]
    )
    items += list(lab.dataset("tiles").iter_items())
    items += list(lab.dataset("boxes").iter_items())
    odd = copy.deepcopy(items[0])
    odd["id"] = "zz-no-assets"
    odd["assets"] = {}
    odd["properties"]["start_datetime"] = "2020-01-01T00:00:00Z"
    odd["properties"]["end_datetime"] = "2020-02-01T12:30:00.250000Z"
    items.append(odd)
    path = tmp_path / "items.parquet"
    write_items_parquet(items, path, chunk_size=7)  # several row groups
    # the reference: stac-geoparquet's own (slow) reader, tidied the same way
    expected = [tidy_item(i) for i in stac_table_to_items(pq.read_table(path))]
    assert list(table_items(pq.read_table(path), batch=5)) == expected
    assert list(read_items_parquet(path)) == expected
    by_id = {i["id"]: i for i in expected}
    assert "proj:geometry" in by_id[items[0]["id"]]["properties"]
    assert by_id["zz-no-assets"]["assets"] == {}
