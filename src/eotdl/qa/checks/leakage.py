"""Checks across items: no leakage between splits (same bytes, overlapping footprints) and no
duplicate items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import shapely
from shapely.geometry.base import BaseGeometry

from eotdl.catalog.vocabulary import SPLIT, asset_refs
from eotdl.qa.checks.rasters import item_geometry
from eotdl.qa.context import QAContext
from eotdl.qa.findings import Finding, error, item_ref, warning

#: Footprints overlap when they share more than this share of the smaller one's area.
LEAK_OVERLAP = 0.01
#: At most this many findings per kind of leak; the rest are counted in one more finding.
MAX_PAIRS = 50
#: Split pairs compared, and how bad a leak between them is.
PAIRS = (
    ("train", "test", "error"),
    ("train", "validate", "warning"),
    ("validate", "test", "warning"),
)


def _finding(severity: str, code: str, obj: str, message: str, fix: str) -> Finding:
    return (error if severity == "error" else warning)(code, obj, message, fix)


def check_leakage(ctx: QAContext) -> Iterator[Finding]:
    """No imagery bytes (checksum) and no footprint shared between train, validate and test."""
    by_checksum: dict[str, dict[str, str]] = {}
    shapes: dict[str, tuple[list[str], list[BaseGeometry]]] = {}
    for item in ctx.iter_items():
        split = (item.get("properties") or {}).get(SPLIT)
        if not isinstance(split, str):
            continue
        for ref in asset_refs(item):
            if ref.is_imagery and ref.checksum:
                by_checksum.setdefault(ref.checksum, {}).setdefault(split, item["id"])
        geometry = item_geometry(item)
        if geometry is not None and geometry.area > 0:
            ids, geoms = shapes.setdefault(split, ([], []))
            ids.append(item["id"])
            geoms.append(geometry)
    for a, b, severity in PAIRS:
        fix = (
            "move one of the two items so the pair is in one split; re-split with"
            " `--split spatial-blocks:SIZE` to keep neighbours together"
        )
        count = 0
        for splits in by_checksum.values():
            if a in splits and b in splits:
                count += 1
                if count <= MAX_PAIRS:
                    yield _finding(
                        severity,
                        "leak-bytes",
                        item_ref(splits[b]),
                        f"the same imagery bytes are in {a} ({splits[a]}) and {b} ({splits[b]})",
                        fix,
                    )
        if count > MAX_PAIRS:
            yield _finding(
                severity, "leak-bytes", "dataset", f"… {count - MAX_PAIRS} more {a}/{b} pairs", fix
            )
        if a in shapes and b in shapes:
            yield from _overlaps(shapes[a], shapes[b], a, b, severity, fix)


def _overlaps(
    left: tuple[list[str], list[BaseGeometry]],
    right: tuple[list[str], list[BaseGeometry]],
    a: str,
    b: str,
    severity: str,
    fix: str,
) -> Iterator[Finding]:
    """Pairs of footprints (one per split) overlapping by more than LEAK_OVERLAP."""
    left_ids, left_geoms = left
    right_ids, right_geoms = right
    tree = shapely.STRtree(right_geoms)
    hits = tree.query(left_geoms, predicate="intersects")
    count = 0
    for i, j in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
        g, h = left_geoms[i], right_geoms[j]
        share = g.intersection(h).area / min(g.area, h.area)
        if share <= LEAK_OVERLAP:
            continue
        count += 1
        if count <= MAX_PAIRS:
            yield _finding(
                severity,
                "leak-overlap",
                item_ref(right_ids[j]),
                f"footprint overlaps {left_ids[i]} ({a}) by {share:.0%} of the smaller one:"
                f" the {b} split sees the same ground",
                fix,
            )
    if count > MAX_PAIRS:
        yield _finding(
            severity,
            "leak-overlap",
            "dataset",
            f"… {count - MAX_PAIRS} more overlapping {a}/{b} pairs",
            fix,
        )


def check_duplicates(ctx: QAContext) -> Iterator[Finding]:
    """No two items share an id, and no two items of one split share imagery bytes."""
    ids: Counter[str] = Counter()
    first: dict[tuple[str, str], str] = {}
    for item in ctx.iter_items():
        ids[item["id"]] += 1
        split = str((item.get("properties") or {}).get(SPLIT) or "")
        for ref in asset_refs(item):
            if not (ref.is_imagery and ref.checksum):
                continue
            other = first.setdefault((split, ref.checksum), item["id"])
            if other != item["id"]:
                where = f" (both in {split})" if split else ""
                yield warning(
                    "duplicate-asset",
                    item_ref(item["id"], ref.key),
                    f"the same bytes as {other}{where}: a duplicate sample",
                    "remove one of the two items",
                )
    for item_id, count in sorted(ids.items()):
        if count > 1:
            yield error(
                "duplicate-id",
                item_ref(item_id),
                f"{count} items share the id {item_id!r}",
                "give every item its own id",
            )
