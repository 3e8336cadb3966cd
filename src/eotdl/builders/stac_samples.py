"""From the items of an imported catalog to samples: pairing label items with the imagery they
label, and flattening each pair into one item.

Radiant MLHub's layout has a labels collection whose items link to imagery items with
``source`` links; older catalogs name them ``X`` and ``X-labels`` instead. A sample is a label
item plus its imagery items, written as one item holding both the label assets and the imagery
assets, so a loader reads one item per sample. These are pure functions over what the scan
found; :mod:`eotdl.builders.stac_import` does the reading and fetching.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eotdl.builders.base import ML_AOI_EXT
from eotdl.builders.stac_assets import Fetched
from eotdl.catalog.locations import is_url
from eotdl.errors import InputError

#: Links of a source item worth keeping (they point outside the catalog).
KEPT_RELS = frozenset(
    {"license", "cite-as", "about", "describedby", "via", "related", "derived_from", "preview"}
)
TIME_FIELDS = ("datetime", "start_datetime", "end_datetime")
#: Suffixes of label item ids naming their imagery item (``X-labels`` labels ``X``).
LABEL_SUFFIXES = ("-labels", "_labels", "-label", "_label")
_METADATA_SUFFIXES = (".xml", ".json", ".txt", ".pdf", ".csv", ".html", ".md")

#: An item's asset keys taken from each of its source items: (source item id, keys).
SourceGroups = list[tuple[str, list[str]]]


@dataclass(frozen=True)
class Entry:
    """An item of the source catalog as the scan recorded it (the item itself is spooled)."""

    offset: int
    id: str
    collection: str
    href: str
    is_label: bool
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    """One output item: a label item (or a plain item) and the imagery items it labels."""

    id: str
    entry: int
    sources: tuple[int, ...]


@dataclass(frozen=True)
class MissingAsset:
    """An asset that could not be fetched."""

    item: str
    key: str
    href: str
    reason: str

    def format(self) -> str:
        return f"item {self.item!r}: asset {self.key!r}: {self.href}: {self.reason}"


def pair(
    entries: Sequence[Entry], keep_unlabelled: bool
) -> tuple[list[tuple[int, tuple[int, ...]]], list[str]]:
    """(entry, its source entries) for every sample, and notes on what was left out."""
    by_href = {e.href: i for i, e in enumerate(entries)}
    by_id: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        by_id.setdefault(entry.id, []).append(i)

    def imagery(item_id: str, collection: str) -> int | None:
        found = [j for j in by_id.get(item_id) or [] if not entries[j].is_label]
        if len(found) > 1:
            found = [j for j in found if entries[j].collection == collection] or found
        return found[0] if len(found) == 1 else None

    labels = [i for i, e in enumerate(entries) if e.is_label]
    pairs: list[tuple[int, tuple[int, ...]]] = []
    notes: list[str] = []
    unresolved = 0
    for i in labels:
        entry = entries[i]
        found: list[int] = []
        for href in entry.sources:
            j = by_href.get(href)
            if j is None or entries[j].is_label:
                j = imagery(id_from_href(href), entry.collection)
            if j is None:
                unresolved += 1
            elif j not in found:
                found.append(j)
        if not entry.sources:
            suffix = next((s for s in LABEL_SUFFIXES if entry.id.endswith(s)), None)
            if suffix is not None:
                j = imagery(entry.id[: -len(suffix)], entry.collection)
                if j is not None:
                    found.append(j)
        pairs.append((i, tuple(found)))
    if unresolved:
        notes.append(
            f"{unresolved} source link(s) of label items point at items that are not in the"
            " catalog; their imagery was not imported."
        )
    if not labels:
        return [(i, ()) for i in range(len(entries))], notes
    used = {j for _, found in pairs for j in found}
    left = [i for i, e in enumerate(entries) if not e.is_label and i not in used]
    if left and keep_unlabelled:
        pairs += [(i, ()) for i in left]
    elif left:
        notes.append(
            f"{len(left)} item(s) that no label item points at were left out"
            " (--keep-unlabelled keeps them)."
        )
    return pairs, notes


def name_samples(
    entries: Sequence[Entry],
    pairs: list[tuple[int, tuple[int, ...]]],
    show: Callable[[str], str],
) -> list[Sample]:
    """Samples with their ids: the item's own, prefixed by its collection when two share it."""
    counts = Counter(entries[i].id for i, _ in pairs)
    samples = []
    seen: dict[str, str] = {}
    for i, found in pairs:
        entry = entries[i]
        sample_id = entry.id
        if counts[sample_id] > 1 and entry.collection:
            sample_id = f"{entry.collection}-{entry.id}"
        where = show(entry.href)
        if sample_id in seen:
            raise InputError(
                f"two items would both get the id {sample_id!r}: {seen[sample_id]} and {where}",
                hint="give the items distinct ids, or set their 'collection' field",
            )
        seen[sample_id] = where
        samples.append(Sample(sample_id, i, found))
    return samples


