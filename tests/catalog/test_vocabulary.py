"""The shared STAC vocabulary: splits, label items, asset references, extension URLs."""

from __future__ import annotations

from typing import Any

import pytest

from eotdl.builders.stac_migrate import migrate
from eotdl.catalog.vocabulary import (
    LABEL_EXT,
    SPLIT,
    SPLITS,
    AssetRef,
    asset_refs,
    extension_url,
    is_label_item,
    item_split,
)


def _item(**extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": "a",
        "geometry": {"type": "Point", "coordinates": [0, 0]},
        "bbox": [0, 0, 0, 0],
        "properties": {"datetime": "2020-01-01T00:00:00Z"},
        "links": [],
        "assets": {"image": {"href": "image.tif", "roles": ["data"]}},
    }
    item.update(extra)
    return item


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # what migrate meets: the extension declared (URL or pre-1.0 short name)
        (_item(stac_extensions=[LABEL_EXT]), True),
        (_item(stac_extensions=["label"]), True),
        # what QA meets: label:* properties written by the builders
        (_item(properties={"label:type": "vector", "datetime": None}), True),
        # neither: an image, even one carrying a mask asset, is not a label item
        (_item(), False),
        (_item(assets={"labels": {"href": "m.tif", "roles": ["labels"]}}), False),
        (_item(stac_extensions=None, properties=None), False),
    ],
)
def test_is_label_item(item: dict[str, Any], expected: bool) -> None:
    assert is_label_item(item) is expected


def test_migrate_fixes_a_label_item_declared_by_short_name() -> None:
    item = _item(stac_version="0.9.0", stac_extensions=["label"])
    out = migrate(item, "a.json")
    assert LABEL_EXT in out["stac_extensions"]
    assert out["properties"]["label:description"]


def test_item_split_reads_aliases_and_ignores_junk() -> None:
    assert SPLITS == ("train", "validate", "test")
    assert item_split({"properties": {SPLIT: "validation"}}) == "validate"
    assert item_split({"properties": {SPLIT: "train"}}) == "train"
    assert item_split({"properties": {SPLIT: 3}}) is None
    assert item_split({}) is None


def test_asset_refs_keep_what_the_item_declares() -> None:
    item = _item(
        assets={
            "labels": {"href": "m.tif", "type": "image/tiff", "file:size": 4},
            "image": {"href": "i.tif", "roles": ["data"], "file:checksum": "1220ab"},
            "bad": {"roles": ["data"]},
            "flag": {"href": "f.tif", "file:size": True},
        }
    )
    refs = list(asset_refs(item))
    assert [r.key for r in refs] == ["flag", "image", "labels"]
    assert refs[2] == AssetRef("a", "labels", "m.tif", (), "image/tiff", None, 4)
    assert refs[2].is_label and not refs[2].is_imagery
    assert refs[1].is_imagery and refs[1].checksum == "1220ab"
    assert refs[0].size is None  # a bool is not a size


def test_extension_url() -> None:
    assert extension_url("label", "v1.0.1") == LABEL_EXT
