"""Scenes of a STAC API: opening it, searching it, finding assets, and time ranges.

A :class:`Scene` is one search result reduced to what chipping needs: its time, cloud cover,
footprint, and the hrefs of the wanted assets. Errors say what was asked and how to change it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import shapely
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from eotdl.catalog.times import Interval, format_interval, parse_utc
from eotdl.errors import InputError

DEFAULT_API = "https://earth-search.aws.element84.com/v1"
#: Assets read when ``--assets`` names none for a collection (others: every GeoTIFF data asset).
DEFAULT_ASSETS: dict[str, tuple[str, ...]] = {
    "sentinel-2-l2a": ("red", "green", "blue", "nir"),
    "sentinel-2-c1-l2a": ("red", "green", "blue", "nir"),
    "sentinel-1-grd": ("vv", "vh"),
    "sentinel-1-rtc": ("vv", "vh"),
    "landsat-c2-l2": ("red", "green", "blue", "nir08"),
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class SceneAsset:
    """One wanted asset of a scene: its href, scale/offset, and its band's eo fields."""

    href: str
    scale: float = 1.0
    offset: float = 0.0
    eo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scene:
    """One STAC item of the API: when, where, and the wanted assets (by the name asked)."""

    collection: str
    id: str
    url: str
    when: dt.datetime
    cloud: float | None
    footprint: BaseGeometry
    assets: dict[str, SceneAsset]

    @property
    def day(self) -> str:
        return self.when.strftime("%Y%m%d")


class MissingAssetError(InputError):
    """A scene lacks an asset that was asked for."""


def scene_from_item(
    raw: dict[str, Any], collection: str, api: str, wanted: list[str]
) -> Scene | None:
    """A Scene from a search result (None without a time); MissingAssetError for an asset."""
    props = raw.get("properties") or {}
    item_id = str(raw.get("id"))
    self_href = next(
        (link.get("href") for link in raw.get("links") or [] if link.get("rel") == "self"),
        None,
    )
    url = (
        urljoin(api + "/", self_href)
        if self_href
        else f"{api}/collections/{collection}/items/{item_id}"
    )
    when_text = props.get("datetime") or props.get("start_datetime")
    if not when_text:
        return None
    geometry = raw.get("geometry")
    footprint = shape(geometry) if geometry else box(*raw["bbox"][:2], *raw["bbox"][-2:])
    assets: dict[str, SceneAsset] = {}
    for name in wanted:
        key = find_asset(raw.get("assets") or {}, name)
        if key is None:
            raise MissingAssetError(
                f"scene {collection}/{item_id} has no asset {name!r}"
                f" (it has: {', '.join(sorted(raw.get('assets') or {}))})",
                hint="name existing assets with --assets, or pass --skip-broken",
            )
        asset = raw["assets"][key]
        band = (asset.get("raster:bands") or asset.get("bands") or [{}])[0]
        eo_bands = asset.get("eo:bands") or asset.get("bands") or []
        assets[name] = SceneAsset(
            urljoin(url, str(asset["href"])),
            float(band.get("scale", 1.0) or 1.0),
            float(band.get("offset", 0.0) or 0.0),
            dict(eo_bands[0]) if len(eo_bands) == 1 else {},
        )
    cloud = props.get("eo:cloud_cover")
    return Scene(
        collection,
        item_id,
        url,
        parse_time(str(when_text)),
        None if cloud is None else float(cloud),
        footprint,
        assets,
    )


def open_client(api: str) -> Any:
    """Open the STAC API at ``api``; a clear error when it is unreachable or no STAC API."""
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    modifier = None
    if "planetarycomputer.microsoft.com" in api:
        try:
            import planetary_computer
        except ImportError:
            raise InputError(
                "Planetary Computer assets need signed URLs",
                hint="pip install planetary-computer",
            ) from None
        modifier = planetary_computer.sign_inplace
    try:
        client = Client.open(api, timeout=60, modifier=modifier)
    except APIError as exc:
        status = getattr(exc, "status_code", None)
        what = f"answered HTTP {status}" if status else "is unreachable"
        raise InputError(
            f"the STAC API at {api} {what} ({str(exc).strip()[:200]})",
            hint=f"check the URL and the network; Earth Search is {DEFAULT_API}",
        ) from None
    except Exception as exc:  # noqa: BLE001 - anything else means it is not a STAC API
        raise InputError(
            f"{api} is not a STAC API ({type(exc).__name__}: {str(exc)[:200]})",
            hint=f"give the API's landing page URL, e.g. {DEFAULT_API}",
        ) from None
    if not client.conforms_to("ITEM_SEARCH"):
        raise InputError(
            f"{api} does not offer STAC item search (its conformsTo has no item-search)",
            hint="give the URL of a STAC API, not of a static catalog",
        )
    return client