def flatten(
    base: dict[str, Any], entry: Entry, sample_id: str, sources: list[dict[str, Any]]
) -> tuple[dict[str, Any], SourceGroups]:
    """One item holding ``base``'s assets (labels) and its ``sources``' (imagery) assets.

    Hrefs are not fetched yet; the groups say which asset keys came from which source item.
    """
    sources = sorted(sources, key=lambda s: (_time_of(s) or "", s["id"]))
    item = {k: v for k, v in base.items() if k not in ("collection", "links", "assets")}
    item["id"] = sample_id
    item["links"] = _kept_links(base)
    props = dict(base["properties"])
    for source in sources:
        for key, value in source["properties"].items():
            if key not in TIME_FIELDS and not key.startswith(("label:", "eotdl:")):
                props.setdefault(key, value)
    props["eotdl:original_id"] = entry.id
    if entry.collection:
        props["eotdl:original_collection"] = entry.collection
    if sources:
        props["eotdl:source_ids"] = [s["id"] for s in sources]
    item["properties"] = props
    if item.get("geometry") is None and sources and sources[0].get("geometry"):
        item["geometry"] = sources[0]["geometry"]
        if sources[0].get("bbox") is not None:
            item["bbox"] = sources[0]["bbox"]
    extensions = list(base.get("stac_extensions") or [])
    assets: dict[str, Any] = {}
    for key, asset in base["assets"].items():
        asset = dict(asset)
        if entry.is_label:
            asset.setdefault("roles", _label_roles(key, asset, len(base["assets"])))
            if "labels" in asset["roles"]:
                asset["ml-aoi:role"] = "label"
        else:
            asset.setdefault("roles", _data_roles(key, asset))
        assets[key] = asset
    groups: SourceGroups = []
    for n, source in enumerate(sources):
        keys: list[str] = []
        for key, asset in source["assets"].items():
            name = f"{key}_{n}" if len(sources) > 1 else key
            while name in assets:
                name = f"source_{name}"
            asset = dict(asset)
            asset.setdefault("roles", _data_roles(key, asset))
            if "data" in asset["roles"]:
                asset["ml-aoi:role"] = "feature"
            for field in TIME_FIELDS:  # when the imagery was taken, if not the item's time
                value = source["properties"].get(field)
                if value is not None and value != props.get(field):
                    asset.setdefault(field, value)
            assets[name] = asset
            keys.append(name)
        groups.append((source["id"], keys))
        for ext in source.get("stac_extensions") or []:
            if ext not in extensions and "/label/" not in ext:
                extensions.append(ext)
    if any("ml-aoi:role" in a for a in assets.values()) and ML_AOI_EXT not in extensions:
        extensions.append(ML_AOI_EXT)
    item["stac_extensions"] = extensions
    item["assets"] = assets
    return item, groups


def attach(
    item: dict[str, Any],
    groups: SourceGroups,
    fetched: Mapping[str, Fetched],
    show: Callable[[str], str],
) -> list[MissingAsset]:
    """Point the item's assets at their fetched files, drop the missing ones (returned), and
    link each source item's first data asset with a ``source`` link."""
    missing = []
    for key in list(item["assets"]):
        asset = item["assets"][key]
        outcome = fetched[asset["href"]]
        if outcome.href is None:
            missing.append(MissingAsset(item["id"], key, show(asset["href"]), outcome.reason))
            del item["assets"][key]
        else:
            asset["href"] = outcome.href
    for source_id, keys in groups:
        present = [k for k in keys if k in item["assets"]]
        data = [k for k in present if "data" in item["assets"][k].get("roles", [])]
        if not present:
            continue
        asset = item["assets"][(data or present)[0]]
        link = {"rel": "source", "href": asset["href"], "title": f"imagery {source_id}"}
        if asset.get("type"):
            link["type"] = asset["type"]
        item["links"].append(link)
    return missing


def missing_summary(missing: list[MissingAsset]) -> str:
    """One line per asset key: how many items lost it, and one example of why."""
    by_key: dict[str, list[MissingAsset]] = {}
    for m in missing:
        by_key.setdefault(m.key, []).append(m)
    lines = [
        f"- {key!r} of {len(group)} item(s), e.g. {group[0].href}: {group[0].reason}"
        for key, group in sorted(by_key.items())
    ]
    return f"{len(missing)} asset(s) could not be fetched and were left out:\n" + "\n".join(lines)


def id_from_href(href: str) -> str:
    """The item id an href most likely names: its file name, or its folder for ``stac.json``
    and ``item.json`` (MLHub's and pystac's layouts)."""
    path = urllib.parse.urlsplit(href).path if is_url(href) else href
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        return ""
    stem = parts[-1][:-5] if parts[-1].endswith(".json") else parts[-1]
    if stem in ("stac", "item") and len(parts) > 1:
        return parts[-2]
    return stem


def _time_of(item: dict[str, Any]) -> str | None:
    props = item.get("properties") or {}
    value = props.get("datetime") or props.get("start_datetime")
    return str(value) if value else None


def _kept_links(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        dict(link)
        for link in item.get("links") or []
        if isinstance(link, dict)
        and link.get("rel") in KEPT_RELS
        and isinstance(link.get("href"), str)
        and is_url(link["href"])
    ]


def _label_roles(key: str, asset: dict[str, Any], count: int) -> list[str]:
    media = str(asset.get("type") or "")
    if "label" in key.lower() or "geo+json" in media or count == 1:
        return ["labels"]
    return ["metadata"]


def _data_roles(key: str, asset: dict[str, Any]) -> list[str]:
    if key.lower() in ("thumbnail", "overview"):
        return [key.lower()]
    path = urllib.parse.urlsplit(str(asset.get("href") or "")).path.lower()
    if path.endswith(_METADATA_SUFFIXES):
        return ["metadata"]
    return ["data"]
