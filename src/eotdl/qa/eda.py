"""Exploratory data analysis of a dataset: bands, classes, splits, space, time and bias.

One streaming pass over the items gathers the light tallies (splits, footprints, dates, chip
classes) and the list of rasters; the heavy parts, per-band statistics over every pixel and
pixel counts of label masks, run with Dask over windows of the rasters (see
:mod:`eotdl.qa.bandstats`). Memory stays bounded: windows are streamed and partial results
merged; no array ever holds the whole dataset.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dask.bag as db
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from eotdl.catalog.compute import in_order
from eotdl.catalog.vocabulary import SPLIT, AssetRef, asset_refs
from eotdl.errors import EotdlError
from eotdl.qa import bias as bias_
from eotdl.qa.bandstats import BandTask, Scheme, band_statistics, summarize
from eotdl.qa.checks.metadata import item_time
from eotdl.qa.checks.rasters import item_geometry
from eotdl.qa.context import QAContext, is_raster
from eotdl.qa.engine import SCHEDULERS, Engine
from eotdl.qa.geo import GRID_DEG, area_m2, continent, grid_cell, season
from eotdl.qa.labels import (
    class_names,
    declared_classes,
    feature_classes,
    is_vector_labels,
    property_classes,
    read_features,
)
from eotdl.qa.rasters import WINDOW_PIXELS as DEFAULT_WINDOW_PIXELS
from eotdl.qa.rasters import RasterSource, raster_footprint, valid_mask, windows

#: Grid cells listed in qa.json (the most populated first).
MAX_CELLS = 2000
#: Raster headers read by one task on a cluster (band data types the items do not declare).
HEADER_BATCH = 64
#: Vertices of the footprint union beyond which it is simplified further.
MAX_UNION_VERTICES = 20000


def workers_available() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def choose_scheduler() -> str:
    """``EOTDL_QA_SCHEDULER`` if set, else threads: GDAL reads and decompresses outside the
    GIL, so threads scale, start at once and share memory (bench/RESULTS.md compares)."""
    chosen = os.environ.get("EOTDL_QA_SCHEDULER", "").strip()
    if chosen:
        if chosen not in SCHEDULERS:
            raise EotdlError(
                f"EOTDL_QA_SCHEDULER={chosen!r} is not a scheduler",
                hint="use threads, processes, distributed or sync",
            )
        return chosen
    return "threads"


@dataclass
class _Tally:
    """What one pass over the items gathers."""

    items: int = 0
    splits: Counter[str] = field(default_factory=Counter)
    geometries: list[BaseGeometry] = field(default_factory=list)
    cells: Counter[tuple[float, float]] = field(default_factory=Counter)
    continents: Counter[str] = field(default_factory=Counter)
    by_year: Counter[str] = field(default_factory=Counter)
    by_month: Counter[str] = field(default_factory=Counter)
    seasons: Counter[str] = field(default_factory=Counter)
    start: str | None = None
    end: str | None = None
    undated: int = 0
    class_counts: dict[str, float] = field(default_factory=dict)
    class_area: dict[str, float] = field(default_factory=dict)

    def add_class(self, key: str, count: float, area: float) -> None:
        """Count ``count`` samples of class ``key`` covering ``area`` m²."""
        self.class_counts[key] = self.class_counts.get(key, 0) + count
        self.class_area[key] = self.class_area.get(key, 0.0) + area

    imagery: list[tuple[AssetRef, list[str] | None, list[str]]] = field(default_factory=list)
    masks: list[AssetRef] = field(default_factory=list)
    vectors: list[tuple[dict[str, Any], AssetRef]] = field(default_factory=list)


def _tally(ctx: QAContext, declared: dict[str, list[str]]) -> _Tally:
    tally = _Tally()
    for item in ctx.iter_items():
        tally.items += 1
        props = item.get("properties") or {}
        split = props.get(SPLIT)
        tally.splits[split if isinstance(split, str) else "unassigned"] += 1
        geometry = item_geometry(item)
        lat = 0.0
        if geometry is not None:
            tally.geometries.append(geometry)
            point = geometry.representative_point()
            lat = point.y
            tally.cells[grid_cell(point.x, point.y)] += 1
            tally.continents[continent(point.x, point.y)] += 1
        when = item_time(props)
        if when is None:
            tally.undated += 1
        else:
            stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            tally.start = min(tally.start or stamp, stamp)
            tally.end = max(tally.end or stamp, stamp)
            tally.by_year[f"{when.year:04d}"] += 1
            tally.by_month[f"{when.year:04d}-{when.month:02d}"] += 1
            tally.seasons[season(when.month, lat)] += 1
        for name, cls in property_classes(item, class_names(item, declared)).items():
            key = _class_key(name, cls, declared)
            tally.add_class(key, 1, area_m2(geometry) if geometry is not None else 0.0)
        _collect_assets(ctx, item, tally)
    return tally


def _collect_assets(ctx: QAContext, item: dict[str, Any], tally: _Tally) -> None:
    for ref in asset_refs(item):
        if not ctx.in_lab(ref.href):
            continue
        if is_raster(ref) and ref.is_label:
            tally.masks.append(ref)
        elif is_raster(ref) and ref.is_imagery:
            meta = (item.get("assets") or {}).get(ref.key) or {}
            bands = _list(meta.get("raster:bands"))
            dtypes = [str(b.get("data_type")) for b in bands if isinstance(b, dict)]
            known = dtypes if dtypes and "None" not in dtypes else None
            names = [
                str(b.get("name", "")) for b in _list(meta.get("eo:bands")) if isinstance(b, dict)
            ]
            tally.imagery.append((ref, known, names))
        elif is_vector_labels(ref):
            tally.vectors.append((item, ref))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _class_key(name: str, cls: str, declared: dict[str, list[str]]) -> str:
    return f"{name}={cls}" if len([n for n in declared if n]) > 1 and name else cls


def _header_dtypes(source: RasterSource) -> list[str] | None:
    try:
        with source.open() as src:
            return list(src.dtypes)
    except Exception:  # noqa: BLE001 - unreadable files are the rasters check's business
        return None


def _header_batch(sources: list[RasterSource]) -> list[list[str] | None]:
    """A task: the data types of each raster's bands (None: unreadable)."""
    return [_header_dtypes(source) for source in sources]


