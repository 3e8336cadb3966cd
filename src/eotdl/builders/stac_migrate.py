"""Bringing STAC objects of any version from 0.8 up to STAC 1.0.0.

pystac's migration does most of it (core fields, ``dtr:``, ``eo:`` fields that became common
metadata or view fields, pre-1.0 label field names, extension short names → schema URLs). We
then claim 1.0.0 and fix what it leaves: STAC 1.1 ``bands`` back to ``eo:bands`` /
``raster:bands``, leftover short extension names, label fields the 1.0 label schema rejects
(an empty description, a single overview object, a missing ``label:properties``), and items
with a geometry but no bbox.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from pystac.serialization import identify_stac_object, migrate_to_latest
from pystac.serialization.identify import STACVersionID

from eotdl.builders.base import EO_EXT, LABEL_EXT, RASTER_EXT, STAC_VERSION
from eotdl.builders.geojsonfile import check_geometry, shape_of
from eotdl.catalog.vocabulary import (
    FILE_EXT,
    PROJ_EXT,
    SAR_EXT,
    SAT_EXT,
    SCIENTIFIC_EXT,
    VERSION_EXT,
    VIEW_EXT,
    extension_url,
    is_label_item,
)
from eotdl.errors import InputError

#: Short extension names pystac leaves alone, and what they become.
SHORT_NAMES = {
    "label": LABEL_EXT,
    "eo": EO_EXT,
    "raster": RASTER_EXT,
    "proj": PROJ_EXT,
    "projection": PROJ_EXT,
    "view": VIEW_EXT,
    "sar": SAR_EXT,
    "sat": SAT_EXT,
    "scientific": SCIENTIFIC_EXT,
    "version": VERSION_EXT,
    "file": FILE_EXT,
}
#: Short names of extensions that no longer exist (their fields are core now, or were dropped).
RETIRED = frozenset(
    {
        "asset",
        "assets",
        "item-assets",
        "collection-assets",
        "commons",
        "checksum",
        "dtr",
        "datetime-range",
        "single-file-stac",
        "tiled-assets",
    }
)
#: STAC 1.1 extension versions (for ``bands``) and the 1.0 ones we write instead.
_V1_1_EXTENSIONS = {
    extension_url("eo", "v2.0.0"): EO_EXT,
    extension_url("eo", "v2.0.0-beta.1"): EO_EXT,
    extension_url("raster", "v2.0.0"): RASTER_EXT,
    extension_url("raster", "v2.0.0-beta.1"): RASTER_EXT,
}
_EO_BAND_FIELDS = {
    "eo:common_name": "common_name",
    "eo:center_wavelength": "center_wavelength",
    "eo:full_width_half_max": "full_width_half_max",
    "eo:solar_illumination": "solar_illumination",
}
_RASTER_BAND_FIELDS = {
    "nodata": "nodata",
    "data_type": "data_type",
    "statistics": "statistics",
    "unit": "unit",
    "raster:sampling": "sampling",
    "raster:bits_per_sample": "bits_per_sample",
    "raster:spatial_resolution": "spatial_resolution",
    "raster:scale": "scale",
    "raster:offset": "offset",
    "raster:histogram": "histogram",
}
_RASTER_MEDIA = ("image/tiff", "image/png", "image/jpeg", "image/jp2", "application/x-hdf")


def source_version(obj: dict[str, Any]) -> str:
    """The STAC version an object claims (``"unknown"`` when it claims none)."""
    return str(obj.get("stac_version") or "unknown")


def migrate(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """A copy of ``obj`` (a Catalog, Collection or Item of any version) as STAC 1.0.0."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = identify_stac_object(obj)
            out = migrate_to_latest(obj, info)
    except Exception as exc:  # pystac raises a mix of STACTypeError, KeyError, ValueError
        raise InputError(f"{where}: not a STAC object pystac can read ({exc})") from None
    version: STACVersionID = info.version_range.latest_valid_version()
    out["stac_version"] = STAC_VERSION
    if out.get("type") == "Feature":
        if version >= "1.1.0-beta.1":
            _bands_to_v1_0(out)
        _extension_urls(out)
        _fix_item(out, where)
        if is_label_item(out):
            _fix_label(out)
    else:
        _extension_urls(out)
    return out


def _extension_urls(obj: dict[str, Any]) -> None:
    """Schema URLs only, each once; retired and unknown short names dropped."""
    found: list[str] = []
    for ext in obj.get("stac_extensions") or []:
        if not isinstance(ext, str):
            continue
        if "://" not in ext:
            if ext in RETIRED or ext not in SHORT_NAMES:
                continue  # an unknown short name names no schema: its fields stay as they are
            ext = SHORT_NAMES[ext]
        ext = _V1_1_EXTENSIONS.get(ext, ext)
        if ext not in found:
            found.append(ext)
    obj["stac_extensions"] = found


