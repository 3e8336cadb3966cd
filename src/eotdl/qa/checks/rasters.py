"""Checks on raster assets: they open, have a CRS, sit where the item says, are laid out as
COGs, and hold data (not only nodata)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from eotdl.catalog.vocabulary import asset_refs
from eotdl.qa.context import QAContext, is_raster
from eotdl.qa.findings import Finding, error, info, item_ref, warning
from eotdl.qa.rasters import RasterFacts

#: Share of the item geometry that must lie inside the raster's own footprint.
FOOTPRINT_MIN_OVERLAP = 0.9
#: Rasters larger than this (pixels, either side) must be tiled and have overviews.
COG_MIN_SIDE = 512


def item_geometry(item: dict[str, Any]) -> BaseGeometry | None:
    """The item's geometry as shapely (None when null or unreadable)."""
    geometry = item.get("geometry")
    if not isinstance(geometry, dict):
        return None
    try:
        shaped = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None
    if shaped.is_empty:
        return None
    return shaped if shaped.is_valid else shapely.make_valid(shaped)


def _raster_assets(ctx: QAContext) -> Iterator[tuple[dict[str, Any], Any, RasterFacts]]:
    facts = ctx.raster_facts()
    for item in ctx.iter_items():
        for ref in asset_refs(item):
            if is_raster(ref) and (ref.item_id, ref.key) in facts:
                yield item, ref, facts[(ref.item_id, ref.key)]


def footprint_overlap(geometry: BaseGeometry, footprint: BaseGeometry) -> float:
    """Share of ``geometry`` inside ``footprint`` (for points and lines: 1 or 0)."""
    if geometry.area == 0:
        return 1.0 if footprint.buffer(1e-6).covers(geometry) else 0.0
    return float(geometry.intersection(footprint).area / geometry.area)


def _crosses_antimeridian(geometry: BaseGeometry, footprint: BaseGeometry) -> bool:
    return footprint.bounds[2] - footprint.bounds[0] > 180 or (
        geometry.bounds[2] - geometry.bounds[0] > 180
    )


def check_rasters(ctx: QAContext) -> Iterator[Finding]:
    """Every raster asset opens, has a CRS, and covers the item's geometry."""
    for item, ref, facts in _raster_assets(ctx):
        obj = item_ref(ref.item_id, ref.key)
        if not facts.opened:
            yield error(
                "raster-unreadable",
                obj,
                f"the raster does not open: {facts.error}",
                "re-create the file (it is truncated or not a raster) and upload it again",
            )
            continue
        geometry = item_geometry(item)
        if facts.crs is None:
            if geometry is None:
                yield warning(
                    "raster-no-crs", obj, "the raster has no CRS (the item has no geometry)"
                )
            else:
                yield error(
                    "raster-no-crs",
                    obj,
                    "the raster has no CRS although the item has a geometry",
                    "write the CRS into the file (or re-ingest with --crs EPSG:NNNN)",
                )
            continue
        if geometry is None:
            continue
        if facts.footprint is None:
            yield info(
                "footprint-not-compared",
                obj,
                f"the raster's footprint is not on Earth's lon/lat ({facts.footprint_error})",
            )
            continue
        if _crosses_antimeridian(geometry, facts.footprint):
            yield info(
                "footprint-not-compared",
                obj,
                "the footprint crosses the antimeridian: not compared",
            )
            continue
        overlap = footprint_overlap(geometry, facts.footprint)
        if overlap < FOOTPRINT_MIN_OVERLAP:
            yield error(
                "footprint-mismatch",
                obj,
                f"only {overlap:.0%} of the item geometry lies inside the raster (needs"
                f" {FOOTPRINT_MIN_OVERLAP:.0%}); raster bounds {_bbox(facts.footprint)},"
                f" item bounds {_bbox(geometry)}",
                "recompute the item geometry from the raster (re-ingest), or fix the file's"
                " georeferencing",
            )


def _bbox(geometry: BaseGeometry) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in geometry.bounds) + "]"


def check_cog(ctx: QAContext) -> Iterator[Finding]:
    """Imagery is laid out for partial reads: tiled, with overviews when large (COG)."""
    for _item, ref, facts in _raster_assets(ctx):
        if not ref.is_imagery or not facts.opened or facts.driver != "GTiff":
            continue
        large = max(facts.width, facts.height) > COG_MIN_SIDE
        problems = []
        if large and not facts.tiled:
            problems.append("not tiled (stored in strips)")
        if large and facts.overviews == 0:
            problems.append("no overviews")
        if not problems:
            continue
        fix = "convert it to a COG (re-ingest with --cog, or `rio cogeo create`)"
        message = f"{facts.width}×{facts.height} raster is " + " and ".join(problems)
        if "cloud-optimized" in ref.media_type:
            yield error(
                "cog-invalid",
                item_ref(ref.item_id, ref.key),
                message + " but claims to be a COG",
                fix,
            )
        else:
            yield warning("cog-layout", item_ref(ref.item_id, ref.key), message, fix)


def check_empty(ctx: QAContext) -> Iterator[Finding]:
    """Imagery holds data: not all nodata, not one constant value."""
    for _item, ref, facts in _raster_assets(ctx):
        if not ref.is_imagery or not facts.opened:
            continue
        obj = item_ref(ref.item_id, ref.key)
        if facts.all_nodata:
            yield error(
                "chip-all-nodata",
                obj,
                f"every pixel is nodata ({facts.nodata})",
                "drop the item (the builders skip all-nodata chips) or fix its nodata value",
            )
        elif facts.constant:
            yield warning(
                "chip-constant",
                obj,
                "every valid pixel has the same value: an empty chip?",
                "drop the item, or declare the fill value as nodata",
            )
