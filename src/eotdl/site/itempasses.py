"""The passes over a dataset's items that its pages need, by blocks of rows, and how an
incremental build redoes only the blocks that changed.

The first pass keeps aggregates (extent, time span, counts: :class:`FactsAccumulator`, the map's
:class:`Footprints`, the gallery's group sizes) and the thumbnail's sample of boxes; the second
fills what needed the first (the map's grid, the gallery's examples) while the list pages are
written. A build remembers (:meth:`ItemPasses.memo`, a few hundred blocks at a million rows)
the digest of each block of :data:`rowdigests.BLOCK_LINES` rows, what of the first pass cannot
be subtracted (each block's extremes), each block's gallery group sizes, the sums, the grid's
cell keys and the gallery's picks. When the next build changed a few items and added or removed
none, :func:`patched_passes` hashes the rows file, compares the lines of the blocks whose
digest changed with what they were (the previous site's rows file), parses only the changed
rows, and patches every aggregate with them; a block is parsed whole only when one of its
extremes moved in, or when it holds an example of a gallery group whose items changed. The
result is the full passes', exactly, or None when it cannot be known without reading every
row: an item that was an extreme of a map grid cell moved in, the dataset's extent changed
(every cell moves), the map lists every footprint (at most ``MAX_FOOTPRINTS``: a small
dataset), or a gallery group starts to be shown.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.tree import ItemEntry, ItemRows
from eotdl.site import rowdigests, summary
from eotdl.site.gallery import GALLERY_PER_GROUP, MAX_CLASSES, Gallery, gallery_groups, has_box
from eotdl.site.rowdigests import Block
from eotdl.site.summary import FactsAccumulator, Footprints

#: Grid cell keys ``(x, y)`` are remembered as ``x * _KEY + y``.
_KEY = 1 << 16


def entries_of(rows: ItemRows, lines: Iterable[bytes]) -> list[ItemEntry]:
    """The entries of some lines of ``rows``' file (as iterating ``rows`` makes them)."""
    return list(_iter_entries(rows, lines))


@dataclass
class ItemPasses:
    """The first pass over a dataset's items (and, once :meth:`memo` is called, the second)."""

    facts: FactsAccumulator
    shapes: Footprints
    examples: Gallery
    #: The thumbnail's boxes; None: those of the previous build (its thumbnail is still right).
    boxes: list[Any] | None
    params: list[Any]
    #: ``[digest, start, end, facts extremes, footprint bounds]`` per block; None: no blocks.
    blocks: list[list[Any]] | None
    #: The lines that changed (an incremental pass), None: a full pass (every line is read).
    changed_lines: set[int] | None = None
    rows: ItemRows | None = None
    #: Per block, how many of its items are in each gallery group.
    block_groups: list[Counter[tuple[str, str]]] = field(default_factory=list)
    _parsed: dict[int, list[ItemEntry]] = field(default_factory=dict)
    _new_blocks: list[Block] = field(default_factory=list)

    def memo(self) -> dict[str, Any] | None:
        """What the next build needs to redo only what it changes (after the second pass)."""
        if self.blocks is None:
            return None
        cells = self.shapes.cells() if self.shapes.grid else {}
        keys = self.examples.shown_keys()
        return {
            "params": self.params,
            "count": self.facts.count,
            "blocks": self.blocks,
            "size": self.facts.size,
            "splits": dict(sorted(self.facts.splits.items())),
            "boxes": self.shapes.boxes,
            "extent": self.shapes.bounds(),
            "groups": {kind: dict(sorted(c.items())) for kind, c in self.examples.sizes.items()},
            "grid": [x * _KEY + y for x, y in sorted(cells)],
            "picks": self.examples.picks(),
            "group_keys": [list(key) for key in keys],
            "block_groups": [[c.get(key, 0) for key in keys] for c in self.block_groups],
        }

    def entries_between(self, first: int, end: int) -> list[ItemEntry]:
        """The entries of lines ``first`` to ``end`` (an incremental pass: parsing only those,
        and the blocks it parsed already)."""
        assert self.rows is not None and self.rows.path is not None
        found: list[ItemEntry] = []
        for index, block in enumerate(self._new_blocks):
            if block.first + block.lines <= first or block.first >= end:
                continue
            a, b = max(first, block.first) - block.first, min(end, block.first + block.lines)
            entries = self._parsed.get(index)
            if entries is None:
                lines = rowdigests.read_block(self.rows.path, block)
                found += entries_of(self.rows, lines[a : b - block.first])
            else:
                found += entries[a : b - block.first]
        return found


