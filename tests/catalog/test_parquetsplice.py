"""Splicing row groups: a few changed rows rewrite only their row groups; the file reads the
same as one written whole, the other row groups' bytes are not touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from synthetic import make_item

from eotdl.catalog import geoparquet, parquetsplice
from eotdl.catalog.geoparquet import (
    patch_items_parquet,
    read_items_parquet,
    splice_items_parquet,
    write_items_parquet,
)


@pytest.fixture(autouse=True)
def small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geoparquet, "ROW_GROUP", 8)


def _items(count: int) -> list[dict[str, Any]]:
    return [make_item(n, "sp") for n in range(count)]


def _chunks(path: Path) -> list[tuple[int, int]]:
    """(data page offset, compressed size) of the first column of each row group."""
    meta = pq.ParquetFile(path).metadata
    return [
        (meta.row_group(i).column(0).data_page_offset, meta.row_group(i).total_byte_size)
        for i in range(meta.num_row_groups)
    ]


def _changed(item: dict[str, Any], **props: Any) -> dict[str, Any]:
    return dict(item, properties={**item["properties"], **props})


def test_a_splice_reads_as_the_file_written_whole(tmp_path: Path) -> None:
    items = _items(400)
    write_items_parquet(items, tmp_path / "a.parquet")
    before = _chunks(tmp_path / "a.parquet")
    assert len(before) == 50
    moved = _changed(items[40], datetime="2031-01-01T00:00:00Z")
    cloudy = _changed(items[70], **{"eo:cloud_cover": 99.5})
    new = make_item(500, "sp")
    assert splice_items_parquet(
        tmp_path / "a.parquet", tmp_path / "b.parquet", [moved, cloudy, new], {items[10]["id"]}
    )
    expected = [i for i in items if i["id"] != items[10]["id"]]
    expected = [{moved["id"]: moved, cloudy["id"]: cloudy}.get(i["id"], i) for i in expected]
    write_items_parquet([*expected, new], tmp_path / "whole.parquet")
    spliced = pq.read_table(tmp_path / "b.parquet")
    assert spliced.equals(pq.read_table(tmp_path / "whole.parquet"))
    assert list(read_items_parquet(tmp_path / "b.parquet")) == list(
        read_items_parquet(tmp_path / "whole.parquet")
    )
    after = _chunks(tmp_path / "b.parquet")
    kept = set(before) & set(after)
    assert len(kept) >= len(before) - 5, "more row groups were rewritten than were touched"
    assert pq.ParquetFile(tmp_path / "b.parquet").metadata.num_rows == 400


def test_splices_on_splices_stay_exact_and_compact(tmp_path: Path) -> None:
    """Each splice leaves the replaced row groups' bytes behind; past a share of the file it
    declines and the patch writes the file compactly, with the same rows."""
    items = _items(200)
    current = tmp_path / "0.parquet"
    write_items_parquet(items, current)
    declined = 0
    for round_ in range(1, 25):
        index = (round_ * 7) % len(items)
        items[index] = _changed(items[index], **{"eo:cloud_cover": float(round_)})
        target = tmp_path / f"{round_}.parquet"
        if not splice_items_parquet(current, target, [items[index]]):
            declined += 1
            assert not target.exists()
            assert patch_items_parquet(current, target, [items[index]])
        write_items_parquet(items, tmp_path / "whole.parquet")
        assert pq.read_table(target).equals(pq.read_table(tmp_path / "whole.parquet"))
        current = target
    assert declined >= 1
    assert current.stat().st_size < 1.5 * (tmp_path / "whole.parquet").stat().st_size


def test_files_it_cannot_splice_are_declined(tmp_path: Path) -> None:
    items = _items(30)
    table = pq.read_table(_written(tmp_path, items))
    pq.write_table(table, tmp_path / "indexed.parquet", write_page_index=True, row_group_size=8)
    changed = _changed(items[3], **{"eo:cloud_cover": 1.0})
    assert not splice_items_parquet(tmp_path / "indexed.parquet", tmp_path / "o.parquet", [changed])
    assert not (tmp_path / "o.parquet").exists()
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really PAR1")
    assert not splice_items_parquet(tmp_path / "junk.parquet", tmp_path / "o.parquet", [changed])
    assert not (tmp_path / "o.parquet").exists()


def _written(tmp_path: Path, items: list[dict[str, Any]]) -> Path:
    path = tmp_path / "w.parquet"
    write_items_parquet(items, path)
    return path


def test_the_footer_walk_round_trips(tmp_path: Path) -> None:
    path = _written(tmp_path, _items(40))
    footer, _ = parquetsplice.read_footer(path)
    groups = [footer.row_group(i) for i in range(len(footer.row_groups))]
    rows = pq.ParquetFile(path).metadata.num_rows
    assert parquetsplice._assembled(footer, groups, footer.sizes).data == footer.data
    assert sum(r for r, _ in footer.sizes) == rows


def test_the_footer_index_is_kept_beside_each_file_and_checked(tmp_path: Path) -> None:
    items = _items(400)
    path = _written(tmp_path, items)
    index = parquetsplice.index_path(path)
    assert index.is_file()
    walked, _ = parquetsplice.read_footer(path, use_index=False)
    indexed, _ = parquetsplice.read_footer(path)
    assert (indexed.fields, indexed.row_groups, indexed.sizes) == (
        walked.fields,
        walked.row_groups,
        walked.sizes,
    )
    changed = _changed(items[3], **{"eo:cloud_cover": 1.0})
    out = tmp_path / "o.parquet"
    assert splice_items_parquet(path, out, [changed])
    spliced, _ = parquetsplice.read_footer(out)
    again, _ = parquetsplice.read_footer(out, use_index=False)
    assert (spliced.fields, spliced.row_groups, spliced.sizes) == (
        again.fields,
        again.row_groups,
        again.sizes,
    )
    # an index of other footer bytes is not believed
    parquetsplice.index_path(out).write_bytes(index.read_bytes())
    stale, _ = parquetsplice.read_footer(out)
    assert stale.row_groups == again.row_groups


def test_the_previous_items_and_key_ranges_find_the_row_groups_without_a_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _items(400)
    path = _written(tmp_path, items)
    scans: list[int] = []
    real = geoparquet._GroupFinder._all

    def counting(self: Any) -> Any:
        scans.append(1)
        return real(self)

    monkeypatch.setattr(geoparquet._GroupFinder, "_all", counting)
    moved = _changed(items[40], datetime="2031-01-01T00:00:00Z")
    new = make_item(900, "sp")
    before = {items[40]["id"]: items[40], items[77]["id"]: items[77]}
    out = tmp_path / "o.parquet"
    assert splice_items_parquet(path, out, [moved, new], {items[77]["id"]}, before)
    assert scans == []
    expected = [moved if i["id"] == moved["id"] else i for i in items if i is not items[77]]
    write_items_parquet([*expected, new], tmp_path / "whole.parquet")
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "whole.parquet"))
    # a previous version that does not say where the row is: it is looked for everywhere
    wrong = {items[40]["id"]: make_item(5, "sp")}
    again = tmp_path / "again.parquet"
    assert splice_items_parquet(path, again, [moved], (), wrong)
    assert scans == [1]
    expected = [moved if i["id"] == moved["id"] else i for i in items]
    write_items_parquet(expected, tmp_path / "whole2.parquet")
    assert pq.read_table(again).equals(pq.read_table(tmp_path / "whole2.parquet"))