def _band_tasks(
    ctx: QAContext, tally: _Tally, pixels: int
) -> tuple[list[BandTask], dict[str, list[str]]]:
    """One task per imagery file, with the binning scheme of each band decided up front."""
    sources = [ctx.raster_source(ref.href) for ref, _, _ in tally.imagery]
    unknown = [i for i, (_, dtypes, _) in enumerate(tally.imagery) if dtypes is None]
    found: dict[int, list[str] | None] = {}
    if unknown:
        headers = [sources[i] for i in unknown]
        if ctx.client is not None:  # the workers open the files, a batch a task
            batches = [headers[i : i + HEADER_BATCH] for i in range(0, len(headers), HEADER_BATCH)]
            done = in_order(ctx.client, _header_batch, batches)
            found = dict(zip(unknown, (d for batch in done for d in batch), strict=True))
        else:
            with ThreadPoolExecutor(max_workers=ctx.workers) as pool:
                found = dict(zip(unknown, pool.map(_header_dtypes, headers), strict=True))
    per_band: dict[tuple[str, int], set[str]] = {}
    names: dict[str, list[str]] = {}
    plan: list[tuple[int, list[str]]] = []
    for index, (ref, dtypes, band_names) in enumerate(tally.imagery):
        known = dtypes if dtypes is not None else found.get(index)
        if not known:
            continue
        plan.append((index, known))
        names.setdefault(ref.key, band_names)
        for band, dtype in enumerate(known):
            per_band.setdefault((ref.key, band), set()).add(dtype)
    schemes = {key: Scheme.for_dtypes(dtypes) for key, dtypes in per_band.items()}
    tasks = []
    for index, known in plan:
        ref = tally.imagery[index][0]
        band_schemes = tuple(schemes[(ref.key, b)] for b in range(len(known)))
        tasks.append(BandTask(sources[index], ref.key, band_schemes, pixels))
    return tasks, names


def mask_counts(source: RasterSource) -> dict[str, tuple[int, float]]:
    """Pixels and area (m²) of every value of a label mask's first band, read by windows."""
    counts: Counter[str] = Counter()
    try:
        with source.open() as src:
            pixel = _pixel_area(src)
            for window in windows(src):
                data = src.read(1, window=window)
                values, n = np.unique(data[valid_mask(data, src.nodata)], return_counts=True)
                for value, count in zip(values.tolist(), n.tolist(), strict=True):
                    counts[_value_text(value)] += int(count)
    except Exception:  # noqa: BLE001 - unreadable masks are the rasters check's business
        return {}
    return {k: (v, v * pixel) for k, v in counts.items()}


def _value_text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _pixel_area(src: Any) -> float:
    """Area of one pixel in m² (0 when the raster has no CRS)."""
    if src.crs is None:
        return 0.0
    if src.crs.is_projected:
        factor = src.crs.linear_units_factor[1]
        return (
            abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d) * factor**2
        )
    outline = raster_footprint(src.crs, src.transform, src.width, src.height)
    return area_m2(outline) / (src.width * src.height)


def _merge_counts(parts: Iterable[dict[str, tuple[int, float]]]) -> dict[str, tuple[int, float]]:
    total: dict[str, tuple[int, float]] = {}
    for part in parts:
        for key, (n, a) in part.items():
            old = total.get(key, (0, 0.0))
            total[key] = (old[0] + n, old[1] + a)
    return total