def params(item_pages: bool, stride: int) -> list[Any]:
    """What a remembered pass depends on besides the rows (limits the tests make small)."""
    return [
        rowdigests.BLOCK_LINES,
        summary.MAX_FOOTPRINTS,
        stride,
        GALLERY_PER_GROUP,
        MAX_CLASSES,
        item_pages,
    ]


def _entry_blocks(
    rows: ItemRows | list[ItemEntry],
) -> Iterator[tuple[Block | None, Iterable[ItemEntry]]]:
    if isinstance(rows, ItemRows) and rows.path is not None and rows.count:
        for block, lines in rowdigests.iter_blocks(rows.path, rowdigests.BLOCK_LINES):
            yield block, _iter_entries(rows, lines)
    else:
        yield None, rows


def _iter_entries(rows: ItemRows, lines: Iterable[bytes]) -> Iterator[ItemEntry]:
    changed, kept = rows.changed, rows.kept
    for line in lines:
        item_id, _, facts = canonical.loads(line)
        yield ItemEntry(item_id, facts, changed is None or item_id in changed, kept.get(item_id))


def first_pass(rows: ItemRows | list[ItemEntry], item_pages: bool, stride: int) -> ItemPasses:
    """The first pass over every item, block by block (each block remembered)."""
    facts, shapes, examples = FactsAccumulator(), Footprints(item_pages), Gallery(item_pages)
    boxes: list[Any] = []
    blocks: list[list[Any]] | None = []
    block_groups: list[Counter[tuple[str, str]]] = []
    n = 0
    for block, entries in _entry_blocks(rows):
        part, shape = FactsAccumulator(), Footprints(item_pages, shapes.boxes)
        groups: Counter[tuple[str, str]] = Counter()
        for entry in entries:
            part.add(entry.facts)
            shape.add(entry)
            for key in gallery_groups(entry):
                groups[key] += 1
            if n % stride == 0 and has_box(entry):
                boxes.append(entry.facts[0])
            n += 1
        facts.merge(part)
        shapes.merge(shape)
        for (kind, name), count in groups.items():
            examples.sizes[kind][name] += count
        block_groups.append(groups)
        if block is None or blocks is None:
            blocks = None
        else:
            blocks.append([block.digest, block.start, block.end, part.extremes(), shape.bounds()])
    return ItemPasses(
        facts,
        shapes,
        examples,
        boxes,
        params(item_pages, stride),
        blocks,
        block_groups=block_groups,
    )


def patched_passes(
    rows: ItemRows | list[ItemEntry],
    memo: Any,
    previous_rows: Path | None,
    previous_footprints: Path | None,
    item_pages: bool,
    stride: int,
) -> ItemPasses | None:
    """Both passes of a build that changed some rows of ``rows`` (none added or removed),
    from what the previous build remembered (``memo``) and its rows file and map data; None
    when they cannot be known without reading every row."""
    if not isinstance(rows, ItemRows) or rows.path is None or not rows.count:
        return None
    if not isinstance(memo, dict) or memo.get("params") != params(item_pages, stride):
        return None
    if memo.get("count") != rows.count or previous_rows is None or not previous_rows.is_file():
        return None
    try:
        return _patched(rows, memo, previous_rows, previous_footprints, item_pages, stride)
    except (KeyError, TypeError, ValueError, IndexError, OSError):
        return None  # a memo or file not as this code writes them: read everything


