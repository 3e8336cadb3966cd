"""One GeoTIFF (or any raster GDAL reads) → one STAC Item, via rio-stac.

Shared by the raster-based builders. Adds what rio-stac leaves to the caller: a deterministic
datetime (never "now"), refusals with the option that would accept the file (no CRS, a
non-Earth CRS, no date), JSON-safe numbers (NaN nodata written as "nan"), and footprints from
the valid-data mask when asked. :func:`image_item` also describes an image with no place on
Earth (a PNG or JPEG chip) as a null-geometry Item.

Rasters are opened with :func:`eotdl.builders.rasterfiles.open_raster`, which refuses a
truncated or corrupt file by name.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from pathlib import Path
from typing import Any

import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioError

from eotdl.builders.rasterfiles import open_raster
from eotdl.catalog.times import format_utc, parse_utc
from eotdl.catalog.vocabulary import PROJ_EXT, STAC_VERSION, extension_url
from eotdl.errors import InputError

# rio-stac reads rasters without a geotransform (GCP-only files) with a warning we answer
# ourselves; set once for the process (catch_warnings is not thread-safe).
warnings.filterwarnings("ignore", category=rasterio.errors.NotGeoreferencedWarning)

#: Media types of the GDAL drivers of the images builders take.
MEDIA_TYPES = {
    "GTiff": "image/tiff; application=geotiff",
    "COG": "image/tiff; application=geotiff; profile=cloud-optimized",
    "PNG": "image/png",
    "JPEG": "image/jpeg",
}

_NAME_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?(?!\d)")
_DASH_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def acquisition_time(src: Any, path: Path, given: str | None) -> str:
    """The item's datetime: ``given``, the TIFF datetime tag, or a date in the file name."""
    if given:
        return _iso(given, f"--datetime {given!r}")
    tag = src.tags().get("TIFFTAG_DATETIME")
    if tag:
        for layout in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
            try:
                return format_utc(dt.datetime.strptime(tag.strip(), layout))
            except ValueError:
                continue
    for pattern in (_NAME_DATE, _DASH_DATE):
        match = pattern.search(path.stem)
        if match:
            parts = [int(p) if p else 0 for p in match.groups()] + [0, 0, 0]
            try:
                year, month, day, hour, minute, second = parts[:6]
                when = dt.datetime(year, month, day, hour, minute, second)
            except ValueError:
                continue
            if 1950 <= when.year <= 2100:
                return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise InputError(
        f"{path}: no acquisition time (no TIFF datetime tag, no date in the file name)",
        hint="pass --datetime 2023-05-01 (or a full ISO time) to give one",
    )


def _iso(text: str, where: str) -> str:
    try:
        return format_utc(parse_utc(text))
    except ValueError as exc:
        raise InputError(f"{where}: not an ISO date or time ({exc})") from None


def is_earth(crs: CRS | None) -> bool:
    """False for CRSs of other bodies (Mars, the Moon…), whose coordinates STAC cannot hold."""
    if crs is None:
        return True
    try:
        from pyproj import CRS as ProjCRS

        datum = ProjCRS.from_user_input(crs.to_wkt()).ellipsoid
        return datum is None or abs(datum.semi_major_metre - 6_378_137) < 50_000
    except Exception:  # noqa: BLE001 - an unreadable CRS is judged by the transform later
        return True


def json_safe(value: Any) -> Any:
    """NaN and infinities as STAC writes them ("nan", "inf", "-inf") or None in statistics."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            if key == "nodata" and isinstance(inner, float) and not math.isfinite(inner):
                out[key] = "nan" if math.isnan(inner) else ("inf" if inner > 0 else "-inf")
            else:
                out[key] = json_safe(inner)
        return out
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def raster_item(
    path: str | Path,
    item_id: str,
    *,
    asset_key: str = "image",
    roles: tuple[str, ...] = ("data",),
    datetime: str | None = None,
    crs: str | None = None,
    allow_non_earth: bool = False,
    footprint_from_mask: bool = False,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A STAC Item (dict) for the raster at ``path``; its asset href is the absolute path."""
    from rio_stac import create_stac_item

    file = Path(path).resolve()
    try:
        with open_raster(file) as src:
            if src.width < 1 or src.height < 1 or src.count < 1:
                raise InputError(f"{file}: the raster has no pixels or no bands")
            if src.crs is None and not src.gcps[0] and crs is None:
                raise InputError(
                    f"{file}: no CRS and no ground control points, so its place on Earth"
                    " is unknown",
                    hint="pass --crs EPSG:XXXX if you know the CRS of its transform",
                )
            source: Any = src
            vrt = None
            if crs is not None and src.crs is None:
                from rasterio.vrt import WarpedVRT

                vrt = WarpedVRT(src, src_crs=CRS.from_user_input(crs), crs=crs)
                source = vrt
            earth = is_earth(src.crs)
            if not earth and not allow_non_earth:
                raise InputError(
                    f"{file}: its CRS is not an Earth CRS ({src.crs.to_string()[:60]}…),"
                    " so it has no longitude/latitude footprint",
                    hint="pass --allow-non-earth to ingest it with a null geometry and"
                    " its native projection fields",
                )
            when = acquisition_time(src, file, datetime)
            if not earth:
                return _non_earth_item(src, file, item_id, asset_key, roles, when, properties)
            extra = {"datetime": when, **(properties or {})}
            item = create_stac_item(
                source,
                input_datetime=parse_utc(when),
                id=item_id,
                asset_name=asset_key,
                asset_href=str(file),
                asset_roles=list(roles),
                with_proj=True,
                with_raster=False,  # the same raster:bands, faster: _add_raster_bands
                with_eo=True,
                properties=extra,
            ).to_dict(include_self_link=False)
            _add_raster_bands(item, source, asset_key)
            if footprint_from_mask:
                _mask_footprint(src, item)
            if vrt is not None:
                vrt.close()
    except RasterioError as exc:
        raise InputError(f"{file}: not a readable raster ({exc})") from None
    except Exception as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{file}: could not be described ({type(exc).__name__}: {exc})") from None
    item["properties"]["datetime"] = when
    item["stac_version"] = "1.0.0"
    item["links"] = []
    for asset in item["assets"].values():
        asset["href"] = str(file)
    return json_safe(item)


