"""A build that changed a few items (none added or removed) parses only the blocks of rows they
are in, and writes the site a full build writes, every file of it."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sitelab import site_dataset

from eotdl.catalog import canonical, rowblocks
from eotdl.catalog.lab import Lab
from eotdl.catalog.rowblocks import RowsEdit
from eotdl.site import folderpages, itempasses, rowdigests, summary
from eotdl.site.build import build_site
from eotdl.site.rowdigests import edited_blocks, scan_blocks, split_lines
from labs import make_lab

COUNT = 200
CLASSES = ("crop", "forest", "urban", "water")


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small limits stand for a big dataset: blocks of 16 rows, pages of 20 (pages straddle
    blocks), no item pages, a map of grid cells, a thumbnail of every 6th box, blocks of a
    few items of ``items.ndjson`` (so the tree tells the pages where the rows changed)."""
    monkeypatch.setattr(rowdigests, "BLOCK_LINES", 16)
    monkeypatch.setattr(rowblocks, "BLOCK_BYTES", 3000)
    monkeypatch.setattr(folderpages, "PAGE_SIZE", 20)
    monkeypatch.setattr(folderpages, "ITEM_PAGES_MAX", 50)
    monkeypatch.setattr(folderpages, "_THUMB_BOXES", 30)
    monkeypatch.setattr(summary, "MAX_FOOTPRINTS", 16)


