"""Which chips a labeller should look at first, and why.

Flags come from what the items already say, without reading a pixel: near-duplicate imagery
(same bytes, or the same band means to 0.5 %) carrying different classes; chips whose band
means lie more than ``z`` standard deviations from their class's; and any QA finding that
names the item. The labelling page orders its review queue by these flags.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any


def band_means(item: Mapping[str, Any]) -> tuple[float, ...] | None:
    """The mean of every band of the item's data asset (``raster:bands`` statistics)."""
    for asset in (item.get("assets") or {}).values():
        if not isinstance(asset, dict) or "data" not in (asset.get("roles") or []):
            continue
        means = []
        for band in asset.get("raster:bands") or []:
            mean = ((band or {}).get("statistics") or {}).get("mean")
            if not isinstance(mean, int | float) or not math.isfinite(mean):
                return None
            means.append(float(mean))
        return tuple(means) or None
    return None


def _checksum(item: Mapping[str, Any]) -> str | None:
    for asset in (item.get("assets") or {}).values():
        if isinstance(asset, dict) and "data" in (asset.get("roles") or []):
            value = asset.get("file:checksum")
            return str(value) if value else None
    return None


def review_flags(
    items: Iterable[Mapping[str, Any]],
    class_property: str | None,
    findings: Iterable[Mapping[str, Any]] = (),
    z: float = 3.0,
) -> dict[str, list[str]]:
    """item id -> reasons to review it first (only flagged items appear)."""
    flags: dict[str, list[str]] = defaultdict(list)
    classes: dict[str, str] = {}
    by_bytes: dict[str, list[str]] = defaultdict(list)
    by_means: dict[tuple[int, ...], list[str]] = defaultdict(list)
    means: dict[str, tuple[float, ...]] = {}
    for item in items:
        item_id = str(item.get("id"))
        label = (item.get("properties") or {}).get(class_property or "class")
        if isinstance(label, str):
            classes[item_id] = label
        checksum = _checksum(item)
        if checksum:
            by_bytes[checksum].append(item_id)
        values = band_means(item)
        if values is not None:
            means[item_id] = values
            by_means[tuple(round(math.log1p(max(v, 0.0)) * 200) for v in values)].append(item_id)
    for group, reason in (
        *((g, "same imagery as another chip with a different class") for g in by_bytes.values()),
        *((g, "near-duplicate of a chip with a different class") for g in by_means.values()),
    ):
        if len({classes.get(i) for i in group}) > 1:
            for item_id in group:
                if reason not in flags[item_id]:
                    flags[item_id].append(reason)
    _outliers(means, classes, z, flags)
    known = set(means) | set(classes)
    for finding in findings:
        target = finding.get("object")
        if isinstance(target, str) and target.startswith("item:"):
            target = target[len("item:") :].split("/asset:")[0]
        if isinstance(target, str) and target in known and finding.get("severity") != "info":
            flags[target].append(f"QA: {finding.get('code', 'finding')}")
    return dict(flags)


def _outliers(
    means: dict[str, tuple[float, ...]],
    classes: dict[str, str],
    z: float,
    flags: dict[str, list[str]],
) -> None:
    members: dict[str, list[str]] = defaultdict(list)
    for item_id in means:
        if item_id in classes:
            members[classes[item_id]].append(item_id)
    for ids in members.values():
        if len(ids) < 4:
            continue
        bands = len(means[ids[0]])
        for b in range(bands):
            values = [means[i][b] for i in ids if len(means[i]) == bands]
            mu = sum(values) / len(values)
            sd = math.sqrt(sum((v - mu) ** 2 for v in values) / len(values))
            if sd == 0:
                continue
            for item_id in ids:
                if len(means[item_id]) == bands and abs(means[item_id][b] - mu) > z * sd:
                    reason = "band statistics unusual for its class"
                    if reason not in flags[item_id]:
                        flags[item_id].append(reason)


def review_order(ids: Iterable[str], flags: Mapping[str, list[str]]) -> list[str]:
    """Flagged chips first (most flags first), then the rest, each in id order."""
    return sorted(ids, key=lambda i: (-len(flags.get(i, [])), i))