def _fix_item(item: dict[str, Any], where: str) -> None:
    if not isinstance(item.get("properties"), dict):
        raise InputError(f"{where}: the item has no 'properties' object")
    props = item["properties"]
    if "datetime" not in props:
        if props.get("start_datetime") and props.get("end_datetime"):
            props["datetime"] = None
        else:
            raise InputError(
                f"{where}: item {item.get('id')!r} has no datetime",
                hint="STAC Items need 'datetime' (or 'start_datetime' and 'end_datetime')",
            )
    if not isinstance(item.get("assets"), dict):
        item["assets"] = {}
    if not isinstance(item.get("links"), list):
        item["links"] = []
    # the one GeoJSON guard: an object of a known type, finite positions, rings of four or more
    check_geometry(item.get("geometry"), f"{where}: item {item.get('id')!r}")
    bbox = item.get("bbox")
    if bbox is not None and (
        not isinstance(bbox, list)
        or len(bbox) not in (4, 6)
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
        or not all(math.isfinite(v) for v in bbox)
    ):
        raise InputError(f"{where}: item {item.get('id')!r}: bbox {bbox!r} is not 4 or 6 numbers")
    if item.get("geometry") and not bbox:
        geometry = shape_of(item["geometry"], f"{where}: item {item.get('id')!r}")
        if geometry.is_empty:
            raise InputError(f"{where}: item {item.get('id')!r} has an empty geometry")
        item["bbox"] = [float(v) for v in geometry.bounds]


def _fix_label(item: dict[str, Any]) -> None:
    """Make the ``label:*`` fields valid for the label extension v1.0.1."""
    props = item["properties"]
    for name in ("label:tasks", "label:methods", "label:properties"):
        if isinstance(props.get(name), str):
            props[name] = [props[name]]
    if not props.get("label:properties"):
        props["label:properties"] = None
    description = props.get("label:description")
    if not isinstance(description, str) or not description.strip():
        props["label:description"] = str(props.get("title") or "labels")
    if props.get("label:type") not in ("vector", "raster"):
        props["label:type"] = _guess_label_type(item)
    overviews = props.get("label:overviews")
    if isinstance(overviews, dict):
        props["label:overviews"] = [overviews]
    classes = props.get("label:classes")
    if isinstance(classes, dict):
        classes = props["label:classes"] = [classes]
    if props["label:type"] == "raster" and isinstance(classes, list):
        for entry in classes:
            if isinstance(entry, dict):
                entry["name"] = None
    extensions = [e for e in item["stac_extensions"] if "/label/" not in e]
    item["stac_extensions"] = [*extensions, LABEL_EXT]


def _guess_label_type(item: dict[str, Any]) -> str:
    for asset in (item.get("assets") or {}).values():
        media = str(asset.get("type") or "")
        href = str(asset.get("href") or "").lower()
        if media.startswith(_RASTER_MEDIA) or href.endswith((".tif", ".tiff", ".png")):
            return "raster"
    return "vector"


def _bands_to_v1_0(item: dict[str, Any]) -> None:
    """STAC 1.1 ``bands`` → ``eo:bands`` and ``raster:bands`` (what STAC 1.0 tools read)."""
    extensions = item.setdefault("stac_extensions", [])
    holders = [item["properties"], *(item.get("assets") or {}).values()]
    for index, holder in enumerate(holders):
        bands = holder.get("bands")
        if not isinstance(bands, list) or not all(isinstance(b, dict) for b in bands):
            continue
        eo = [_band(b, _EO_BAND_FIELDS, named=True) for b in bands]
        raster = [_band(b, _RASTER_BAND_FIELDS, named=False) for b in bands]
        has_raster = index > 0 and any(raster)  # raster:bands belong to assets only
        if has_raster:
            holder.setdefault("raster:bands", raster)
            if RASTER_EXT not in extensions:
                extensions.append(RASTER_EXT)
        if any(set(b) - {"name", "description"} for b in eo) or not has_raster:
            holder.setdefault("eo:bands", eo)  # names alone are kept as eo:bands too
            if EO_EXT not in extensions:
                extensions.append(EO_EXT)
        del holder["bands"]


def _band(band: dict[str, Any], fields: dict[str, str], named: bool) -> dict[str, Any]:
    out: dict[str, Any] = {k: band[k] for k in ("name", "description") if named and k in band}
    for new, old in fields.items():
        if new in band:
            out[old] = band[new]
    return out
