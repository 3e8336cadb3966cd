"""Bias discoverability: numbers that say how balanced a dataset is, and flags with the
threshold each one crossed and what it means. Pure functions of the EDA's tallies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: Flag when the most common class has more than this many times the samples of the rarest.
IMBALANCE_RATIO = 10.0
#: Flag when the normalised class entropy is below this (1 = perfectly balanced).
MIN_CLASS_ENTROPY = 0.8
#: Flag when more than this share of the items sit in the top 10% of occupied grid cells.
GEO_TOP10_SHARE = 0.5
#: ...counted only when at least this many grid cells are occupied (else see GEO_MIN_CELLS).
GEO_MIN_CELLS_FOR_SHARE = 10
#: Flag when fewer grid cells than this are occupied: a local dataset.
GEO_MIN_CELLS = 3
#: Flag when more than this share of dated items fall in one season (uniform: 0.25).
SEASON_SHARE = 0.5
#: Flag when more than this share of dated items fall in one year.
YEAR_SHARE = 0.8


def imbalance_ratio(counts: Mapping[str, float]) -> float | None:
    """Largest class count over the smallest non-zero one (None with fewer than 2 classes)."""
    present = [c for c in counts.values() if c > 0]
    if len(present) < 2:
        return None
    return max(present) / min(present)


def normalised_entropy(counts: Mapping[str, float]) -> float | None:
    """Shannon entropy of the class shares over log(number of classes), in [0, 1]."""
    if len(counts) < 2:
        return None
    total = sum(counts.values())
    if total <= 0:
        return None
    shares = [c / total for c in counts.values() if c > 0]
    return -sum(p * math.log(p) for p in shares) / math.log(len(counts))


def top_share(counts: Mapping[Any, int], fraction: float = 0.1) -> float | None:
    """Share of the total held by the top ``fraction`` of keys (at least one key)."""
    values = sorted(counts.values(), reverse=True)
    total = sum(values)
    if not total:
        return None
    top = max(1, math.ceil(len(values) * fraction))
    return sum(values[:top]) / total


def _max_share(counts: Mapping[str, int]) -> tuple[str, float] | None:
    total = sum(counts.values())
    if not total:
        return None
    key = max(counts, key=lambda k: counts[k])
    return key, counts[key] / total


def _flag(
    code: str, value: float | int | str, threshold: float | int, explanation: str
) -> dict[str, Any]:
    if isinstance(value, float):
        value = round(value, 4)
    return {"code": code, "value": value, "threshold": threshold, "explanation": explanation}


def compute_bias(
    class_counts: Mapping[str, float],
    cell_counts: Mapping[Any, int],
    continents: Mapping[str, int],
    seasons: Mapping[str, int],
    years: Mapping[str, int],
) -> dict[str, Any]:
    """The ``bias`` section of qa.json: measures, and flags with their thresholds."""
    ratio = imbalance_ratio(class_counts)
    entropy = normalised_entropy(class_counts)
    geo = top_share(cell_counts)
    flags = []
    if ratio is not None and ratio > IMBALANCE_RATIO:
        rare = min((k for k in class_counts if class_counts[k] > 0), key=lambda k: class_counts[k])
        flags.append(
            _flag(
                "class-imbalance",
                ratio,
                IMBALANCE_RATIO,
                f"the most common class has {ratio:.1f}× the samples of the rarest ({rare});"
                " a model can score well while ignoring rare classes: weight the loss,"
                " resample, or report per-class metrics",
            )
        )
    absent = [k for k, v in class_counts.items() if v == 0]
    if absent:
        flags.append(
            _flag(
                "class-absent",
                len(absent),
                0,
                f"declared class(es) with no samples: {', '.join(sorted(absent)[:10])}",
            )
        )
    if entropy is not None and entropy < MIN_CLASS_ENTROPY:
        flags.append(
            _flag(
                "class-entropy",
                entropy,
                MIN_CLASS_ENTROPY,
                "normalised class entropy (1 = every class equally common) is low: a few"
                " classes dominate the labels",
            )
        )
    occupied = len(cell_counts)
    if geo is not None and occupied >= GEO_MIN_CELLS_FOR_SHARE and geo > GEO_TOP10_SHARE:
        flags.append(
            _flag(
                "geo-concentration",
                geo,
                GEO_TOP10_SHARE,
                f"{geo:.0%} of the items sit in the top 10% of the {occupied} occupied 1° grid"
                " cells: the model will see a few places much more than the rest",
            )
        )
    if 0 < occupied < GEO_MIN_CELLS:
        flags.append(
            _flag(
                "geo-local",
                occupied,
                GEO_MIN_CELLS,
                f"every item falls in {occupied} 1° grid cell(s): results may not transfer to"
                " other regions",
            )
        )
    known = {k: v for k, v in continents.items() if k != "other"}
    if len(known) == 1:
        flags.append(
            _flag(
                "geo-one-continent",
                next(iter(known)),
                2,
                "every located item is on one continent (coarse lon/lat boxes)",
            )
        )
    season = _max_share(seasons)
    if season and season[1] > SEASON_SHARE:
        flags.append(
            _flag(
                "season-concentration",
                season[1],
                SEASON_SHARE,
                f"{season[1]:.0%} of the dated items are from {season[0]} (an even spread is 25%"
                " a season): phenology, snow and sun angle of other seasons are missing",
            )
        )
    year = _max_share(years)
    if year and year[1] > YEAR_SHARE:
        flags.append(
            _flag(
                "year-concentration",
                year[1],
                YEAR_SHARE,
                f"{year[1]:.0%} of the dated items are from {year[0]}: changes over the years"
                " (land use, sensors, processing baselines) are not represented",
            )
        )
    return {
        "class_imbalance_ratio": None if ratio is None else round(ratio, 4),
        "class_entropy": None if entropy is None else round(entropy, 4),
        "geo_top10_share": None if geo is None else round(geo, 4),
        "continents": dict(sorted(continents.items())),
        "seasons": {s: seasons.get(s, 0) for s in ("winter", "spring", "summer", "autumn")},
        "years": dict(sorted(years.items())),
        "flags": flags,
    }


def thresholds() -> dict[str, float | int]:
    """Every threshold, for the report's explanation."""
    return {
        "class-imbalance": IMBALANCE_RATIO,
        "class-entropy": MIN_CLASS_ENTROPY,
        "geo-concentration": GEO_TOP10_SHARE,
        "geo-local": GEO_MIN_CELLS,
        "season-concentration": SEASON_SHARE,
        "year-concentration": YEAR_SHARE,
    }