def _lab(root: Path) -> Lab:
    """A lab of one dataset of COUNT items spread over a few grid cells each, with previews,
    splits and classes, built."""
    lab = make_lab(root, [site_dataset("chips", COUNT)], title="Blocks")
    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    rng = random.Random(0)
    for n, item in enumerate(items):
        item["properties"]["label:properties"] = ["class"]
        item["properties"]["class"] = CLASSES[n * 7 % len(CLASSES)]
        item["assets"]["thumbnail"] = {
            "href": f"https://example.org/previews/{n}.png",
            "type": "image/png",
            "roles": ["thumbnail"],
        }
        west, south = item["bbox"][:2]
        _shift(
            item,
            10 + (n % 20) * 0.05 + rng.uniform(0, 0.04) - west,
            40 + (n // 20) * 0.05 + rng.uniform(0, 0.04) - south,
        )
    folder.write_items(items)
    build_site(lab, qa=False)
    return lab


def _site_files(root: Path) -> dict[str, bytes]:
    """Every file of a site but the build's own (named for what was reused) and parquet."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.suffix != ".parquet"
    }


def _cloud(item: dict[str, Any], rng: random.Random) -> None:
    item["properties"]["eo:cloud_cover"] = round(rng.uniform(0, 100), 2)


def _datetime(item: dict[str, Any], rng: random.Random) -> None:
    item["properties"]["datetime"] = f"20{rng.randint(10, 30)}-0{rng.randint(1, 9)}-11T00:00:00Z"


def _nudge(item: dict[str, Any], rng: random.Random) -> None:
    """Move the box a little (within its grid cell, mostly)."""
    _shift(item, rng.choice([-1, 1]) * 0.001, rng.choice([-1, 1]) * 0.001)


def _far(item: dict[str, Any], rng: random.Random) -> None:
    """Move the box out of the dataset's extent (every grid cell moves)."""
    _shift(item, 30.0, -20.0)


def _shift(item: dict[str, Any], dx: float, dy: float) -> None:
    item["bbox"] = [round(v + (dx if n % 2 == 0 else dy), 6) for n, v in enumerate(item["bbox"])]
    for ring in item["geometry"]["coordinates"]:
        for point in ring:
            point[0], point[1] = round(point[0] + dx, 6), round(point[1] + dy, 6)


def _split(item: dict[str, Any], rng: random.Random) -> None:
    item["properties"]["ml-aoi:split"] = rng.choice(["train", "test", "validation"])


def _label(item: dict[str, Any], rng: random.Random) -> None:
    item["properties"]["class"] = rng.choice(CLASSES)


def _preview(item: dict[str, Any], rng: random.Random) -> None:
    item["assets"]["thumbnail"]["href"] = f"https://example.org/other/{rng.randrange(99)}.png"


EDITS: dict[str, Callable[[dict[str, Any], random.Random], None]] = {
    "cloud": _cloud,
    "datetime": _datetime,
    "nudge": _nudge,
    "far": _far,
    "split": _split,
    "label": _label,
    "preview": _preview,
}


def _edit(lab: Lab, changes: list[tuple[int, str]], seed: int) -> None:
    rng = random.Random(seed)
    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    for position, edit in changes:
        EDITS[edit](items[position], rng)
    folder.write_items(items)


def _assert_full_build_equal(lab: Lab) -> None:
    other = lab.root / "_full"  # beside _site: the cards' relative hrefs are the same
    build_site(lab, other, qa=False, full=True)
    assert _site_files(lab.site_dir) == _site_files(other)


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("position", [0, COUNT // 2, COUNT - 1])
def test_one_item_changed_gives_the_full_build(
    tmp_path: Path, small: None, edit: str, position: int
) -> None:
    lab = _lab(tmp_path)
    _edit(lab, [(position, edit)], seed=position)
    assert build_site(lab, qa=False).items_written == 1
    _assert_full_build_equal(lab)


@pytest.mark.parametrize("seed", range(4))
def test_many_items_changed_gives_the_full_build(tmp_path: Path, small: None, seed: int) -> None:
    """A few random items with random edits, built incrementally twice in a row (the second
    build patches what the first one remembered)."""
    lab = _lab(tmp_path)
    rng = random.Random(seed)
    for round_ in range(2):
        changes = [(rng.randrange(COUNT), rng.choice(sorted(EDITS))) for _ in range(1 + seed * 2)]
        changes += [(rng.randrange(COUNT), "cloud")]
        _edit(lab, changes, seed=seed * 10 + round_)
        assert build_site(lab, qa=False).items_written >= 1
    _assert_full_build_equal(lab)


def test_boxes_moved_one_by_one_give_the_full_build(tmp_path: Path, small: None) -> None:
    """Boxes nudged in their grid cells: a cell's bounds are patched when they can be known
    (the box was not on them, or moved out), else every row is read."""
    lab = _lab(tmp_path)
    for position in range(3, COUNT, 17):
        _edit(lab, [(position, "nudge")], seed=position)
        assert build_site(lab, qa=False).items_written == 1
        _assert_full_build_equal(lab)


@pytest.mark.parametrize("edit", ["datetime", "box"])
def test_an_extreme_moved_back_gives_the_full_build(tmp_path: Path, small: None, edit: str) -> None:
    """An item made the dataset's only earliest (or outermost) one, then made ordinary again:
    the extremes of its block are read again (the next ones are not remembered)."""
    lab = _lab(tmp_path)
    folder = lab.dataset("chips")
    for shift in (1, -1):
        items = list(folder.iter_items())
        item = items[COUNT // 2 + 3]
        if edit == "datetime":
            item["properties"]["datetime"] = (
                "2001-01-01T00:00:00Z" if shift > 0 else ("2023-06-01T00:00:00Z")
            )
        else:
            _shift(item, 5.0 * shift, 3.0 * shift)
        folder.write_items(items)
        assert build_site(lab, qa=False).items_written == 1
        _assert_full_build_equal(lab)


@pytest.mark.parametrize(
    ("old", "gone", "new", "lowest", "bound"),
    [
        (5.0, [], [4.0], True, 4.0),  # a new lowest
        (5.0, [], [6.0], True, 5.0),
        (5.0, [6.0], [7.0], True, 5.0),  # the lowest was another's
        (5.0, [5.0], [4.5], True, 4.5),  # the lowest moved lower
        (5.0, [5.0], [5.0], True, 5.0),
        (5.0, [5.0], [5.5], True, None),  # the lowest moved up: the next is not known
        (5.0, [5.0], [], True, None),
        (5.0, [5.0], [4.0], False, None),  # the highest moved down
        (5.0, [5.0], [6.0], False, 6.0),
        (5.0, [1.0], [], False, 5.0),
        (0.0, [], [1.0], True, None),  # 0.0 and -0.0: the full pass says which
    ],
)
def test_a_cell_bound_patched(
    old: float, gone: list[float], new: list[float], lowest: bool, bound: float | None
) -> None:
    assert itempasses._bound(old, gone, new, lowest) == bound


def test_unchanged_blocks_are_not_parsed(
    tmp_path: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows parsed while the pages are written: every row twice in a full build; in a build
    that changed one item's properties, that row (as it was and is), the list page it is on
    and the dataset page's first rows, not its block of 64 (no timings: counts)."""
    monkeypatch.setattr(rowdigests, "BLOCK_LINES", 64)
    parsed = [0]
    counting = [False]
    loads, write = canonical.loads, folderpages.FolderPages.write

    def counted_loads(data: bytes | str) -> Any:
        if counting[0]:
            parsed[0] += 1
        return loads(data)

    def counted_write(self: folderpages.FolderPages, *args: Any) -> Any:
        counting[0] = True
        try:
            return write(self, *args)
        finally:
            counting[0] = False

    monkeypatch.setattr(canonical, "loads", counted_loads)
    monkeypatch.setattr(folderpages.FolderPages, "write", counted_write)
    full_passes = []
    monkeypatch.setattr(
        folderpages, "first_pass", lambda *a: full_passes.append(1) or itempasses.first_pass(*a)
    )
    lab = _lab(tmp_path)
    assert parsed[0] >= 2 * COUNT and full_passes == [1]
    parsed[0] = 0
    _edit(lab, [(COUNT // 2, "cloud")], seed=1)
    build_site(lab, qa=False)
    assert full_passes == [1]  # the incremental build patched
    rows = 2 + folderpages.PAGE_SIZE + folderpages.PREVIEW_ROWS
    assert 0 < parsed[0] <= rows + 5 < rowdigests.BLOCK_LINES  # + the manifests, the map's data
    manifest = canonical.loads((lab.site_dir / "datasets/chips/.eotdl-build.json").read_bytes())
    memo = manifest["memo"][folderpages.ROWS_MEMO]  # a few numbers per block of 64 rows
    assert len(memo["blocks"]) == len(memo["block_groups"]) == math.ceil(COUNT / 64)
    _assert_full_build_equal(lab)


def test_blocks_of_a_rows_file(tmp_path: Path) -> None:
    """Blocks cover every line once, in order, with their offsets and a digest of their bytes;
    a changed line changes its block's digest only."""
    rng = random.Random(3)
    lines = [b"x" * rng.randrange(1, 300) for _ in range(1000)]
    path = tmp_path / "rows"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    for size in (1, 7, 64, 1000, 5000):
        blocks = scan_blocks(path, size)
        assert [b.lines for b in blocks] == [
            min(size, 1000 - first) for first in range(0, 1000, size)
        ]
        data = path.read_bytes()
        assert b"".join(data[b.start : b.end] for b in blocks) == data
        assert [split_lines(data[b.start : b.end]) for b in blocks] == [
            lines[first : first + size] for first in range(0, 1000, size)
        ]
    before = scan_blocks(path, 64)
    lines[500] = b"y" * 10
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    after = scan_blocks(path, 64)
    assert [a.digest == b.digest for a, b in zip(before, after, strict=True)] == [
        n != 500 // 64 for n in range(len(before))
    ]


def test_a_cell_edge_at_zero_is_patched_when_its_box_did_not_move(
    tmp_path: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change that leaves an item's box as it was (its cloud cover, its date) keeps the
    patched passes even where the box sits on 0.0 (whose sign a patched bound could get
    wrong): the cell keeps the very same boxes."""
    full_passes = []
    monkeypatch.setattr(
        folderpages, "first_pass", lambda *a: full_passes.append(1) or itempasses.first_pass(*a)
    )
    lab = _lab(tmp_path)
    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    target = items[COUNT // 2]
    width = target["bbox"][2] - target["bbox"][0]
    target["bbox"] = [0.0, target["bbox"][1], round(width, 6), target["bbox"][3]]
    target["geometry"] = box_polygon(target["bbox"])
    folder.write_items(items)
    build_site(lab, qa=False)  # a box moved to the meridian: the passes are read in full
    runs = len(full_passes)
    _edit(lab, [(COUNT // 2, "cloud")], seed=3)
    build_site(lab, qa=False)
    assert len(full_passes) == runs, "a property change fell back to the full passes"
    _assert_full_build_equal(lab)


def box_polygon(bbox: list[float]) -> dict[str, Any]:
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.mark.parametrize("seed", range(12))
def test_blocks_of_an_edited_rows_file_are_those_scanned(tmp_path: Path, seed: int) -> None:
    """Given where the rows changed, the blocks (digests, offsets, lines) are those a scan of
    the whole file gives; rows added or removed: not known."""
    rng = random.Random(seed)
    count = rng.randint(1, 300)
    lines = [b"r" * rng.randrange(1, 90) for _ in range(count)]
    path = tmp_path / "rows"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    size = rng.choice([1, 5, 16, 64])
    old = [(b.digest, b.start, b.end) for b in scan_blocks(path, size)]
    first = rng.randrange(count)
    last = min(count, first + rng.randint(1, 20))
    start = sum(len(line) + 1 for line in lines[:first])
    old_stop = start + sum(len(line) + 1 for line in lines[first:last])
    for n in range(first, last):
        if rng.random() < 0.7:
            lines[n] = b"e" * rng.randrange(1, 120)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    new_stop = start + sum(len(line) + 1 for line in lines[first:last])
    edit = RowsEdit(start, old_stop, new_stop, last - first, last - first)
    assert edited_blocks(path, old, edit, count, size) == scan_blocks(path, size)
    grown = RowsEdit(start, old_stop, new_stop, last - first, last - first + 1)
    assert edited_blocks(path, old, grown, count + 1, size) is None


def test_the_tree_tells_the_pages_where_rows_changed(
    tmp_path: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-item build of a big dataset does not scan its whole rows file for the pages."""
    lab = _lab(tmp_path)
    _edit(lab, [(COUNT // 2, "cloud")], seed=1)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the whole rows file was scanned")

    with monkeypatch.context() as patch:
        patch.setattr(rowdigests, "scan_blocks", refuse)
        assert build_site(lab, qa=False).items_written == 1
    _assert_full_build_equal(lab)