def _add_raster_bands(item: dict[str, Any], src: Any, asset_key: str) -> None:
    """What ``create_stac_item(with_raster=True)`` adds, from :mod:`rasterstats`."""
    from rio_stac.stac import RASTER_EXT_VERSION

    from eotdl.builders.rasterstats import raster_bands

    url = extension_url("raster", RASTER_EXT_VERSION)
    extensions = item["stac_extensions"]
    eo = [i for i, e in enumerate(extensions) if "/eo/" in e]
    extensions.insert(eo[0] if eo else len(extensions), url)  # rio-stac's order
    item["assets"][asset_key]["raster:bands"] = raster_bands(src)


def _non_earth_item(
    src: Any,
    file: Path,
    item_id: str,
    asset_key: str,
    roles: tuple[str, ...],
    when: str,
    properties: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [PROJ_EXT],
        "id": item_id,
        "geometry": None,
        "properties": {
            "datetime": when,
            "proj:epsg": None,
            "proj:wkt2": src.crs.to_wkt(),
            "proj:shape": [src.height, src.width],
            "proj:transform": list(src.transform)[:6],
            **(properties or {}),
        },
        "links": [],
        "assets": {
            asset_key: {
                "href": str(file),
                "type": "image/tiff; application=geotiff",
                "roles": list(roles),
            }
        },
    }


def _mask_footprint(src: Any, item: dict[str, Any]) -> None:
    """Replace the footprint by the outline of the valid pixels (small rasters only)."""
    import numpy as np
    from rasterio.features import shapes
    from rasterio.warp import transform_geom
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    scale = max(1, math.ceil(max(src.width, src.height) / 1024))
    mask = src.dataset_mask(out_shape=(src.height // scale or 1, src.width // scale or 1))
    transform = src.transform * src.transform.scale(
        src.width / mask.shape[1], src.height / mask.shape[0]
    )
    polygons = [shape(g) for g, v in shapes(mask.astype(np.uint8), transform=transform) if v > 0]
    if not polygons or src.crs is None:
        return
    footprint = unary_union(polygons).simplify(abs(transform.a))
    geometry = transform_geom(src.crs, "EPSG:4326", mapping(footprint), antimeridian_cutting=True)
    item["geometry"] = geometry
    geom = shape(geometry)
    item["bbox"] = list(geom.bounds)


def is_georeferenced(src: Any) -> bool:
    """Whether an open dataset has a CRS or ground control points."""
    return src.crs is not None or bool(src.gcps[0])


def image_item(
    path: Path,
    item_id: str,
    *,
    datetime: str | None = None,
    crs: str | None = None,
) -> dict[str, Any]:
    """An Item for one image: via rio-stac when it has a place on Earth, else null geometry.

    The image asset is ``image`` (roles ``data``, ``ml-aoi:role: feature``); the Item claims
    STAC 1.0.0 like the rest of a dataset.
    """
    file = Path(path).resolve()
    try:
        with open_raster(file, "image") as src:  # a cut TIFF or PNG is refused here
            item: dict[str, Any] | None = None
            if not (is_georeferenced(src) or crs):
                if src.width < 1 or src.height < 1 or src.count < 1:
                    raise InputError(f"{file}: the image has no pixels or no bands")
                src.read()  # a truncated file fails here, not later in training
                item = {
                    "type": "Feature",
                    "stac_version": STAC_VERSION,
                    "stac_extensions": [PROJ_EXT],
                    "id": item_id,
                    "geometry": None,
                    "properties": {
                        "datetime": acquisition_time(src, file, datetime),
                        "proj:epsg": None,
                        "proj:shape": [src.height, src.width],
                    },
                    "links": [],
                    "assets": {
                        "image": {
                            "href": str(file),
                            "type": MEDIA_TYPES.get(src.driver, "application/octet-stream"),
                            "roles": ["data"],
                        }
                    },
                }
    except RasterioError as exc:
        raise InputError(f"{file}: not a readable image ({exc})") from None
    if item is None:
        item = raster_item(file, item_id, datetime=datetime, crs=crs)
    item["stac_version"] = STAC_VERSION
    item["assets"]["image"]["ml-aoi:role"] = "feature"
    return item
