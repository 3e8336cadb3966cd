"""MLCommons Croissant 1.0 JSON-LD cards for dataset versions (with GeoCroissant fields).

A card holds the schema.org ``Dataset`` fields (name, description, licence as an SPDX URL,
version, citation, DOI, creators from the providers, keywords, spatial and temporal
coverage), the GeoCroissant ``geocr:coordinateReferenceSystem``, a ``distribution`` of one
``cr:FileObject`` per asset with its SHA-256 (from the multihash ``file:checksum``) and size,
and three record sets held inline: ``splits`` (a ``cr:Split`` enumeration from
``ml-aoi:split``), ``images`` (one record per data asset) and ``labels`` (one per label item:
its class, or its label file). Cards are built streaming over the items.

:func:`dataset_croissant` reads a lab's dataset at its working tree or a tagged version;
:func:`stage_site_cards` (before a site build commits) and :func:`write_site_cards` (after)
put a card beside each version's collection in the built site and link it from the collection
(``describedby``); an unchanged dataset's card is carried with its folder, not rewritten.

Big datasets: in the built site, a version of more than
:data:`~eotdl.catalog.croissant_parquet.CARD_INLINE_MAX` items gets a *compact* card
(:mod:`eotdl.catalog.croissant_parquet`): one ``cr:FileObject`` for its ``items.parquet`` and
an ``items`` record set read from that file's columns. Its size and cost do not grow with the
items (no item is parsed, the parquet file is hashed once), so a one-item rebuild does not
redo a card of a GB that no Croissant tool would load. A card whose bytes equal the previous
build's is linked from it. :func:`dataset_croissant` (``eotdl export croissant``) stays the
full card at any size, streamed by :func:`write_dataset_croissant` so memory stays flat: the
lab holds no parquet file to point at (the build writes it), an export is asked for
explicitly, once, and its point is a card whose every file a local reader finds and checks
(absolute paths, one checksum per file); the site's compact card is the one to share.
"""

from __future__ import annotations

import filecmp
import functools
import os
import posixpath
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog import canonical
from eotdl.catalog.card import Card, parse_card
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.git import is_repo, repo_root, show, stream_lines, tags
from eotdl.catalog.jsonfile import read_json_object
from eotdl.catalog.lab import Lab, check_name
from eotdl.catalog.staging import Stage
from eotdl.catalog.tree import rebase
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import EotdlError, InputError
from eotdl.storage.hashing import sha256_of_checksum

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
GEO_CONFORMS_TO = "http://mlcommons.org/croissant/geo/1.0"
MEDIA_TYPE = "application/ld+json"
CARD_NAME = "croissant.json"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._~-]+$")
#: The JSON-LD context of Croissant 1.0 (spec appendix), plus the GeoCroissant prefix.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "geocr": "http://mlcommons.org/croissant/geo/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
SPLIT_URLS = {
    "train": "cr:TrainingSplit",
    "validate": "cr:ValidationSplit",
    "test": "cr:TestSplit",
}
NON_SPDX = ("proprietary", "other", "various", "")


def schema_org(collection: dict[str, Any], card: Card | None = None) -> dict[str, Any]:
    """The schema.org ``Dataset`` fields of a collection and its card (no distribution)."""
    card = card or Card()
    license_id = card.license or str(collection.get("license") or "")
    out: dict[str, Any] = {
        "@type": "sc:Dataset",
        "name": str(collection.get("id") or card.title),
        "alternateName": card.title or collection.get("title") or collection.get("id"),
        "description": card.description or collection.get("description") or "",
        "license": license_url(license_id),
        "version": str(collection.get("version") or "0.0.0"),
        "keywords": list(dict.fromkeys([*(collection.get("keywords") or []), *card.tags])),
    }
    published = collection.get("created") or collection.get("updated")
    if isinstance(published, str):
        out["datePublished"] = published[:10]
    citation = card.citation or collection.get("sci:citation")
    if citation:
        out["citeAs"] = citation
    doi = card.doi or collection.get("sci:doi")
    if doi:
        out["identifier"] = f"https://doi.org/{doi}"
        out["sameAs"] = f"https://doi.org/{doi}"
    creators = [
        {
            "@type": "sc:Organization",
            "name": p["name"],
            **({"url": p["url"]} if p.get("url") else {}),
        }
        for p in collection.get("providers") or []
        if isinstance(p, dict) and p.get("name") and p.get("name") != "eotdl"
    ]
    if creators:
        out["creator"] = creators
    extent = collection.get("extent") or {}
    boxes = (extent.get("spatial") or {}).get("bbox") or []
    if boxes and len(boxes[0]) >= 4:
        west, south, east, north = boxes[0][0], boxes[0][1], boxes[0][-2], boxes[0][-1]
        out["spatialCoverage"] = {
            "@type": "sc:Place",
            "geo": {"@type": "sc:GeoShape", "box": f"{south} {west} {north} {east}"},
        }
    intervals = (extent.get("temporal") or {}).get("interval") or []
    if intervals and any(intervals[0]):
        start, end = intervals[0][0], intervals[0][-1]
        out["temporalCoverage"] = f"{start or '..'}/{end or '..'}"
    return out