def search_items(
    client: Any,
    collection: str,
    where: BaseGeometry,
    interval: Interval,
    max_cloud: float | None,
    max_items: int,
    query_text: str,
) -> list[dict[str, Any]]:
    """Raw item dicts of one search (bbox for boxes, intersects otherwise)."""
    import warnings

    from pystac_client.exceptions import APIError

    kwargs: dict[str, Any] = {
        "collections": [collection],
        "max_items": int(max_items),
        "limit": min(int(max_items), 100),
    }
    if interval != (None, None):
        kwargs["datetime"] = format_interval(interval)
    if where.equals(box(*where.bounds)):
        kwargs["bbox"] = list(where.bounds)
    else:
        if shapely.get_num_coordinates(where) > 500:
            where = where.simplify(0.0001)
        kwargs["intersects"] = mapping(where)
    if max_cloud is not None:
        if client.conforms_to("QUERY"):
            kwargs["query"] = {"eo:cloud_cover": {"lt": max_cloud}}
        elif client.conforms_to("FILTER"):
            kwargs["filter"] = {"op": "<", "args": [{"property": "eo:cloud_cover"}, max_cloud]}
            kwargs["filter_lang"] = "cql2-json"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(client.search(**kwargs).items_as_dicts())
    except APIError as exc:
        raise InputError(
            f"the search failed ({query_text}): {str(exc).strip()[:300]}",
            hint="check the collection names and the --datetime and area values",
        ) from None


def describe_query(
    api: str,
    collection: str,
    where: BaseGeometry,
    interval: Interval,
    max_cloud: float | None,
) -> str:
    """The search in words, for messages."""
    parts = [f"collection {collection} in {api}"]
    if where.geom_type == "Point":
        parts.append(f"point {where.x:.5f},{where.y:.5f}")
    else:
        parts.append("bbox " + ",".join(f"{v:.5f}" for v in where.bounds))
    if interval != (None, None):
        parts.append(f"datetime {format_interval(interval)}")
    if max_cloud is not None:
        parts.append(f"eo:cloud_cover < {max_cloud:g}")
    return ", ".join(parts)


def find_asset(assets: dict[str, Any], name: str) -> str | None:
    """The key of the asset called ``name``: by key, or by its single band's name/common name."""
    if name in assets:
        return name
    lowered = name.lower()
    for key in sorted(assets):
        if key.lower() == lowered:
            return key
    for key in sorted(assets):
        bands = assets[key].get("eo:bands") or assets[key].get("bands") or []
        if len(bands) == 1 and lowered in {
            str(bands[0].get("name", "")).lower(),
            str(bands[0].get("common_name", "")).lower(),
            str(bands[0].get("eo:common_name", "")).lower(),
        }:
            return key
    return None


def default_assets(collection: str, raw: dict[str, Any]) -> list[str]:
    """The assets to read when none are named: known defaults, else every GeoTIFF data asset."""
    if collection in DEFAULT_ASSETS:
        return list(DEFAULT_ASSETS[collection])
    return sorted(
        key
        for key, asset in (raw.get("assets") or {}).items()
        if "data" in (asset.get("roles") or ["data"]) and "tiff" in str(asset.get("type", ""))
    )


def parse_duration(text: str) -> dt.timedelta:
    """``3d``, ``12h``, ``1w2d``, ``90m`` → a timedelta."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or _DURATION.sub("", cleaned).strip():
        raise InputError(
            f"--time-buffer {text!r}: not a duration", hint="write e.g. 3d, 12h, 1w or 2d12h"
        )
    return dt.timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time (UTC when it has no offset) as an aware UTC datetime; ValueError for
    anything else, out-of-range times included (:func:`eotdl.catalog.times.parse_utc`)."""
    return parse_utc(text)


def iso(when: dt.datetime) -> str:
    """``2023-05-01T10:30:00Z`` (whole seconds, UTC)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def widen(interval: Interval, by: dt.timedelta) -> Interval:
    """``interval`` grown by ``by`` at each closed end."""
    start, end = interval
    low = dt.datetime.min.replace(tzinfo=dt.UTC)
    high = dt.datetime.max.replace(tzinfo=dt.UTC)
    return (
        (start - by if start - low > by else low) if start else None,
        (end + by if high - end > by else high) if end else None,
    )
