"""Band tables shared by several recipes (Sentinel-2 MSI, Sentinel-1 C-SAR) and the assets
that carry bands in a recipe's items.

Sentinel-2 centre wavelengths and bandwidths (Sentinel-2A, in µm) and resolutions are from
ESA's Sentinel-2 MSI User Guide ("Resolutions" and "Radiometric" pages,
https://sentiwiki.copernicus.eu/web/s2-mission); common names follow the STAC eo extension.
Sentinel-1 polarisations from the Sentinel-1 SAR User Guide (IW mode, 10 m GRD pixels).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eotdl.builders.base import EO_EXT
from eotdl.builders.recipes.facts import Band

GEOTIFF = "image/tiff; application=geotiff"

S2: dict[str, Band] = {
    b.name: b
    for b in (
        Band("B01", "coastal aerosol", 60, "coastal", 0.443, 0.021),
        Band("B02", "blue", 10, "blue", 0.490, 0.066),
        Band("B03", "green", 10, "green", 0.560, 0.036),
        Band("B04", "red", 10, "red", 0.665, 0.031),
        Band("B05", "vegetation red edge 1", 20, "rededge", 0.705, 0.015),
        Band("B06", "vegetation red edge 2", 20, "rededge", 0.740, 0.015),
        Band("B07", "vegetation red edge 3", 20, "rededge", 0.783, 0.020),
        Band("B08", "near infrared", 10, "nir", 0.842, 0.106),
        Band("B8A", "narrow near infrared", 20, "nir08", 0.865, 0.021),
        Band("B09", "water vapour", 60, "nir09", 0.945, 0.020),
        Band("B10", "SWIR cirrus", 60, "cirrus", 1.375, 0.031),
        Band("B11", "short-wave infrared 1", 20, "swir16", 1.610, 0.091),
        Band("B12", "short-wave infrared 2", 20, "swir22", 2.190, 0.175),
    )
}

S1: dict[str, Band] = {
    "VV": Band("VV", "C-band backscatter, vertical transmit, vertical receive", 10),
    "VH": Band("VH", "C-band backscatter, vertical transmit, horizontal receive", 10),
}


def s2(*names: str) -> tuple[Band, ...]:
    """Sentinel-2 bands by name, in the order given."""
    return tuple(S2[n] for n in names)


def band_asset(
    href: Path | str, media_type: str, title: str, bands: Iterable[Band]
) -> dict[str, Any]:
    """A feature asset (``roles: data``, ``ml-aoi:role: feature``) holding ``bands``."""
    return {
        "href": str(href),
        "type": media_type,
        "title": title,
        "roles": ["data"],
        "ml-aoi:role": "feature",
        "eo:bands": [b.eo() for b in bands],
    }


def declare_eo(item: dict[str, Any]) -> dict[str, Any]:
    """Declare the eo extension the band tables follow (:data:`EO_EXT`), in place of any other."""
    item["stac_extensions"] = [e for e in item.get("stac_extensions", []) if "/eo/" not in e]
    item["stac_extensions"].append(EO_EXT)
    return item