def license_url(license_id: str) -> str:
    """An SPDX id as its spdx.org URL; other licence texts as they are."""
    if license_id.lower() in NON_SPDX or " " in license_id:
        return license_id or "other"
    return f"https://spdx.org/licenses/{license_id}.html"


def croissant(
    collection: dict[str, Any],
    items: Iterable[dict[str, Any]],
    *,
    card: Card | None = None,
    url: str | None = None,
    content_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The Croissant card of one dataset version; ``content_url`` maps each asset href."""
    files: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    found = _records(items, content_url, files.append, images.append, labels.append)
    return _card(collection, card, url, found, files, images, labels)


def write_croissant(
    write: Callable[[Iterator[bytes]], None],
    spool_dir: Path,
    collection: dict[str, Any],
    items: Iterable[dict[str, Any]],
    *,
    card: Card | None = None,
    url: str | None = None,
    content_url: Callable[[str], str] | None = None,
) -> None:
    """The bytes :func:`dumps` gives for :func:`croissant`, handed to ``write`` a piece at a
    time: one record per item and asset is spooled to files in ``spool_dir`` as it is made,
    so memory does not grow with the items (a million-item card is most of a GB)."""
    with tempfile.TemporaryDirectory(prefix=".croissant-", dir=spool_dir) as tmp:
        spools = [open(Path(tmp) / name, "wb") for name in ("files", "images", "labels")]  # noqa: SIM115
        try:

            def spool(handle: Any) -> Callable[[dict[str, Any]], None]:
                return lambda record: handle.write(canonical.pretty_element(record) + b"\0")

            found = _records(items, content_url, *(spool(h) for h in spools))
        finally:
            for handle in spools:
                handle.close()
        holders = [canonical.STREAM]
        card_obj = _card(collection, card, url, found, holders, holders, holders)
        streams = [_spooled(Path(tmp) / name) for name in ("files", "images", "labels")]
        write(canonical.pretty_chunks(card_obj, streams))


def _spooled(path: Path) -> Iterator[bytes]:
    """The records a spool file holds (each ended by a NUL, which JSON text never holds)."""
    rest = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            parts = (rest + chunk).split(b"\0")
            rest = parts.pop()
            yield from parts
    if rest:
        yield rest


def _records(
    items: Iterable[dict[str, Any]],
    content_url: Callable[[str], str] | None,
    add_file: Callable[[dict[str, Any]], Any],
    add_image: Callable[[dict[str, Any]], Any],
    add_label: Callable[[dict[str, Any]], Any],
) -> tuple[set[str], set[str], set[float]]:
    """One pass over the items: each file, image and label record goes to its sink; returns
    the splits, CRSs and ground sample distances found."""
    place = content_url or (lambda href: href)
    splits: set[str] = set()
    crs: set[str] = set()
    gsd: set[float] = set()
    for item in items:
        props = item.get("properties") or {}
        item_id = str(item.get("id"))
        split = props.get(SPLIT)
        split = split if split in SPLIT_URLS else ""
        if split:
            splits.add(split)
        epsg = props.get("proj:epsg")
        if isinstance(epsg, int):
            crs.add(f"EPSG:{epsg}")
        label_files = []
        for key, asset in sorted((item.get("assets") or {}).items()):
            href = asset.get("href")
            if not isinstance(href, str):
                continue
            where = place(href)
            entry: dict[str, Any] = {
                "@type": "cr:FileObject",
                "@id": f"{item_id}/{key}",
                "name": f"{item_id}/{key}",
                "contentUrl": where,
                "encodingFormat": asset.get("type") or "application/octet-stream",
            }
            checksum = asset.get("file:checksum")
            if isinstance(checksum, str):
                entry["sha256"] = sha256_of_checksum(checksum)
            if isinstance(asset.get("file:size"), int):
                entry["contentSize"] = f"{asset['file:size']} B"
            add_file(entry)
            if isinstance(asset.get("gsd"), (int, float)):
                gsd.add(float(asset["gsd"]))
            roles = asset.get("roles") or []
            if "labels" in roles:
                label_files.append(where)
            elif "data" in roles:
                add_image(
                    {
                        "images/item_id": item_id,
                        "images/asset": key,
                        "images/content_url": where,
                        "images/sha256": entry.get("sha256", ""),
                        "images/split": split,
                    }
                )
        label = _label(props) or " ".join(label_files)
        if label:
            add_label({"labels/item_id": item_id, "labels/label": label, "labels/split": split})
    return splits, crs, gsd


def _card(
    collection: dict[str, Any],
    card: Card | None,
    url: str | None,
    found: tuple[set[str], set[str], set[float]],
    files: list[Any],
    images: list[Any],
    labels: list[Any],
) -> dict[str, Any]:
    splits, crs, gsd = found
    out: dict[str, Any] = {"@context": CONTEXT, **schema_org(collection, card)}
    out["conformsTo"] = [CONFORMS_TO, GEO_CONFORMS_TO] if crs or gsd else CONFORMS_TO
    out["url"] = url or _homepage(collection)
    if crs:
        out["geocr:coordinateReferenceSystem"] = sorted(crs)[0] if len(crs) == 1 else sorted(crs)
    if gsd:
        out["geocr:spatialResolution"] = {
            "@type": "sc:QuantitativeValue",
            "value": min(gsd),
            "unitText": "m",
        }
    out["distribution"] = files
    out["recordSet"] = [
        _record_set(
            "splits",
            "the ml-aoi splits of the items",
            [("name", "sc:Text"), ("url", "sc:URL")],
            [{"splits/name": s, "splits/url": SPLIT_URLS[s]} for s in SPLIT_URLS if s in splits],
            data_type="cr:Split",
        ),
        _record_set(
            "images",
            "one record per data asset (image, time series or band file)",
            [
                ("item_id", "sc:Text"),
                ("asset", "sc:Text"),
                ("content_url", "sc:URL"),
                ("sha256", "sc:Text"),
                ("split", "sc:Text"),
            ],
            images,
        ),
        _record_set(
            "labels",
            "one record per label item: its class(es), or its label file",
            [("item_id", "sc:Text"), ("label", "sc:Text"), ("split", "sc:Text")],
            labels,
        ),
    ]
    return out


def _label(props: dict[str, Any]) -> str:
    """The classes an item's properties hold (label:properties), as text."""
    names = props.get("label:properties") or []
    values: list[str] = []
    for name in names if isinstance(names, list) else []:
        value = props.get(name)
        if isinstance(value, list):
            values.extend(str(v) for v in value)
        elif value is not None:
            values.append(str(value))
    return ", ".join(values)


def _homepage(collection: dict[str, Any]) -> str:
    for provider in collection.get("providers") or []:
        if isinstance(provider, dict) and provider.get("url"):
            return str(provider["url"])
    return "https://stacspec.org"


def _record_set(
    name: str,
    description: str,
    fields: list[tuple[str, str]],
    data: list[Any],
    data_type: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@type": "cr:RecordSet",
        "@id": name,
        "name": name,
        "description": description,
    }
    if data_type:
        out["dataType"] = data_type
        out["key"] = {"@id": f"{name}/name"}
    out["field"] = [
        {"@type": "cr:Field", "@id": f"{name}/{field}", "name": field, "dataType": kind}
        for field, kind in fields
    ]
    out["data"] = data
    return out


def dumps(card: dict[str, Any]) -> bytes:
    """A card as pretty JSON (UTF-8)."""
    return canonical.dumps_pretty(card)


# -- reading a lab's dataset at a version ----------------------------------------------------


def dataset_croissant(lab: Lab, name: str, version: str | None = None) -> dict[str, Any]:
    """The card of dataset ``name`` in the working tree, or at its tagged ``version``.

    Asset hrefs become absolute local paths where they are relative (the lab's own store),
    so a local reader (``mlcroissant``) finds every file. Always the full card, whatever the
    number of items (see the module's docstring); :func:`write_dataset_croissant` streams it.
    """
    collection, card, items, base = _dataset_parts(lab, name, version)
    return croissant(collection, items, card=card, content_url=lambda h: _local(h, base))


def write_dataset_croissant(
    lab: Lab,
    name: str,
    version: str | None,
    write: Callable[[Iterator[bytes]], None],
    spool_dir: Path,
) -> None:
    """The bytes of :func:`dataset_croissant`'s card handed to ``write`` a piece at a time
    (records spooled in ``spool_dir``): memory does not grow with the items. A missing
    dataset or version is an :class:`InputError` before ``write`` is called."""
    collection, card, items, base = _dataset_parts(lab, name, version)
    write_croissant(
        write, spool_dir, collection, items, card=card, content_url=lambda h: _local(h, base)
    )


def _dataset_parts(
    lab: Lab, name: str, version: str | None
) -> tuple[dict[str, Any], Card | None, Iterable[dict[str, Any]], Path]:
    """A dataset's collection, card, items (a stream) and folder, in the working tree or at
    its tagged ``version``."""
    check_name(name)
    folder = lab.dataset(name)
    relative = folder.path.relative_to(lab.root)
    if version is None:
        if not folder.exists():
            raise InputError(f"no dataset named {name!r} in {lab.root}")
        collection = folder.read_collection()
        card = folder.read_card() if folder.card_path.exists() else None
        items: Iterable[dict[str, Any]] = folder.iter_items()
    else:
        ref = f"{name}@{version}"
        if not is_repo(lab.root) or ref not in tags(lab.root, ref):
            raise InputError(
                f"dataset {name!r} has no published version {version!r} (no git tag {ref})",
                hint="`eotdl versions NAME` lists the published versions",
            )
        repo = repo_root(lab.root)
        inside = (lab.root.resolve() / relative).relative_to(repo.resolve()).as_posix()
        data = show(repo, ref, f"{inside}/collection.json")
        if data is None:
            raise InputError(f"tag {ref} has no {inside}/collection.json")
        collection = canonical.loads(data)
        text = show(repo, ref, f"{inside}/README.md")
        card = parse_card(text.decode("utf-8"), f"{ref}:README.md") if text else None
        items = (
            canonical.loads(line)
            for line in stream_lines(repo, ref, f"{inside}/items.ndjson")
            if line.strip()
        )
    return collection, card, items, folder.path.resolve()


def _local(href: str, base: Path) -> str:
    """A relative href as an absolute local path; URLs stay as they are."""
    if urllib.parse.urlsplit(href).scheme:
        return href
    return os.path.normpath(base / urllib.parse.unquote(href))


# -- the built site ---------------------------------------------------------------------------


def stage_site_cards(lab: Lab, stage: Stage, counts: Mapping[str, int] | None = None) -> list[str]:
    """Before a build commits: a card for every dataset folder the build rewrote (carried
    folders keep theirs). ``counts``: the items of each dataset by name, as the build counted
    them (else the staged ``items.parquet``'s footer says). Above
    :data:`~eotdl.catalog.croissant_parquet.CARD_INLINE_MAX` items the card is compact (made
    from ``items.parquet``, no item read); else it is written a piece at a time from the items.
    A card with the previous build's bytes is linked from it. The staged collection already
    links the card (:func:`card_link`, which the build gives the tree writer)."""
    from eotdl.catalog import croissant_parquet

    written = []
    for folder in lab.datasets():
        relative = f"datasets/{folder.name}"
        staged = stage.path(f"{relative}/collection.json")
        if not staged.is_file() or not folder.exists():
            continue
        card_path = f"{relative}/{CARD_NAME}"
        # the card reads the collection's own fields, which the staged copy has unchanged
        collection = folder.read_collection()
        card = _card_or_none(folder)
        parquet = stage.path(f"{relative}/{croissant_parquet.PARQUET_NAME}")
        count = (counts or {}).get(folder.name)
        if count is None and parquet.is_file():
            count = croissant_parquet.parquet_rows(parquet)
        if count is not None and croissant_parquet.is_big(count) and parquet.is_file():
            compact = croissant_parquet.compact_croissant(collection, parquet, card=card)
            stage.write_bytes(card_path, dumps(compact))
        else:
            place = _site_place(folder.path.resolve(), stage.path(relative) / "items")
            write_croissant(
                functools.partial(stage.write_stream, card_path),
                stage.root,
                collection,
                folder.iter_items(),
                card=card,
                content_url=place,
            )
        previous = stage.previous_path(card_path)
        if previous is not None and previous.is_file():
            if filecmp.cmp(previous, stage.path(card_path), shallow=False):
                stage.discard(card_path)
                if not stage.link_previous(card_path):  # pragma: no cover - it was just there
                    raise EotdlError(f"{card_path} vanished from the previous site")
                stage.written -= 1
        written.append(card_path)
    return written


def _site_place(base: Path, items_dir: Path) -> Callable[[str], str]:
    """An asset href of the lab's dataset folder ``base`` as the site's card gives it (see
    :func:`_current_card`), with the folder part worked out once per folder: a million hrefs
    into a few hundred store folders cost a million string joins, not a million rebases."""

    def slow(href: str) -> str:
        return _site_href(rebase(href, base, items_dir), "items")

    @functools.lru_cache(maxsize=4096)
    def folder_of(folder: str) -> str:
        return slow(f"{folder}/_" if folder else "_")[:-1]

    def place(href: str) -> str:
        folder, _, name = href.rpartition("/")
        if (
            _PLAIN_NAME.match(name)
            and name not in (".", "..")
            and ":" not in href
            and not href.startswith("/")
            and "%" not in folder
            and "#" not in folder
        ):
            return folder_of(folder) + name
        return slow(href)

    return place


def card_link(collection: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``describedby`` link from a dataset's built collection to its card (none when the
    lab's collection has it already)."""
    for link in collection.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "describedby":
            if str(link.get("href", "")).endswith(CARD_NAME):
                return []
    return [
        {"rel": "describedby", "href": f"./{CARD_NAME}", "type": MEDIA_TYPE, "title": "Croissant"}
    ]


def write_site_cards(lab: Lab, site: str | os.PathLike[str]) -> list[str]:
    """After a build: the cards still missing (each published version's, written once and
    kept; a carried folder's from a build before cards), each linked from its collection."""
    root = Path(site)
    written = []
    for folder in lab.datasets():
        site_dir = root / "datasets" / folder.name
        if not (site_dir / "collection.json").is_file() or not folder.exists():
            continue
        card = _card_or_none(folder)
        if not (site_dir / CARD_NAME).is_file():
            collection = read_json_object(site_dir / "collection.json")
            data = _compact_card(collection, site_dir, card)
            if data is None:
                data = _current_card(folder, collection, site_dir)
            write_bytes_atomic(site_dir / CARD_NAME, dumps(data))
            _link(site_dir / "collection.json")
            written.append(str(site_dir / CARD_NAME))
        for version_dir in sorted((site_dir / "v").glob("*/collection.json")):
            target = version_dir.parent / CARD_NAME
            if not target.is_file():
                collection = read_json_object(version_dir)
                data = _compact_card(collection, version_dir.parent, card)
                if data is None:
                    items = (
                        read_json_object(p)
                        for p in sorted((version_dir.parent / "items").glob("*.json"))
                    )
                    data = croissant(
                        collection, items, card=card, content_url=lambda h: _site_href(h, "items")
                    )
                write_bytes_atomic(target, dumps(data))
                written.append(str(target))
            _link(version_dir)
    return written


def _compact_card(
    collection: dict[str, Any], site_dir: Path, card: Card | None
) -> dict[str, Any] | None:
    """The compact card of a built version folder whose ``items.parquet`` holds more than
    :data:`~eotdl.catalog.croissant_parquet.CARD_INLINE_MAX` items; None for a smaller one."""
    from eotdl.catalog import croissant_parquet

    parquet = site_dir / croissant_parquet.PARQUET_NAME
    count = croissant_parquet.parquet_rows(parquet) if parquet.is_file() else None
    if count is None or not croissant_parquet.is_big(count):
        return None
    return croissant_parquet.compact_croissant(collection, parquet, card=card)


def _card_or_none(folder: DatasetFolder) -> Any:
    """The dataset's card, or None when it is missing or unreadable (the dataset page and
    ``validate`` report a bad card; its Croissant card is written without it)."""
    try:
        return folder.read_card() if folder.card_path.exists() else None
    except EotdlError:
        return None


def _current_card(
    folder: DatasetFolder, collection: dict[str, Any], site_dir: Path
) -> dict[str, Any]:
    """The card of the dataset as the site shows it (hrefs as seen from ``site_dir``)."""
    card = _card_or_none(folder)
    base, items_dir = folder.path.resolve(), site_dir / "items"

    def place(href: str) -> str:
        return _site_href(rebase(href, base, items_dir), "items")

    return croissant(collection, folder.iter_items(), card=card, content_url=place)


def _site_href(href: str, items_prefix: str) -> str:
    """An href written in ``items/``, as seen from the collection's folder."""
    if urllib.parse.urlsplit(href).scheme:
        return href
    return posixpath.normpath(posixpath.join(items_prefix, href))


def _add_link(collection: dict[str, Any]) -> bool:
    """Add the ``describedby`` link to the card; False when it is already there."""
    links = collection.setdefault("links", [])
    for link in links:
        if link.get("rel") == "describedby" and link.get("href") == f"./{CARD_NAME}":
            return False
    links.append(
        {"rel": "describedby", "href": f"./{CARD_NAME}", "type": MEDIA_TYPE, "title": "Croissant"}
    )
    return True


def _link(path: Path) -> None:
    """Link a built collection file to its card (once)."""
    collection = read_json_object(path)
    if _add_link(collection):
        write_bytes_atomic(path, canonical.dumps_pretty(collection))
