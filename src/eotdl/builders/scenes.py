"""Scenes of a STAC API: one search result reduced to what chipping needs, and its times.

A :class:`Scene` is one item of a search: its time, cloud cover, footprint, and the hrefs of
the wanted assets (found by key or by band name). The time helpers read ``--time-buffer``,
write times, and widen a search window. Searching the API is :mod:`eotdl.builders.scene_search`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from eotdl.catalog.times import Interval, parse_utc
from eotdl.errors import InputError

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