def _mask_classes(sources: Sequence[RasterSource], engine: Engine) -> dict[str, tuple[int, float]]:
    if not sources:
        return {}
    bag = db.from_sequence(sources, npartitions=max(1, min(len(sources), engine.workers * 4)))
    merged = bag.map(mask_counts).reduction(_merge_counts, _merge_counts, split_every=8)
    result: dict[str, tuple[int, float]] = engine.compute(merged)
    return result


def compute_eda(
    ctx: QAContext,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    window_pixels: int = DEFAULT_WINDOW_PIXELS,
    cluster: str | None = None,
) -> dict[str, Any]:
    """The ``eda`` section of qa.json; ``cluster`` (``local`` or a scheduler address), or the
    context's Dask client, runs the band statistics on a Dask cluster, with results equal to
    the in-process run."""
    declared = declared_classes(ctx)
    tally = _tally(ctx, declared)
    on_cluster = bool(cluster) or ctx.client is not None
    chosen = "distributed" if on_cluster else scheduler or choose_scheduler()
    count = workers or workers_available()
    tasks, names = _band_tasks(ctx, tally, window_pixels)
    started = time.perf_counter()
    address = cluster if cluster and cluster != "local" else None
    with Engine(chosen, count, address, ctx.client) as engine:
        partials, files = band_statistics(tasks, engine)
        masks = _mask_classes([ctx.raster_source(r.href) for r in tally.masks], engine)
    seconds = time.perf_counter() - started
    bands = []
    for (key, index), partial in sorted(partials.items()):
        listed = names.get(key) or []
        name = listed[index] if index < len(listed) and listed[index] else f"b{index + 1}"
        dtype = sorted({t.schemes[index].kind for t in tasks if t.asset == key})
        bands.append(
            {"asset": key, "band": index + 1, "name": name, "binning": dtype[0]}
            | summarize(partial)
        )
    for value, (pixels, area) in masks.items():
        key = _class_key(next(iter(declared), ""), value, declared)
        tally.add_class(key, pixels, area)
    _vector_classes(ctx, tally, declared)
    if tally.class_counts:  # declared classes with no sample show as 0 (labels were read)
        for name, classes in declared.items():
            for cls in classes:
                tally.add_class(_class_key(name, cls, declared), 0, 0.0)
    spatial = _spatial(tally)
    temporal = {
        "start": tally.start,
        "end": tally.end,
        "items_with_datetime": tally.items - tally.undated,
        "items_without_datetime": tally.undated,
        "by_year": dict(sorted(tally.by_year.items())),
        "by_month": dict(sorted(tally.by_month.items())),
    }
    return {
        "items": tally.items,
        "engine": {
            "scheduler": chosen,
            "workers": count,
            "files": files.files,
            "failed": files.failed,
            "seconds": round(seconds, 3),
        },
        "bands": bands,
        "classes": {
            "counts": {k: int(v) for k, v in sorted(tally.class_counts.items())},
            "area_m2": {k: round(float(v), 1) for k, v in sorted(tally.class_area.items())},
        },
        "splits": dict(sorted(tally.splits.items())),
        "spatial": spatial,
        "temporal": temporal,
        "bias": bias_.compute_bias(
            tally.class_counts, tally.cells, tally.continents, tally.seasons, tally.by_year
        ),
    }


def _vector_classes(ctx: QAContext, tally: _Tally, declared: dict[str, list[str]]) -> None:
    for item, ref in tally.vectors:
        try:
            features = read_features(ctx, ref)
        except (EotdlError, ValueError, OSError):
            continue
        names = class_names(item, declared)
        for feature in features:
            geometry = item_geometry(feature)
            for name, cls in feature_classes(feature, names).items():
                key = _class_key(name, cls, declared)
                tally.add_class(key, 1, area_m2(geometry) if geometry is not None else 0.0)


def _spatial(tally: _Tally) -> dict[str, Any]:
    """Footprint union (simplified GeoJSON), its bbox and area, and per-cell item counts."""
    located = len(tally.geometries)
    out: dict[str, Any] = {
        "items_with_geometry": located,
        "items_without_geometry": tally.items - located,
        "bbox": None,
        "union": None,
        "union_area_km2": None,
        "grid": {
            "cell_deg": GRID_DEG,
            "occupied": len(tally.cells),
            "cells": [
                {"lon": lon, "lat": lat, "count": n}
                for (lon, lat), n in tally.cells.most_common(MAX_CELLS)
            ],
        },
    }
    if not located:
        return out
    union = shapely.union_all(tally.geometries)
    west, south, east, north = union.bounds
    span = max(east - west, north - south, 1e-9)
    tolerance = span / 2000
    simple = union.simplify(tolerance)
    while shapely.get_num_coordinates(simple) > MAX_UNION_VERTICES:
        tolerance *= 4
        simple = union.simplify(tolerance)
    simple = shapely.set_precision(simple, 1e-6)
    out["bbox"] = [round(v, 6) for v in (west, south, east, north)]
    out["union"] = shapely.geometry.mapping(simple)
    out["union_area_km2"] = round(area_m2(union) / 1e6, 3)
    return out
