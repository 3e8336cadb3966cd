"""Compact Croissant cards: made from a stac-geoparquet file's footer and columns, no item
parsed; `mlcroissant` validates them and reads their records from the local parquet file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlcroissant as mlc

from eotdl.catalog.croissant import dumps
from eotdl.catalog.croissant_parquet import compact_croissant, is_big, parquet_rows
from eotdl.catalog.geoparquet import write_items_parquet
from stacgen import collection, item

SPLITS = ["train", "validation", "test", None]


def _items(count: int) -> list[dict]:
    out = []
    for n in range(count):
        props = {
            "proj:epsg": 32631 if n % 2 else 32630,
            "gsd": 10 + n % 3,
            "label:properties": ["class"],
            "class": ["forest", "water"][n % 2],
        }
        if SPLITS[n % 4] is not None:
            props["ml-aoi:split"] = SPLITS[n % 4]
        out.append(item(f"i{n:03d}", **props))
    return out


def test_compact_card_reads_ids_splits_and_labels_from_the_parquet(tmp_path: Path, monkeypatch):
    from eotdl.catalog import croissant_parquet

    items = _items(12)
    parquet = tmp_path / "items.parquet"
    write_items_parquet(items, parquet)
    assert parquet_rows(parquet) == 12 and parquet_rows(tmp_path / "nothing") is None
    monkeypatch.setattr(croissant_parquet, "CARD_INLINE_MAX", 11)
    assert is_big(12) and not is_big(11)

    card = compact_croissant(collection("ds"), parquet, url="https://example.org")
    (tmp_path / "croissant.json").write_bytes(dumps(card))
    assert card["geocr:coordinateReferenceSystem"] == ["EPSG:32630", "EPSG:32631"]
    assert card["geocr:spatialResolution"]["value"] == 10.0
    assert card["distribution"][0]["sha256"] == hashlib.sha256(parquet.read_bytes()).hexdigest()
    fields = {f["name"]: f["source"]["extract"]["column"] for f in card["recordSet"][1]["field"]}
    assert fields == {
        "item_id": "id",
        "datetime": "datetime",
        "split": "ml-aoi:split",
        "label": "class",
    }
    assert card["recordSet"][0]["data"] == [
        {"splits/name": "train", "splits/url": "cr:TrainingSplit"},
        {"splits/name": "validation", "splits/url": "cr:ValidationSplit"},
        {"splits/name": "test", "splits/url": "cr:TestSplit"},
    ]

    dataset = mlc.Dataset(jsonld=str(tmp_path / "croissant.json"))
    assert not dataset.metadata.ctx.issues.errors
    got = {
        r["items/item_id"].decode(): (r["items/split"], r["items/label"].decode())
        for r in dataset.records("items")
    }
    for it in items:
        split, label = got[it["id"]]
        want = it["properties"].get("ml-aoi:split")
        assert (split.decode() if isinstance(split, bytes) else None) == want
        assert label == it["properties"]["class"]
    assert json.loads((tmp_path / "croissant.json").read_text())["recordSet"][1]["name"] == "items"


def test_the_collection_summaries_name_the_label_column_and_crs(tmp_path: Path):
    items = [item(f"i{n}", kind=str(n % 3), other="x") for n in range(5)]
    parquet = tmp_path / "items.parquet"
    write_items_parquet(items, parquet)
    coll = {
        **collection("ds"),
        "summaries": {"label:classes": [{"name": "kind", "classes": ["0", "1", "2"]}],
                      "proj:code": ["EPSG:3035"]},
    }  # fmt: skip
    card = compact_croissant(coll, parquet)
    fields = {f["name"]: f["source"]["extract"]["column"] for f in card["recordSet"][1]["field"]}
    assert fields == {"item_id": "id", "datetime": "datetime", "label": "kind"}
    assert card["geocr:coordinateReferenceSystem"] == "EPSG:3035"
    assert card["recordSet"][0]["data"] == []  # no split column: no splits


def test_split_values_come_from_every_row_group(tmp_path: Path, monkeypatch):
    """A split value in one row only, in a late row group, among nulls, is found (the string
    column is read as dictionaries)."""
    from eotdl.catalog import geoparquet

    monkeypatch.setattr(geoparquet, "ROW_GROUP", 4)
    items = _items(40)
    for n, one in enumerate(items):
        one["properties"]["ml-aoi:split"] = "train" if n % 3 else None
    items[37]["properties"]["ml-aoi:split"] = "test"
    parquet = tmp_path / "items.parquet"
    write_items_parquet(items, parquet)
    card = compact_croissant(collection("ds"), parquet, url="https://example.org")
    names = [record["splits/name"] for record in card["recordSet"][0]["data"]]
    assert names == ["train", "test"]