def _patched(
    rows: ItemRows,
    memo: dict[str, Any],
    previous_rows: Path,
    previous_footprints: Path | None,
    item_pages: bool,
    stride: int,
) -> ItemPasses | None:
    assert rows.path is not None
    old_blocks = memo["blocks"]
    blocks = None
    if rows.edit is not None:  # the tree says where the rows changed: read only there
        blocks = rowdigests.edited_blocks(
            rows.path, [(b[0], b[1], b[2]) for b in old_blocks], rows.edit, rows.count
        )
    if blocks is None:
        blocks = rowdigests.scan_blocks(rows.path, rowdigests.BLOCK_LINES)
    if len(blocks) != len(old_blocks) or sum(b.lines for b in blocks) != rows.count:
        return None
    facts, shapes = FactsAccumulator(), Footprints(item_pages)
    parsed: dict[int, list[ItemEntry]] = {}
    remembered: list[list[Any]] = []
    pairs: list[tuple[int, ItemEntry, ItemEntry]] = []  # (line, as it was, as it is)
    for index, (block, old) in enumerate(zip(blocks, old_blocks, strict=True)):
        digest, start, end, extremes, bounds = old
        if block.digest != digest:
            was_digest, old_lines = rowdigests.read_lines(previous_rows, start, end)
            new_lines = rowdigests.read_block(rows.path, block)
            if was_digest != digest or len(old_lines) != len(new_lines):
                return None
            changed = [
                (line, a, b)
                for line, (a, b) in enumerate(zip(old_lines, new_lines, strict=True))
                if a != b
            ]
            block_pairs = []
            for line, a, b in changed:
                was, now = entries_of(rows, [a, b])
                if was.id != now.id:
                    return None
                block_pairs.append((block.first + line, was, now))
            pairs += block_pairs
            found = _patched_extremes(extremes, bounds, block_pairs, item_pages)
            if found is None:  # an extreme of the block moved in: read the block
                entries = parsed[index] = entries_of(rows, new_lines)
                part, shape = FactsAccumulator(), Footprints(item_pages)
                for entry in entries:
                    part.add(entry.facts)
                    shape.add(entry)
                found = part.extremes(), shape.bounds()
            extremes, bounds = found
        remembered.append([block.digest, block.start, block.end, extremes, bounds])
        facts.merge_extremes(extremes)
        shapes.merge_bounds(bounds)
    before, after = FactsAccumulator(), FactsAccumulator()
    boxes_delta = 0
    for _, was, now in pairs:
        before.add(was.facts)
        after.add(now.facts)
        boxes_delta += has_box(now) - has_box(was)
    facts.count = rows.count
    facts.size = int(memo["size"]) - before.size + after.size
    facts.splits = _patched_counts(memo["splits"], before.splits, after.splits)
    shapes.boxes = int(memo["boxes"]) + boxes_delta
    if not shapes.grid or int(memo["boxes"]) <= summary.MAX_FOOTPRINTS:
        return None  # the map lists every footprint (a small dataset): read them
    if memo["extent"] != shapes.bounds():
        return None  # every cell moves
    if not _patch_grid(shapes, memo["grid"], previous_footprints, pairs):
        return None
    examples = Gallery(item_pages)
    block_groups = _patched_gallery(examples, memo, rows, blocks, parsed, pairs)
    if block_groups is None:
        return None
    sampled = [(was, now) for line, was, now in pairs if line % stride == 0]
    boxes: list[Any] | None = None
    if any(_sample(was) != _sample(now) for was, now in sampled):
        boxes = sampled_boxes(rows, stride)
    passes = ItemPasses(
        facts,
        shapes,
        examples,
        boxes,
        params(item_pages, stride),
        remembered,
        rows=rows,
        block_groups=block_groups,
    )
    passes.changed_lines = {line for line, _, _ in pairs}
    passes._parsed = parsed
    passes._new_blocks = blocks
    return passes


def _patched_extremes(
    extremes: list[Any],
    bounds: list[float] | None,
    pairs: list[tuple[int, ItemEntry, ItemEntry]],
    item_pages: bool,
) -> tuple[list[Any], list[float] | None] | None:
    """A block's extremes and footprint bounds once ``pairs`` changed (None: they cannot be
    known without its other rows)."""
    gone, new = FactsAccumulator(), FactsAccumulator()
    gone_shapes, new_shapes = Footprints(item_pages), Footprints(item_pages)
    for _, was, now in pairs:
        gone.add(was.facts)
        new.add(now.facts)
        gone_shapes.add(was)
        new_shapes.add(now)
    box, start, end = extremes
    gone_box, gone_start, gone_end = gone.extremes()
    new_box, new_start, new_end = new.extremes()
    patched = [
        _bounds(box, gone_box, new_box),
        _extreme(start, gone_start, new_start, True),
        _extreme(end, gone_end, new_end, False),
    ]
    shape = _bounds(bounds, gone_shapes.bounds(), new_shapes.bounds())
    if _UNKNOWN in patched or shape is _UNKNOWN:
        return None
    return patched, shape


