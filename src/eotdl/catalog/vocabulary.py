"""The STAC vocabulary this project speaks, in one place.

The extension schema URLs it writes, the split names of ml-aoi and how an item's split is read,
what makes an item a label item, and an item's assets as :class:`AssetRef`. Builders, QA,
access, the site and training import these; none of them spells a URL or ``ml-aoi:split``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

STAC_VERSION = "1.0.0"

LABEL_EXT = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
ML_AOI_EXT = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"
PROJ_EXT = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
RASTER_EXT = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
EO_EXT = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
FILE_EXT = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
PROCESSING_EXT = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
VERSION_EXT = "https://stac-extensions.github.io/version/v1.2.0/schema.json"
SCIENTIFIC_EXT = "https://stac-extensions.github.io/scientific/v1.0.0/schema.json"
ITEM_ASSETS_EXT = "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"
CLASSIFICATION_EXT = "https://stac-extensions.github.io/classification/v1.1.0/schema.json"
MLM_EXT = "https://stac-extensions.github.io/mlm/v1.4.0/schema.json"
VIEW_EXT = "https://stac-extensions.github.io/view/v1.0.0/schema.json"
SAR_EXT = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"
SAT_EXT = "https://stac-extensions.github.io/sat/v1.0.0/schema.json"


def extension_url(name: str, version: str) -> str:
    """The schema URL of version ``version`` (``v1.1.0``) of the extension ``name``."""
    return f"https://stac-extensions.github.io/{name}/{version}/schema.json"


#: The item property holding an item's split (ml-aoi extension).
SPLIT = "ml-aoi:split"
#: The split names, in order.
SPLITS = ("train", "validate", "test")
#: Other names people give the validation split, read as ``validate``.
SPLIT_ALIASES = {"validation": "validate", "val": "validate", "valid": "validate"}


def item_split(item: Mapping[str, Any]) -> str | None:
    """An item's split (``validation`` read as ``validate``), or None when it has none."""
    return properties_split(item.get("properties") or {})


def properties_split(properties: Mapping[str, Any]) -> str | None:
    """:func:`item_split` of an item's ``properties``."""
    value = properties.get(SPLIT)
    if not isinstance(value, str):
        return None
    return SPLIT_ALIASES.get(value, value)


@dataclass(frozen=True)
class AssetRef:
    """One asset of one item: its key in the item, href, roles, media type and what it holds."""

    item_id: str
    key: str
    href: str
    roles: tuple[str, ...] = ()
    media_type: str = ""
    checksum: str | None = None
    size: int | None = None

    @property
    def is_label(self) -> bool:
        """A label asset: role ``labels`` or key ``labels``."""
        return "labels" in self.roles or self.key == "labels"

    @property
    def is_imagery(self) -> bool:
        """Imagery: a data asset (or one with no roles) that is not a label."""
        return not self.is_label and ("data" in self.roles or not self.roles)


def asset_refs(item: Mapping[str, Any]) -> Iterator[AssetRef]:
    """The assets of an item that have an href, by key."""
    assets = item.get("assets")
    if not isinstance(assets, dict):
        return
    for key, asset in sorted(assets.items()):
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
            continue
        roles = asset.get("roles")
        if not isinstance(roles, list):
            roles = []
        size = asset.get("file:size")
        checksum = asset.get("file:checksum")
        yield AssetRef(
            str(item.get("id", "")),
            str(key),
            asset["href"],
            tuple(str(r) for r in roles),
            str(asset.get("type") or ""),
            checksum if isinstance(checksum, str) else None,
            size if isinstance(size, int) and not isinstance(size, bool) else None,
        )


def is_label_item(item: Mapping[str, Any]) -> bool:
    """Whether an item is a label item, as the label extension defines one: it declares the
    extension (its URL, or the pre-1.0 short name ``label``) or has ``label:*`` properties.

    A ``labels`` asset alone does not make one: an image item may carry its mask, and only
    the extension says what the labels are (type, classes, tasks).
    """
    extensions = item.get("stac_extensions")
    if isinstance(extensions, list) and any(
        isinstance(e, str) and (e == "label" or "/label/" in e) for e in extensions
    ):
        return True
    props = item.get("properties")
    return isinstance(props, dict) and any(str(k).startswith("label:") for k in props)
