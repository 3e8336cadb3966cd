"""Blocks of items.ndjson: an incremental build reads only the blocks a change touched, and
the tree it writes is the tree a full build writes, whatever the edits."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import xxhash

from eotdl.catalog import canonical, ndjson, rowblocks
from eotdl.catalog.lab import init_lab
from eotdl.catalog.rowblocks import Block, read_blocks
from eotdl.catalog.tree import MANIFEST, ROWS, write_stac_tree
from eotdl.errors import InputError
from stacgen import collection, item


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rowblocks, "BLOCK_BYTES", 2000)  # a few items per block


def _lab(tmp_path: Path, count: int) -> Any:
    lab = init_lab(tmp_path / "lab")
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    folder.write_items([item(f"i{n:04d}") for n in range(count)])
    return lab


def _write_lines(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(canonical.dumps(i) + b"\n" for i in items))


def _site_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.suffix != ".parquet"
    }


def _blocks(site: Path) -> list[Block]:
    data = json.loads((site / "datasets/ds" / MANIFEST).read_text())
    blocks = read_blocks(data["blocks"])
    assert blocks is not None
    return blocks


def _check_blocks(site: Path, items_path: Path) -> None:
    """The recorded blocks tile items.ndjson and the rows file, with true digests."""
    blocks = _blocks(site)
    data = items_path.read_bytes()
    rows = (site / "datasets/ds" / ROWS).read_bytes()
    at = rows_at = 0
    for block in blocks:
        assert (block.at, block.rows_at) == (at, rows_at)
        chunk = data[block.at : block.at + block.size]
        assert block.digest == "x3:" + xxhash.xxh3_128(chunk).hexdigest()
        assert block.lines == chunk.count(b"\n")
        lines = rows[block.rows_at : block.rows_at + block.rows_size].splitlines()
        assert len(lines) == block.rows
        if lines:
            assert json.loads(lines[-1])[0] == block.last
        at, rows_at = at + block.size, rows_at + block.rows_size
    assert (at, rows_at) == (len(data), len(rows))


def _edit(rng: random.Random, items: list[dict[str, Any]], serial: list[int]) -> None:
    kind = rng.choice(["change", "change", "insert", "remove", "grow"])
    where = rng.choice([0, len(items) - 1, rng.randrange(len(items))])
    if kind == "change":
        items[where]["properties"]["gsd"] = rng.randint(1, 10**6)
    elif kind == "grow":  # a longer line: everything after it moves
        items[where]["properties"]["note"] = "x" * rng.randint(1, 400)
    elif kind == "insert":
        serial[0] += 1
        new = item(f"{items[where]['id']}-{serial[0]}")
        items.insert(where + 1, new)
    elif len(items) > 5:
        del items[where]


@pytest.mark.parametrize("seed", range(6))
def test_incremental_builds_equal_full_ones_after_random_edits(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    lab = _lab(tmp_path, 120)
    folder = lab.dataset("ds")
    write_stac_tree(lab, parquet=True)
    items = list(folder.iter_items())
    serial = [0]
    for round_ in range(4):
        for _ in range(rng.choice([1, 1, 2, 5])):
            _edit(rng, items, serial)
        _write_lines(folder.items_path, items)
        write_stac_tree(lab, parquet=True)
        full = tmp_path / f"full{round_}"
        write_stac_tree(lab, full, parquet=True, full=True)
        assert _site_files(lab.site_dir) == _site_files(full)
        assert (lab.site_dir / "datasets/ds" / ROWS).read_bytes() == (
            full / "datasets/ds" / ROWS
        ).read_bytes()
        patched = pq.read_table(lab.site_dir / "datasets/ds/items.parquet")
        assert patched.equals(pq.read_table(full / "datasets/ds/items.parquet"))
        _check_blocks(lab.site_dir, folder.items_path)
        names = {p.name for p in (lab.site_dir / "datasets/ds/items").iterdir()}
        assert names == {f"{i['id']}.json" for i in items}


def test_one_changed_item_reads_only_its_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    lab = _lab(tmp_path, 400)
    folder = lab.dataset("ds")
    write_stac_tree(lab)
    blocks = _blocks(lab.site_dir)
    assert len(blocks) > 20
    items = list(folder.iter_items())
    items[200]["properties"]["gsd"] = 99
    _write_lines(folder.items_path, items)
    read: list[int] = []
    real = ndjson.iter_lines

    def counting(*args: Any, **kwargs: Any) -> Any:
        for line in real(*args, **kwargs):
            read.append(line.number)
            yield line

    monkeypatch.setattr(ndjson, "iter_lines", counting)
    summary = write_stac_tree(lab)
    assert summary.items_written == 1
    largest = max(b.rows for b in blocks)
    assert 201 in read and len(read) <= largest, f"{len(read)} lines read for one change"
    full = tmp_path / "full"
    write_stac_tree(lab, full, full=True)
    assert _site_files(lab.site_dir) == _site_files(full)


def test_a_bad_line_in_a_later_block_is_named_by_its_number(tmp_path: Path):
    lab = _lab(tmp_path, 200)
    folder = lab.dataset("ds")
    write_stac_tree(lab)
    lines = folder.items_path.read_bytes().splitlines(keepends=True)
    lines[150] = b'{"type": "Feature", broken\n'
    folder.items_path.write_bytes(b"".join(lines))
    before = _site_files(lab.site_dir)
    with pytest.raises(InputError, match=r"items\.ndjson:151:"):
        write_stac_tree(lab)
    assert _site_files(lab.site_dir) == before  # nothing half-written


def test_a_duplicate_next_to_an_unchanged_block_is_refused(tmp_path: Path):
    lab = _lab(tmp_path, 200)
    folder = lab.dataset("ds")
    write_stac_tree(lab)
    blocks = _blocks(lab.site_dir)
    items = list(folder.iter_items())
    # the first item of the third block, copied to the end of the second: the change is
    # inside one block, the duplicate's twin in the untouched block after it
    first_of_third = blocks[0].rows + blocks[1].rows
    twin = dict(items[first_of_third])
    twin["properties"] = {**twin["properties"], "gsd": 1}
    items.insert(first_of_third, twin)
    _write_lines(folder.items_path, items)
    with pytest.raises(InputError, match="duplicate item id"):
        write_stac_tree(lab)


def test_blocks_that_describe_another_rows_file_are_ignored(tmp_path: Path):
    lab = _lab(tmp_path, 100)
    folder = lab.dataset("ds")
    write_stac_tree(lab)
    manifest = lab.site_dir / "datasets/ds" / MANIFEST
    data = json.loads(manifest.read_text())
    data["blocks"][0][3] += 5  # rows sizes no longer add up to the rows file's
    manifest.write_text(json.dumps(data))
    items = list(folder.iter_items())
    items[50]["properties"]["gsd"] = 3
    _write_lines(folder.items_path, items)
    write_stac_tree(lab)
    full = tmp_path / "full"
    write_stac_tree(lab, full, full=True)
    assert _site_files(lab.site_dir) == _site_files(full)
    _check_blocks(lab.site_dir, folder.items_path)


def test_lines_that_run_on_past_an_unchanged_block_are_read_whole(tmp_path: Path):
    """A file without a final newline that grows, and a line whose tail is a whole old line:
    the blocks either side of the change must meet it at a line boundary."""
    lab = _lab(tmp_path, 150)
    folder = lab.dataset("ds")
    data = folder.items_path.read_bytes().rstrip(b"\n")  # no final newline
    folder.items_path.write_bytes(data)
    write_stac_tree(lab)
    extra = canonical.dumps(item("zz-last"))
    folder.items_path.write_bytes(data + b"\n" + extra + b"\n")
    write_stac_tree(lab)
    full = tmp_path / "full"
    write_stac_tree(lab, full, full=True)
    assert _site_files(lab.site_dir) == _site_files(full)
    _check_blocks(lab.site_dir, folder.items_path)
    # spaces glued in front of the first line of a later block: that block's bytes are all
    # still there, but its first line is now a longer one, read whole from the middle
    blocks = _blocks(lab.site_dir)
    at = blocks[3].at
    raw = folder.items_path.read_bytes()
    folder.items_path.write_bytes(raw[:at] + b"   " + raw[at:])
    write_stac_tree(lab)
    full = tmp_path / "full2"
    write_stac_tree(lab, full, full=True)
    assert _site_files(lab.site_dir) == _site_files(full)
    _check_blocks(lab.site_dir, folder.items_path)


def test_a_one_item_rebuild_splices_the_parquet_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from eotdl.catalog import geoparquet

    monkeypatch.setattr(geoparquet, "ROW_GROUP", 8)
    lab = init_lab(tmp_path / "lab")
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    folder.write_items(
        [
            item(f"i{n:04d}", datetime=f"2023-05-{n % 28 + 1:02d}T10:00:00Z", gsd=n % 7 + 1)
            for n in range(400)
        ]
    )
    write_stac_tree(lab, parquet=True)
    spliced: list[bool] = []
    real = geoparquet.splice_items_parquet

    def spying(*args: Any, **kwargs: Any) -> bool:
        spliced.append(real(*args, **kwargs))
        return spliced[-1]

    monkeypatch.setattr(geoparquet, "splice_items_parquet", spying)
    items = list(folder.iter_items())
    items[123]["properties"]["gsd"] = 42
    items[321]["properties"]["datetime"] = "2024-01-01T00:00:00Z"  # it moves in the file
    _write_lines(folder.items_path, items)
    write_stac_tree(lab, parquet=True)
    assert spliced == [True]
    full = tmp_path / "full"
    write_stac_tree(lab, full, parquet=True, full=True)
    patched = pq.read_table(lab.site_dir / "datasets/ds/items.parquet")
    assert patched.equals(pq.read_table(full / "datasets/ds/items.parquet"))
    assert (lab.site_dir / "datasets/ds/.items.parquet.footer.json").is_file()
