"""Making an Item a label Item: the label extension's fields, the ``labels`` asset, the
ml-aoi roles, and a ``source`` link to the image it labels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eotdl.builders.base import LABEL_EXT, ML_AOI_EXT, Labels
from eotdl.builders.rasterinfo import json_safe


def add_labels(
    item: dict[str, Any],
    labels: Labels | dict[str, Any],
    *,
    label_asset: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    extensions: Iterable[str] = (),
) -> dict[str, Any]:
    """Make ``item`` a label Item: ``label:*`` fields, a ``labels`` asset, a source link."""
    fields = labels.item_properties() if isinstance(labels, Labels) else labels
    item["properties"].update(fields)
    item["properties"].update(properties or {})
    declared = item.setdefault("stac_extensions", [])
    for ext in (LABEL_EXT, ML_AOI_EXT, *extensions):
        if ext not in declared:
            declared.append(ext)
    if label_asset is not None:
        item["assets"]["labels"] = {"roles": ["labels"], "ml-aoi:role": "label", **label_asset}
    image = item["assets"].get("image")
    if image is not None:
        link = {"rel": "source", "href": image["href"], "title": "the labelled image"}
        if image.get("type"):
            link["type"] = image["type"]
        item.setdefault("links", []).append(link)
    return json_safe(item)
