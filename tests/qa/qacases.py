"""The QA tests' clean dataset (made by the lab factory), and helpers that plant one defect.

The clean dataset: eight seeded 64×64 four-band chips near Toulouse (UTM 31N), one label mask
each using classes 0, 1 and 2 (the ``rasters_masks`` case of tests/builders/cases), ingested as
COGs with the ``rasters`` builder, split 4/2/2 into train/validate/test, with a complete,
reviewed card. It passes every check with no finding at all, so any finding in a test comes
from the defect that test planted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eotdl.catalog.lab import Lab
from eotdl.catalog.store import asset_href, open_lab_store
from eotdl.qa.rasters import raster_source
from eotdl.qa.report import QAReport
from labs import Dataset, copy_lab, make_lab
from rastergen import write_mask, write_tif

NAME = "chips"
SPLITS = ["train"] * 4 + ["validate"] * 2 + ["test"] * 2


#: The clean dataset, as the lab factory makes it.
CLEAN = Dataset(
    NAME,
    "rasters_masks",
    splits=SPLITS,
    collection={
        "license": "CC-BY-4.0",
        "summaries": {"ml-aoi:split": ["train", "validate", "test"]},
    },
    card={
        "title": "Toulouse test chips",
        "description": "Eight seeded chips with three-class masks, made by the QA tests.",
        "license": "CC-BY-4.0",
        "tasks": ["segmentation"],
        "kind": "training",
        "citation": "eotdl developers (2026): Toulouse test chips.",
        "body": "# Toulouse test chips\n",
        "extra": {"reviewed_by": "a-maintainer", "reviewed_at": "2026-01-15"},
    },
)


@pytest.fixture(scope="session")
def clean_template(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """The clean lab, built once per session (test modules load this file as a plugin:
    ``pytest_plugins = ["qacases"]``, so tests/qa needs no conftest.py of its own)."""
    root = tmp_path_factory.mktemp("qa-clean")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOTDL_CACHE_DIR", str(root / "cache"))
        patch.setenv("EOTDL_OFFLINE", "1")
        return make_lab(root, [CLEAN])


@pytest.fixture
def lab(clean_template: Lab, tmp_path: Path) -> Lab:
    """A private copy of the clean lab."""
    return copy_lab(clean_template, tmp_path / "lab")


def items(lab: Lab) -> list[dict[str, Any]]:
    return list(lab.dataset(NAME).iter_items())


def edit_items(lab: Lab, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """Rewrite items.ndjson through ``change`` (None drops the item)."""
    folder = lab.dataset(NAME)
    changed = [c for c in (change(i) for i in list(folder.iter_items())) if c is not None]
    folder.write_items(changed)


def edit_item(lab: Lab, item_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change one item in place."""

    def one(item: dict[str, Any]) -> dict[str, Any]:
        if item["id"] == item_id:
            change(item)
        return item

    edit_items(lab, one)


def edit_card(lab: Lab, **fields: Any) -> None:
    folder = lab.dataset(NAME)
    card = folder.read_card()
    for key, value in fields.items():
        if hasattr(card, key) and key != "extra":
            setattr(card, key, value)
        elif value is None:
            card.extra.pop(key, None)
        else:
            card.extra[key] = value
    folder.write_card(card)


def stored_path(lab: Lab, item: dict[str, Any], key: str) -> Path:
    """The file of an asset in the embedded store."""
    return Path(raster_source(lab, lab.dataset(NAME).path, item["assets"][key]["href"]).location)


def replace_asset(
    lab: Lab,
    item_id: str,
    key: str,
    path: Path,
    *,
    media_type: str | None = None,
    move_geometry: bool = False,
) -> None:
    """Upload ``path`` and make it asset ``key`` of ``item_id`` (checksum and size updated);
    ``move_geometry`` also sets the item's geometry to the new raster's footprint."""
    stored = open_lab_store(lab).put_file(path)
    folder = lab.dataset(NAME)

    def change(item: dict[str, Any]) -> None:
        asset = item["assets"].setdefault(key, {"roles": ["data"]})
        asset["href"] = asset_href(lab, folder.path, stored)
        asset["file:checksum"] = stored.checksum
        asset["file:size"] = stored.size
        if media_type:
            asset["type"] = media_type
        asset.pop("raster:bands", None)
        if move_geometry:
            set_geometry_from(item, path)

    edit_item(lab, item_id, change)


def set_geometry_from(item: dict[str, Any], path: Path) -> None:
    """The item's geometry and bbox from a raster's footprint."""
    import shapely

    from eotdl.qa.rasters import RasterSource, inspect_raster

    facts = inspect_raster(RasterSource(str(path)))
    assert facts.footprint is not None
    item["geometry"] = shapely.geometry.mapping(facts.footprint)
    item["bbox"] = list(facts.footprint.bounds)


def codes(report: QAReport) -> set[str]:
    return {f.code for f in report.findings}


def by_code(report: QAReport, code: str) -> list[Any]:
    return [f for f in report.findings if f.code == code]


__all__ = [
    "NAME",
    "CLEAN",
    "by_code",
    "codes",
    "copy_lab",
    "edit_card",
    "edit_item",
    "edit_items",
    "items",
    "replace_asset",
    "set_geometry_from",
    "stored_path",
    "write_mask",
    "write_tif",
]