_UNKNOWN: Any = object()


def _extreme(old: Any, gone: Any, new: Any, lowest: bool) -> Any:
    """The lowest (highest) of values, ``gone`` the lowest of those that went, ``new`` of those
    that came (None: no values)."""
    if old is None:
        return _UNKNOWN if gone is not None else new
    value = _bound(old, [] if gone is None else [gone], [] if new is None else [new], lowest)
    return _UNKNOWN if value is None else value


def _bounds(old: Any, gone: Any, new: Any) -> Any:
    """:func:`_extreme` of each side of a bbox."""
    if old is None:
        return _UNKNOWN if gone is not None else new
    found = [
        _extreme(
            old[side],
            None if gone is None else gone[side],
            None if new is None else new[side],
            side < 2,
        )
        for side in range(4)
    ]
    return _UNKNOWN if _UNKNOWN in found else found


def _patched_gallery(
    examples: Gallery,
    memo: dict[str, Any],
    rows: ItemRows,
    blocks: list[Block],
    parsed: dict[int, list[ItemEntry]],
    pairs: list[tuple[int, ItemEntry, ItemEntry]],
) -> list[Counter[tuple[str, str]]] | None:
    """Fill ``examples`` (the gallery) from the previous one and ``pairs``; the items of each
    shown group per block. A group whose items changed is picked again: its sizes per block
    say which blocks hold the items it picks, only those are parsed. None: a group shown now
    was not (its sizes per block are not known)."""
    examples.sizes = {kind: Counter(counts) for kind, counts in memo["groups"].items()}
    keys = [(str(kind), str(name)) for kind, name in memo["group_keys"]]
    counts = [Counter(dict(zip(keys, column, strict=True))) for column in memo["block_groups"]]
    if len(counts) != len(blocks):
        return None
    moved: set[tuple[str, str]] = set()
    for line, was, now in pairs:
        gone, came = gallery_groups(was), gallery_groups(now)
        if gone == came:
            continue
        moved.update(set(gone) ^ set(came))
        index = line // rowdigests.BLOCK_LINES
        for key in gone:
            examples.sizes[key[0]][key[1]] -= 1
            counts[index][key] -= 1
        for key in came:
            examples.sizes[key[0]][key[1]] += 1
            counts[index][key] += 1
    for kind, sizes in examples.sizes.items():
        if any(v < 0 for v in sizes.values()):
            return None
        examples.sizes[kind] = Counter({name: v for name, v in sizes.items() if v})
    shown = examples.shown_keys()
    if not set(shown) <= set(keys):
        return None
    examples.restore(memo["picks"], {line: now for line, _, now in pairs}, moved)
    for key in shown:
        if key not in moved:
            continue
        size = examples.sizes[key[0]][key[1]]
        stride = max(1, size // GALLERY_PER_GROUP)
        ranks = [k * stride for k in range(GALLERY_PER_GROUP) if k * stride < size]
        found = _members(rows, blocks, parsed, [c[key] for c in counts], key, ranks)
        if found is None:
            return None
        for line, entry in found:
            examples.add(key, line, entry)
    return [Counter({key: c[key] for key in shown if c[key]}) for c in counts]


def _members(
    rows: ItemRows,
    blocks: list[Block],
    parsed: dict[int, list[ItemEntry]],
    sizes: list[int],
    key: tuple[str, str],
    ranks: list[int],
) -> list[tuple[int, ItemEntry]] | None:
    """The items at ``ranks`` among those of group ``key`` (``sizes``: how many per block),
    with their lines; None if the blocks do not hold what ``sizes`` says."""
    assert rows.path is not None
    found: list[tuple[int, ItemEntry]] = []
    first = 0
    for index, (block, size) in enumerate(zip(blocks, sizes, strict=True)):
        wanted = {rank - first for rank in ranks if first <= rank < first + size}
        if wanted:
            entries = parsed.get(index)
            if entries is None:
                entries = parsed[index] = entries_of(rows, rowdigests.read_block(rows.path, block))
            seen = 0
            for line, entry in enumerate(entries):
                if key in gallery_groups(entry):
                    if seen in wanted:
                        found.append((block.first + line, entry))
                    seen += 1
            if seen != size:
                return None
        first += size
    return found if len(found) == len(ranks) else None


def _sample(entry: ItemEntry) -> Any:
    return entry.facts[0] if has_box(entry) else None


def sampled_boxes(rows: ItemRows, stride: int) -> list[Any]:
    """The thumbnail's boxes: those of every ``stride``-th row (only those rows parsed)."""
    boxes: list[Any] = []
    if rows.path is None or not rows.count:
        return boxes
    for block, lines in rowdigests.iter_blocks(rows.path, rowdigests.BLOCK_LINES):
        skip = (-block.first) % stride
        for entry in entries_of(rows, lines[skip::stride]):
            if has_box(entry):
                boxes.append(entry.facts[0])
    return boxes


def _patched_counts(
    counts: dict[str, int], before: Counter[str], after: Counter[str]
) -> Counter[str]:
    found = Counter({str(k): int(v) for k, v in counts.items()})
    found.subtract(before)
    found.update(after)
    return Counter({k: v for k, v in found.items() if v})


def _patch_grid(
    shapes: Footprints,
    keys: list[int],
    previous_footprints: Path | None,
    pairs: list[tuple[int, ItemEntry, ItemEntry]],
) -> bool:
    """Put the previous grid's cells in ``shapes``, the changed rows moved; False if a cell's
    bounds cannot be known without its other items (one that made them moved off)."""
    if previous_footprints is None or not previous_footprints.is_file():
        return False
    data = canonical.loads(previous_footprints.read_bytes())
    if not isinstance(data, dict) or data.get("kind") != "grid":
        return False
    previous = data["cells"]
    if len(previous) != len(keys):
        return False
    cells = shapes.cells()
    for number, cell in zip(keys, previous, strict=True):
        cells[(number // _KEY, number % _KEY)] = list(cell)
    removed: dict[tuple[int, int], list[list[float]]] = defaultdict(list)
    added: dict[tuple[int, int], list[list[float]]] = defaultdict(list)
    for _, was, now in pairs:
        if has_box(was):
            removed[shapes.cell_of(was.facts[0])].append(was.facts[0])
        if has_box(now):
            added[shapes.cell_of(now.facts[0])].append(now.facts[0])
    for key in set(removed) | set(added):
        gone, new = removed.get(key, []), added.get(key, [])
        if canonical.dumps(sorted(gone)) == canonical.dumps(sorted(new)):
            continue  # the same boxes, to the sign of a zero: the cell is as it was
        cell = cells.get(key)
        if cell is None:
            if gone:
                return False
            cell = [new[0][0], new[0][1], new[0][2], new[0][3], 0]
        count = cell[4] - len(gone) + len(new)
        if count <= 0:
            if count < 0:
                return False
            del cells[key]
            continue
        patched: list[float] = []
        for side, lowest in ((0, True), (1, True), (2, False), (3, False)):
            value = _bound(cell[side], [b[side] for b in gone], [b[side] for b in new], lowest)
            if value is None:
                return False
            patched.append(value)
        cells[key] = [*patched, count]
    return True


def _bound(old: float, gone: list[float], new: list[float], lowest: bool) -> float | None:
    """A cell's bound (its lowest or highest value) once ``gone`` left and ``new`` came."""
    if old == 0 or any(v == 0 for v in gone) or any(v == 0 for v in new):
        return None  # 0.0 and -0.0 are equal but not written the same: keep the full pass's
    best = (min(new) if lowest else max(new)) if new else None
    if old not in gone:
        if best is None:
            return old
        return min(old, best) if lowest else max(old, best)
    if best is not None and (best <= old if lowest else best >= old):
        return best
    return None
