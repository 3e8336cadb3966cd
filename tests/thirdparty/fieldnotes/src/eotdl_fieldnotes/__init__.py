"""``field-notes``: an example third-party eotdl builder.

SOURCE is a folder of GeoJSON files, each one Point Feature (a field observation: where,
``properties.datetime`` when, and what was seen). Each file becomes an Item whose ``note``
asset is the file itself. It reaches ``eotdl ingest field-notes`` through the entry point
in its pyproject.toml, and its test runs eotdl's builder contract (:mod:`eotdl.testing`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eotdl.builders import Builder, Option
from eotdl.catalog.vocabulary import STAC_VERSION
from eotdl.errors import InputError


class FieldNotesBuilder(Builder):
    """One Item per GeoJSON point file of a folder."""

    name = "field-notes"
    summary = "Field notes: a folder of GeoJSON point files, one item each"
    options = (
        Option("datetime", "Date for notes with none (RFC 3339).", default="2024-01-01T00:00:00Z"),
    )

    def items(self) -> Iterator[dict[str, Any]]:
        folder = Path(self.source)
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder", hint="pass a folder of .geojson files")
        for path in sorted(folder.glob("*.geojson")):
            yield self.item(path)

    def item(self, path: Path) -> dict[str, Any]:
        """The Item of one note."""
        feature = json.loads(path.read_text(encoding="utf-8"))
        lon, lat = feature["geometry"]["coordinates"][:2]
        properties = dict(feature.get("properties") or {})
        properties.setdefault("datetime", self.settings["datetime"])
        return {
            "type": "Feature",
            "stac_version": STAC_VERSION,
            "stac_extensions": [],
            "id": path.stem,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "bbox": [lon, lat, lon, lat],
            "properties": properties,
            "links": [],
            "assets": {
                "note": {
                    "href": str(path.resolve()),
                    "type": "application/geo+json",
                    "roles": ["data"],
                }
            },
        }
