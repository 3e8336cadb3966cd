"""What a dataset's labels declare and use: ``label:classes``, chip classes in properties,
classes of vector label files (GeoJSON). Shared by the class checks and the EDA."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from eotdl.catalog.vocabulary import AssetRef, asset_refs
from eotdl.errors import EotdlError
from eotdl.qa.context import QAContext, is_raster

#: The key used for classes whose ``label:classes`` entry has no name (raster masks).
UNNAMED = ""
#: Label tasks whose labels are classes (not measured values, as in regression).
CLASS_TASKS = (
    "classification",
    "tile_classification",
    "tile-classification",
    "segmentation",
    "detection",
    "object-detection",
    "object_detection",
)
#: Media types and suffixes of vector label files the QA reads.
VECTOR_TYPES = ("application/geo+json", "application/json")
VECTOR_SUFFIXES = (".geojson", ".json")


def class_sets(value: Any) -> dict[str, list[str]]:
    """``label:classes`` as {name or "": [class, …]} (classes as strings)."""
    found: dict[str, list[str]] = {}
    if not isinstance(value, list):
        return found
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("classes"), list):
            continue
        name = entry.get("name")
        key = str(name) if name not in (None, "") else UNNAMED
        target = found.setdefault(key, [])
        for cls in entry["classes"]:
            text = _text(cls)
            if text not in target:
                target.append(text)
    return found


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def declared_classes(ctx: QAContext) -> dict[str, list[str]]:
    """Every class declared in the collection's summaries or any item's ``label:classes``."""
    declared: dict[str, list[str]] = {}

    def merge(sets: dict[str, list[str]]) -> None:
        for name, classes in sets.items():
            target = declared.setdefault(name, [])
            target.extend(c for c in classes if c not in target)

    summaries = (ctx.collection or {}).get("summaries") or {}
    if isinstance(summaries, dict):
        merge(class_sets(summaries.get("label:classes")))
    for item in ctx.iter_items():
        merge(class_sets((item.get("properties") or {}).get("label:classes")))
    return declared


def property_classes(item: dict[str, Any], names: Any) -> dict[str, str]:
    """Classes held in the item's properties (chip classification): {name: class}."""
    props = item.get("properties") or {}
    found = {}
    for name in names:
        if name != UNNAMED and name in props and props[name] is not None:
            found[name] = _text(props[name])
    return found


def is_vector_labels(ref: AssetRef) -> bool:
    """Whether an asset is a vector label file the QA can read (GeoJSON)."""
    if not ref.is_label or is_raster(ref):
        return False
    media = ref.media_type.lower()
    return media.startswith(VECTOR_TYPES) or ref.href.lower().endswith(VECTOR_SUFFIXES)


def label_refs(item: dict[str, Any]) -> Iterator[AssetRef]:
    """The label assets of an item."""
    return (ref for ref in asset_refs(item) if ref.is_label)


def has_class_task(item: dict[str, Any]) -> bool:
    """Whether the item's ``label:tasks`` name a task whose labels are classes."""
    tasks = (item.get("properties") or {}).get("label:tasks")
    return isinstance(tasks, list) and any(str(t).lower() in CLASS_TASKS for t in tasks)


def class_names(item: dict[str, Any], declared: dict[str, list[str]]) -> list[str]:
    """Properties that hold classes: the named label:classes, plus label:properties when the
    labels are classes (declared classes or a class task; a regression target is not)."""
    names = [n for n in declared if n != UNNAMED]
    props = (item.get("properties") or {}).get("label:properties")
    if isinstance(props, list) and (declared or has_class_task(item)):
        names += [str(p) for p in props if str(p) not in names]
    return names


def read_features(ctx: QAContext, ref: AssetRef) -> list[dict[str, Any]]:
    """The features of a GeoJSON label asset (raises EotdlError or ValueError if unreadable)."""
    key = ctx.store_key(ref.href)
    if key is not None:
        with ctx.store.open(key) as handle:
            data = json.load(handle)
    else:
        source = ctx.raster_source(ref.href).location
        if "://" in source or source.startswith("/vsi"):
            raise EotdlError(f"{ref.href} is outside the lab: not read")
        with open(source, "rb") as handle:
            data = json.load(handle)
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        return [f for f in data.get("features") or [] if isinstance(f, dict)]
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    raise ValueError("not a GeoJSON Feature or FeatureCollection")


def feature_classes(feature: dict[str, Any], names: list[str]) -> dict[str, str]:
    """{name: class} of one feature."""
    props = feature.get("properties") or {}
    return {n: _text(props[n]) for n in names if props.get(n) is not None}
