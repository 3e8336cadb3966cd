"""Train/validation/test splits, written as ``ml-aoi:split``.

``random:0.7,0.15,0.15`` (seeded), ``stratified[:fractions]`` (the same fractions within each
class) and ``spatial-blocks:SIZE[:fractions]`` (items grouped by the grid cell of their centroid,
SIZE in degrees or with a ``km`` suffix; a whole cell goes to one split, so neighbouring chips
cannot leak across splits). The same seed gives the same splits on every machine.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from eotdl.catalog.vocabulary import SPLITS
from eotdl.errors import InputError

#: The ml-aoi extension's names for the three splits.
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


@dataclass(frozen=True)
class SplitSpec:
    method: str
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    block_degrees: float = 0.0

    def describe(self) -> str:
        fractions = ",".join(f"{f:g}" for f in self.fractions)
        if self.method == "spatial-blocks":
            return f"spatial-blocks:{self.block_degrees:g}:{fractions}"
        return f"{self.method}:{fractions}"


@dataclass(frozen=True)
class SplitRecord:
    """What a split needs to know of an item."""

    id: str
    label: str | None
    x: float
    y: float


def parse_split(text: str) -> SplitSpec:
    """Parse a ``--split`` value."""
    method, _, rest = text.partition(":")
    if method in ("random", "stratified"):
        return SplitSpec(method, _fractions(rest, text))
    if method == "spatial-blocks":
        size_text, _, fractions = rest.partition(":")
        if not size_text:
            raise InputError(
                f"--split {text!r}: give a block size, e.g. spatial-blocks:0.1 or :10km"
            )
        return SplitSpec(method, _fractions(fractions, text), _degrees(size_text, text))
    raise InputError(
        f"--split {text!r}: unknown method {method!r}",
        hint="use random:0.7,0.15,0.15, stratified or spatial-blocks:SIZE",
    )


def _fractions(text: str, whole: str) -> tuple[float, float, float]:
    if not text:
        return DEFAULT_FRACTIONS
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise InputError(f"--split {whole!r}: fractions must be numbers") from None
    if len(parts) == 2:
        parts.append(0.0)
    if (
        len(parts) != 3
        or any(p < 0 for p in parts)
        or not math.isclose(sum(parts), 1.0, abs_tol=1e-6)
    ):
        raise InputError(
            f"--split {whole!r}: give train,validation,test fractions that add up to 1"
        )
    return (parts[0], parts[1], parts[2])


def _degrees(text: str, whole: str) -> float:
    try:
        if text.endswith("km"):
            value = float(text[:-2]) / 111.32
        elif text.endswith("m"):
            value = float(text[:-1]) / 111_320.0
        else:
            value = float(text)
    except ValueError:
        raise InputError(
            f"--split {whole!r}: block size must be a number (degrees) or Nkm"
        ) from None
    if value <= 0:
        raise InputError(f"--split {whole!r}: block size must be positive")
    return value


def _cut(keys: list[str], fractions: tuple[float, float, float]) -> dict[str, str]:
    n = len(keys)
    n_train = round(n * fractions[0])
    n_val = round(n * fractions[1])
    if fractions[2] == 0:
        n_val = n - n_train
    out = {}
    for index, key in enumerate(keys):
        out[key] = (
            SPLITS[0] if index < n_train else SPLITS[1] if index < n_train + n_val else SPLITS[2]
        )
    return out


def assign_splits(records: Iterable[SplitRecord], spec: SplitSpec, seed: int = 0) -> dict[str, str]:
    """item id -> split name, deterministic for the same records, spec and seed."""
    ordered = sorted(records, key=lambda r: r.id)
    rng = random.Random(seed)
    if spec.method == "random":
        ids = [r.id for r in ordered]
        rng.shuffle(ids)
        return _cut(ids, spec.fractions)
    if spec.method == "stratified":
        groups: dict[str, list[str]] = defaultdict(list)
        for record in ordered:
            groups[record.label or ""].append(record.id)
        result: dict[str, str] = {}
        for label in sorted(groups):
            ids = groups[label]
            rng.shuffle(ids)
            result.update(_cut(ids, spec.fractions))
        return result
    cells: dict[tuple[int, int], list[str]] = defaultdict(list)
    for record in ordered:
        cell = (
            math.floor(record.x / spec.block_degrees),
            math.floor(record.y / spec.block_degrees),
        )
        cells[cell].append(record.id)
    keys = sorted(cells)
    rng.shuffle(keys)
    total = len(ordered)
    targets = [spec.fractions[0] * total, (spec.fractions[0] + spec.fractions[1]) * total]
    result = {}
    placed = 0
    for cell in keys:
        split = (
            SPLITS[0] if placed < targets[0] else SPLITS[1] if placed < targets[1] else SPLITS[2]
        )
        if spec.fractions[2] == 0 and split == SPLITS[2]:
            split = SPLITS[1]
        for item_id in cells[cell]:
            result[item_id] = split
        placed += len(cells[cell])
    return result
