"""Small labs for the site tests, written through the catalog layer."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

from synthetic import make_collection, make_item

from eotdl.catalog.card import Card
from eotdl.catalog.lab import Lab, init_lab

#: Payloads a hostile card could carry; each would set ``window.pwned`` if it ran.
XSS_BODY = """# Hostile card

<script>window.pwned = 1</script>
<img src="x" onerror="window.pwned = 2">
<svg onload="window.pwned = 3"><circle r="4"/></svg>
<a href="javascript:window.pwned = 4">click me</a>
[markdown link](javascript:window.pwned=5)
<iframe src="javascript:window.pwned = 6"></iframe>
<body onload="window.pwned = 7">
<details open ontoggle="window.pwned = 8">x</details>
<a href="data:text/html,<script>window.pwned=9</script>">data</a>
<div style="background:url(javascript:window.pwned=10)">styled</div>
<math><mi xlink:href="javascript:window.pwned=11">m</mi></math>
<form action="javascript:window.pwned=12"><button>go</button></form>
<object data="javascript:window.pwned=13"></object>
<input autofocus onfocus="window.pwned = 14">
<video><source onerror="window.pwned = 15"></video>
"</code><script>window.pwned = 16</script>"

| table | ok |
|---|---|
| `code` | **bold** |
"""

SPLITS = ("train", "validation", "test")


def add_dataset(
    lab: Lab,
    name: str,
    count: int,
    *,
    title: str | None = None,
    tasks: list[str] | None = None,
    kind: str = "training",
    license: str = "CC-BY-4.0",
    body: str = "",
    offset: tuple[float, float] = (0.0, 0.0),
    **card: Any,
) -> None:
    """A dataset of ``count`` synthetic items (with splits) and a card."""
    folder = lab.dataset(name)
    folder.path.mkdir(parents=True, exist_ok=True)
    collection = make_collection(name, count)
    collection["license"] = license
    folder.write_collection(collection)
    items = []
    for index in range(count):
        item = make_item(index, name)
        item["properties"]["ml-aoi:split"] = SPLITS[index % 3]
        if offset != (0.0, 0.0):
            _shift(item, *offset)
        items.append(item)
    folder.write_items(items)
    _store_objects(folder.path, items)
    folder.write_card(
        Card(
            title=title or name.replace("-", " ").title(),
            description=f"{count} synthetic chips named {name}.",
            license=license,
            tasks=tasks or ["classification"],
            kind=kind,
            authors=card.pop("authors", ["Ada Lovelace"]),
            body=body or f"# {name}\n\nSynthetic chips for the site tests.\n",
            **card,
        )
    )


def _store_objects(dataset_dir: Path, items: list[dict[str, Any]]) -> None:
    """Put a stand-in object in the lab's store for every asset the items reference, so the
    site's asset links resolve (the site tests never verify their bytes)."""
    for item in items:
        for asset in item.get("assets", {}).values():
            path = (dataset_dir / asset["href"]).resolve()
            if "objects" in path.parts and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"synthetic stand-in for " + item["id"].encode())


def _shift(item: dict[str, Any], dx: float, dy: float) -> None:
    ring = item["geometry"]["coordinates"][0]
    item["geometry"]["coordinates"] = [[[x + dx, y + dy] for x, y in ring]]
    w, s, e, n = item["bbox"]
    item["bbox"] = [w + dx, s + dy, e + dx, n + dy]


