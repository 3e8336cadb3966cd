"""A few Items as rows of an existing stac-geoparquet file without stac-geoparquet or pandas:
exactly the rows a file written whole from all the Items holds for them, or a refusal that
hands them to stac-geoparquet."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import shapely

from eotdl.catalog import geoparquet
from eotdl.catalog.arrowitems import fitting_rows, iso_wkb
from eotdl.errors import InputError


def _number(rng: random.Random) -> float | int:
    return rng.choice([rng.randint(-5, 5), round(rng.uniform(-180, 180), 6), 0.0, -0.0, 1e30])


def _ring(rng: random.Random) -> list[list[float | int]]:
    x, y = _number(rng), _number(rng)
    w, h = rng.choice([1, 0.5, 2]), rng.choice([1, 0.25])
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]
    if rng.random() < 0.3:
        ring.insert(2, [x + w, y + h / 2])
    return [*ring, list(ring[0])]


def _geometry(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["Point", "LineString", "Polygon", "MultiPoint", "MultiPolygon"])
    if kind == "Point":
        return {"type": kind, "coordinates": [_number(rng), _number(rng)]}
    if kind == "LineString":
        return {"type": kind, "coordinates": [[_number(rng), _number(rng)] for _ in range(3)]}
    if kind == "Polygon":
        return {"type": kind, "coordinates": [_ring(rng) for _ in range(rng.randint(1, 2))]}
    if kind == "MultiPoint":
        return {"type": kind, "coordinates": [[_number(rng), _number(rng)] for _ in range(2)]}
    return {"type": kind, "coordinates": [[_ring(rng)] for _ in range(rng.randint(1, 3))]}


def _value(rng: random.Random, kind: int, depth: int = 0) -> Any:
    """A property value of one of a few kinds (a kind per property name, so most draws are
    items stac-geoparquet converts; now and then a null or a value of another kind)."""
    if rng.random() < 0.1:
        return None
    if rng.random() < 0.02:
        kind = rng.randrange(7)
    if kind == 0:
        return rng.randint(-100, 100)
    if kind == 1:
        return rng.choice([rng.random(), rng.randint(0, 3)])  # ints among floats
    if kind == 2:
        return rng.choice(["text", "", "ünïcödé"])
    if kind == 3:
        return rng.random() < 0.5
    if kind == 4:
        return [rng.randint(0, 9) for _ in range(rng.randint(0, 3))]
    if kind == 5:
        return ["a", "b"][: rng.randint(0, 2)]
    if depth < 2:
        return {"inner": _value(rng, rng.choice([0, 2, 6]), depth + 1), "n": rng.randint(0, 3)}
    return "leaf"


def _item(rng: random.Random, index: int, names: dict[str, int]) -> dict[str, Any]:
    geometry = _geometry(rng)
    bounds = shapely.bounds(shapely.geometry.shape(geometry)).tolist()
    bbox: list[float | int] = bounds
    if rng.random() < 0.2 and all(abs(v) < 1e6 for v in bounds):
        bbox = [int(v) for v in bounds]
    if rng.random() < 0.04:
        bbox = [bounds[0], bounds[1], 0, bounds[2], bounds[3], 10]
    properties: dict[str, Any] = {}
    if rng.random() < 0.8:
        properties["datetime"] = rng.choice(
            ["2021-03-04T05:06:07Z", "2020-01-01T00:00:00.123456Z", "2019-06-30T23:59:59+02:00"]
        )
    else:
        properties["datetime"] = None
        properties["start_datetime"] = "2020-01-01T00:00:00Z"
        properties["end_datetime"] = "2020-12-31T00:00:00Z"
    for name in rng.sample(sorted(names), rng.randint(0, len(names))):
        properties[name] = _value(rng, names[name])
    if rng.random() < 0.2:
        properties["id"] = "collides with the item's id"
    if rng.random() < 0.2:
        properties["created"] = rng.choice([None, "2022-02-02T02:02:02Z"])
    if rng.random() < 0.02:
        properties["proj:geometry"] = _geometry(rng)
    assets: dict[str, Any] = {}
    kinds = 0 if rng.random() < 0.03 else rng.randint(1, 3)
    for key in rng.sample(["data", "label", "thumb"], kinds):
        asset: dict[str, Any] = {"href": f"./{key}-{index}.tif", "roles": [key]}
        if rng.random() < 0.3:
            asset["type"] = "image/tiff"
        if rng.random() < 0.01:
            asset["proj:geometry"] = _geometry(rng)
        assets[key] = asset
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": f"item-{index}",
        "geometry": geometry,
        "bbox": bbox,
        "properties": properties,
        "links": [{"rel": "self", "href": f"./item-{index}.json"}] if rng.random() < 0.7 else [],
        "assets": assets,
    }
    if rng.random() < 0.5:
        item["collection"] = "random"
    if rng.random() < 0.2:
        item["stac_extensions"] = ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"]
    return item


SEEDS = 150


def _draw(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    names = {f"p{n}": rng.randrange(7) for n in range(rng.randint(0, 6))}
    items = [_item(rng, n, names) for n in range(rng.randint(2, 8))]
    if rng.random() < 0.15:
        items[rng.randrange(len(items))]["geometry"] = None
    return items


def _file(items: list[dict[str, Any]], path: Path) -> pa.Table | None:
    """The file a full build writes for ``items`` (None: stac-geoparquet refuses them)."""
    try:
        geoparquet.write_items_parquet(items, path)
    except InputError:
        return None
    return pq.read_table(path)


def _rows_of(table: pa.Table, ids: list[str]) -> pa.Table:
    rows = table.filter(pc.is_in(table["id"], value_set=pa.array(ids)))
    return rows.take(pc.sort_indices(rows["id"])).replace_schema_metadata(None)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_rows_are_those_of_the_file_written_whole(seed: int, tmp_path: Path) -> None:
    items = _draw(seed)
    whole = _file(items, tmp_path / "items.parquet")
    if whole is None:
        return
    schema = pq.ParquetFile(tmp_path / "items.parquet").schema_arrow
    some = random.Random(seed).sample(items, random.Random(seed).randint(1, len(items)))
    got = fitting_rows(some, schema)
    if got is None:
        return  # declined: stac-geoparquet converts them (counted below)
    ids = sorted(str(i["id"]) for i in some)
    got = got.take(pc.sort_indices(got["id"]))
    assert got.schema.equals(schema.remove_metadata(), check_metadata=False)
    assert got.schema.field("geometry").metadata == schema.field("geometry").metadata
    expected = _rows_of(whole, ids)
    assert got.equals(expected.cast(got.schema)), (got.to_pylist(), expected.to_pylist())


def test_most_draws_take_the_quick_path(tmp_path: Path) -> None:
    """The comparison above is not vacuous: most files take their items back."""
    written = taken = 0
    for seed in range(SEEDS):
        items = _draw(seed)
        if _file(items, tmp_path / f"{seed}.parquet") is None:
            continue
        written += 1
        schema = pq.ParquetFile(tmp_path / f"{seed}.parquet").schema_arrow
        taken += fitting_rows(items, schema) is not None
    assert written >= SEEDS // 2 and taken >= written * 2 // 3, (written, taken)


def _file_schema(tmp_path: Path, **properties: Any) -> pa.Schema:
    item = _plain("a", **properties)
    geoparquet.write_items_parquet([item], tmp_path / "one.parquet")
    return pq.ParquetFile(tmp_path / "one.parquet").schema_arrow


def _plain(name: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": name,
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
        "bbox": [1.0, 2.0, 1.0, 2.0],
        "properties": {"datetime": "2020-01-01T00:00:00Z", **properties},
        "links": [],
        "assets": {"data": {"href": "./a.tif"}},
    }


@pytest.mark.parametrize(
    "properties",
    [
        {"cloud": "high"},  # a string in a number column
        {"cloud": 2.5, "new": 1},  # a new column
        {"cloud": True},
        {"cloud": 2**60},  # an integer a double does not hold exactly
        {"cloud": float("nan")},
        {"tags": {}},  # an empty object: stac-geoparquet may give a null
        {"datetime": "2020-01-01"},  # a date, not a date-time
        {"datetime": "2020-01-01T00:00:00.123456789Z"},  # nanoseconds
        {"proj:geometry": {"type": "Point", "coordinates": [0, 0]}},
    ],
)
def test_what_does_not_fit_exactly_is_declined(properties: dict[str, Any], tmp_path: Path) -> None:
    schema = _file_schema(tmp_path, cloud=1.5, tags={"a": 1})
    assert fitting_rows([_plain("a", cloud=3, tags={"a": 2})], schema) is not None
    assert fitting_rows([_plain("b", **properties)], schema) is None


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [1, 2]},
        {"type": "LineString", "coordinates": [[0, 0], [1.5, -2]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        {"type": "MultiPoint", "coordinates": [[0, 0], [3, 4]]},
        {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]},
        {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]},
    ],
)
def test_wkb_is_what_shapely_writes(geometry: dict[str, Any]) -> None:
    expected = shapely.to_wkb(shapely.geometry.shape(geometry), flavor="iso")
    assert iso_wkb(geometry) == expected


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [1, 2, 3]},  # 3-D: shapely writes Z
        {"type": "Point", "coordinates": []},  # empty
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},  # unclosed
        {"type": "Polygon", "coordinates": []},
        {"type": "polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},  # case
        {"type": "GeometryCollection", "geometries": []},
        {"type": "Point", "coordinates": [True, 2]},
        {"type": "LineString", "coordinates": [[0, 0]]},
    ],
)
def test_odd_geometries_are_declined(geometry: Any, tmp_path: Path) -> None:
    schema = _file_schema(tmp_path)
    item = _plain("x")
    item["geometry"] = geometry
    assert fitting_rows([item], schema) is None


def test_a_changed_item_is_spliced_without_stac_geoparquet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The splice converts the changed item here, not with stac-geoparquet, and gives the
    file a full write gives."""
    monkeypatch.setattr(geoparquet, "ROW_GROUP", 8)  # 25 row groups: one is rewritten
    items = [_plain(f"i{n}", cloud=float(n)) for n in range(200)]
    for n, item in enumerate(items):
        item["geometry"]["coordinates"] = [n * 0.1, n * 0.2]
        item["bbox"] = [n * 0.1, n * 0.2, n * 0.1, n * 0.2]
    first = tmp_path / "first.parquet"
    geoparquet.write_items_parquet(items, first)
    changed = {**items[17], "properties": {**items[17]["properties"], "cloud": 99.5}}

    def refuse() -> Any:
        raise AssertionError("stac-geoparquet was used")

    with monkeypatch.context() as patch:
        patch.setattr(geoparquet, "_stac_geoparquet", refuse)
        assert geoparquet.splice_items_parquet(
            first, tmp_path / "spliced.parquet", [changed], before={"i17": items[17]}
        )
    items[17] = changed
    geoparquet.write_items_parquet(items, tmp_path / "whole.parquet")
    spliced = list(geoparquet.read_items_parquet(tmp_path / "spliced.parquet"))
    whole = list(geoparquet.read_items_parquet(tmp_path / "whole.parquet"))
    assert sorted(spliced, key=lambda i: i["id"]) == sorted(whole, key=lambda i: i["id"])
