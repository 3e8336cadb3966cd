"""What the site tests' labs hold (made by tests/labs.py): synthetic datasets with cards, a
hostile card, a QA report as ``eotdl.qa`` writes it."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

from eotdl.catalog.lab import Lab
from labs import Dataset, Model, make_lab

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

#: Publishing the site anywhere but the lab's own store needs ``[store] public_url`` (its
#: readers must reach the bytes; tests/readers checks the rule): ``set_store(lab, public_url=…)``.
PUBLIC_URL = "https://data.example.org/lab/"

#: The model's card on the site.
MODEL_CARD = {
    "title": "Chip classifier",
    "description": "A ResNet trained on the chips.",
    "license": "MIT",
    "tasks": ["classification"],
    "kind": "benchmark",
    "authors": ["Grace Hopper"],
    "body": "# Model\n\nTrained with `eotdl train`.\n",
}


def site_dataset(
    name: str,
    count: int,
    *,
    title: str | None = None,
    tasks: list[str] | None = None,
    kind: str = "training",
    license: str = "CC-BY-4.0",
    body: str = "",
    offset: tuple[float, float] = (0.0, 0.0),
    files: dict[str, bytes] | None = None,
    **card: Any,
) -> Dataset:
    """A dataset of ``count`` synthetic items (splits round train/validation/test), a stand-in
    object for each asset (the site's links resolve; the site tests never verify bytes) and a
    card, for the lab factory."""
    return Dataset(
        name,
        "synthetic",
        count=count,
        offset=offset,
        stand_ins=True,
        collection={"license": license},
        files=files,
        card={
            "title": title or name.replace("-", " ").title(),
            "description": f"{count} synthetic chips named {name}.",
            "license": license,
            "tasks": tasks or ["classification"],
            "kind": kind,
            "authors": card.pop("authors", ["Ada Lovelace"]),
            "body": body or f"# {name}\n\nSynthetic chips for the site tests.\n",
            **card,
        },
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
    """The site tests' lab, in ``root``: three datasets (one with ``many`` items: lists only, no
    item pages) and a model, made by the lab factory, and a QA report for ``chips``."""
    contents = [
        site_dataset(
            "chips",
            30,
            tags=["sentinel-2"],
            doi="10.5281/zenodo.1",
            body="# Chips\n\nAn overview:\n\n![overview](images/overview.png)\n",
            files={"images/overview.png": png(40, 20, (200, 90, 30))},
        ),
        site_dataset(
            "hostile",
            4,
            title='Hostile <b>card</b><img src=x onerror="window.pwned=20">',
            tasks=["segmentation"],
            kind="validation",
            license="MIT",
            body=XSS_BODY,
            offset=(100.0, -60.0),
        ),
        site_dataset("many-chips", many, tasks=["regression"], kind="benchmark", offset=(20, 10)),
        Model("classifier", "chips", card=MODEL_CARD),
    ]
    lab = make_lab(root.parent, contents, name=root.name, title="Site test lab", previews=True)
    write_qa_report(lab, "chips")
    return lab


def link_objects_if_missing(lab: Lab) -> None:
    """Pages link assets at ``objects/…`` beside the site (issue 13's rule: the build links the
    store's objects there); until every build does, the tests make that link themselves."""
    objects = lab.site_dir / "objects"
    store = lab.root / "store" / "objects"
    if not objects.exists() and store.is_dir():
        objects.symlink_to(store, target_is_directory=True)