def add_model(lab: Lab, name: str, dataset: str) -> None:
    """A model folder whose item carries MLM fields and a derived_from link to ``dataset``."""
    folder = lab.model(name)
    folder.path.mkdir(parents=True, exist_ok=True)
    collection = make_collection(name, 1)
    collection["title"] = "A chip classifier"
    folder.write_collection(collection)
    item = make_item(0, name)
    item["properties"].update(
        {
            "mlm:name": "resnet-chips",
            "mlm:architecture": "ResNet-18",
            "mlm:tasks": ["classification"],
            "mlm:framework": "pytorch",
        }
    )
    item["links"].append(
        {"rel": "derived_from", "href": f"../../datasets/{dataset}/collection.json"}
    )
    folder.write_items([item])
    _store_objects(folder.path, [item])
    folder.write_card(
        Card(
            title="Chip classifier",
            description="A ResNet trained on the chips.",
            license="MIT",
            tasks=["classification"],
            kind="benchmark",
            authors=["Grace Hopper"],
            body="# Model\n\nTrained with `eotdl train`.\n",
        )
    )


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def write_qa_report(lab: Lab, name: str, level: str = "Q2") -> Path:
    """A QA report as ``eotdl.qa`` writes it (qa.json + plots), newer than the dataset."""
    folder = lab.root / ".eotdl" / "qa" / name
    (folder / "plots").mkdir(parents=True, exist_ok=True)
    (folder / "plots/classes.png").write_bytes(png(64, 40, (11, 110, 153)))
    (folder / "plots/time.png").write_bytes(png(64, 40, (15, 139, 127)))
    report = {
        "dataset": name,
        "version": "1.0.0",
        "level": level,
        "level_reasons": ["Q3: no maintainer review recorded in the card"],
        "summary": {
            "items": 30,
            "errors": 0,
            "warnings": 2,
            "infos": 1,
            "checks_run": ["schema", "card", "splits"],
        },
        "findings": [
            {
                "severity": "warning",
                "code": "cog-layout",
                "object": f"item:{name}-0000001",
                "message": "not a cloud-optimised GeoTIFF",
                "fix": "convert with `--cog`",
            },
            {
                "severity": "warning",
                "code": "cog-layout",
                "object": f"item:{name}-0000002",
                "message": "not a cloud-optimised GeoTIFF",
                "fix": "convert with `--cog`",
            },
            {
                "severity": "info",
                "code": "<script>x</script>",
                "object": "collection",
                "message": "a finding with <b>markup</b>",
                "fix": "",
            },
        ],
        "eda": {
            "classes": {"counts": {"water": 12, "forest": 10, "crops": 8}, "area_m2": {}},
            "splits": {"train": 10, "validation": 10, "test": 10},
            "bias": {
                "class_imbalance_ratio": 1.5,
                "class_entropy": 1.08,
                "geo_top10_share": 0.4,
                "flags": [
                    {
                        "code": "geo-concentration",
                        "value": 0.9,
                        "threshold": 0.5,
                        "explanation": "most items lie in one region",
                    }
                ],
            },
        },
        "plots": {
            "classes": "plots/classes.png",
            "time": "plots/time.png",
            "bands": None,
            "escape": "../../../eotdl.toml",
        },
    }
    (folder / "qa.json").write_text(json.dumps(report, indent=1))
    return folder


def make_site_lab(root: Path, many: int = 210) -> Lab:
    """Three datasets (one with ``many`` items: lists only, no item pages) and a model."""
    lab = init_lab(root, title="Site test lab")
    add_dataset(
        lab,
        "chips",
        30,
        tags=["sentinel-2"],
        doi="10.5281/zenodo.1",
        body="# Chips\n\nAn overview:\n\n![overview](images/overview.png)\n",
    )
    (lab.dataset("chips").path / "images").mkdir()
    (lab.dataset("chips").path / "images/overview.png").write_bytes(png(40, 20, (200, 90, 30)))
    add_dataset(
        lab,
        "hostile",
        4,
        title='Hostile <b>card</b><img src=x onerror="window.pwned=20">',
        tasks=["segmentation"],
        kind="validation",
        license="MIT",
        body=XSS_BODY,
        offset=(100.0, -60.0),
    )
    add_dataset(lab, "many-chips", many, tasks=["regression"], kind="benchmark", offset=(20, 10))
    add_model(lab, "classifier", "chips")
    write_qa_report(lab, "chips")
    from eotdl.catalog.previews import add_previews

    for folder in lab.datasets():  # as `eotdl ingest` makes them
        add_previews(lab, folder)
    return lab


def with_public_url(lab: Lab, url: str = "https://data.example.org/lab/") -> Lab:
    """The lab with ``[store] public_url`` set: publishing the site anywhere but the lab's own
    store needs it (its readers must reach the bytes; tests/readers checks the rule)."""
    config = lab.root / "eotdl.toml"
    text = config.read_text()
    assert "public_url" not in text
    config.write_text(text.replace("[store]\n", f'[store]\npublic_url = "{url}"\n', 1))
    return Lab(lab.root)


def link_objects_if_missing(lab: Lab) -> None:
    """Pages link assets at ``objects/…`` beside the site (issue 13's rule: the build links the
    store's objects there); until every build does, the tests make that link themselves."""
    objects = lab.site_dir / "objects"
    store = lab.root / "store" / "objects"
    if not objects.exists() and store.is_dir():
        objects.symlink_to(store, target_is_directory=True)
