"""The points builder: in-situ observations (CSV, GeoJSON, GeoParquet) -> point Items."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from pyproj import Transformer

from eotdl.builders.points import PointsBuilder, parse_time, parse_units
from eotdl.catalog.validate import Validator
from eotdl.catalog.vocabulary import LABEL_EXT
from eotdl.errors import InputError

CSV = """lon,lat,time,soil_moisture,crop_type
1.44,43.60,2023-05-01,0.25,wheat
1.45,43.61,2023-05-02T10:30:00Z,0.31,maize
-0.5,44.0,2023-05-03T12:00:00+02:00,,wheat
"""


def assert_valid(obj: dict) -> None:
    problems = Validator().validate_object(obj, "test")
    assert not problems, "\n".join(p.format() for p in problems)


def build(source: Path, tmp_path: Path, **options) -> tuple[list[dict], dict]:
    builder = PointsBuilder(str(source), "obs", tmp_path / "work", **options)
    items = list(builder.items())
    return items, builder.collection()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


OPTIONS = {"categorical": "crop_type", "units": "soil_moisture=m3/m3"}


def test_csv_observations(tmp_path: Path):
    source = write(tmp_path / "obs.csv", CSV)
    items, collection = build(source, tmp_path, **OPTIONS)
    assert [i["id"] for i in items] == ["obs-000001", "obs-000002", "obs-000003"]
    first = items[0]
    assert first["geometry"] == {"type": "Point", "coordinates": [1.44, 43.6]}
    assert first["bbox"] == [1.44, 43.6, 1.44, 43.6]
    props = first["properties"]
    assert props["datetime"] == "2023-05-01T00:00:00Z"
    assert props["soil_moisture"] == 0.25 and props["crop_type"] == "wheat"
    assert props["label:type"] == "vector"
    assert props["label:tasks"] == ["regression", "classification"]
    assert props["label:properties"] == ["soil_moisture", "crop_type"]
    assert props["label:classes"] == [{"name": "crop_type", "classes": ["maize", "wheat"]}]
    assert "soil_moisture (m3/m3)" in props["label:description"]
    assert items[1]["properties"]["datetime"] == "2023-05-02T10:30:00Z"
    assert items[2]["properties"]["datetime"] == "2023-05-03T10:00:00Z"
    assert items[2]["properties"]["soil_moisture"] is None
    asset = first["assets"]["observations"]
    assert asset["href"] == str(source.resolve()) and asset["type"] == "text/csv"
    assert "data" not in asset["roles"]
    for item in items:
        assert LABEL_EXT in item["stac_extensions"]
        assert_valid(item)
    summaries = collection["summaries"]
    assert summaries["soil_moisture"] == {"minimum": 0.25, "maximum": 0.31}
    assert summaries["crop_type"] == ["maize", "wheat"]
    assert "soil_moisture (m3/m3)" in collection["description"]
    collection.update(
        type="Collection",
        stac_version="1.0.0",
        id="obs",
        links=[],
        extent={
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [[None, None]]},
        },
    )
    assert_valid(collection)


def test_same_items_every_time(tmp_path: Path):
    source = write(tmp_path / "obs.csv", CSV)
    assert build(source, tmp_path, **OPTIONS) == build(source, tmp_path, **OPTIONS)


def test_stratified_splits_use_the_first_categorical_column(tmp_path: Path):
    builder = PointsBuilder(str(write(tmp_path / "o.csv", CSV)), "o", tmp_path, **OPTIONS)
    assert builder.labels is not None and builder.labels.class_property == "crop_type"


def test_semicolons_and_chosen_columns(tmp_path: Path):
    text = "x;y;date;sm;station\n1.5;43.5;2020-01-01;0.2;A1\n"
    source = write(tmp_path / "eu.csv", text)
    items, _ = build(source, tmp_path, lon="x", lat="y", time="date", values="sm", id="station")
    assert items[0]["id"] == "A1"
    assert items[0]["properties"]["sm"] == 0.2
    assert "station" not in items[0]["properties"]
    assert items[0]["properties"]["label:tasks"] == ["regression"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1.4,93.0,2023-05-01,0.2,wheat", r"obs.csv:3: latitude '93.0' is not a valid latitude"),
        ("181,43,2023-05-01,0.2,wheat", r"obs.csv:3: longitude '181'"),
        ("abc,43,2023-05-01,0.2,wheat", r"obs.csv:3: longitude 'abc' is not a number"),
        ("1.4,43.6,,0.2,wheat", r"obs.csv:3: no time in column 'time'"),
        ("1.4,43.6,01/05/2023,0.2,wheat", r"obs.csv:3: time '01/05/2023'"),
        ("1.4,43.6,2023-05-01,0;2,wheat", r"obs.csv:3: value '0;2' of 'soil_moisture'"),
        ("1.4,43.6,2023-05-01,,", r"obs.csv:3: no measured value"),
        ("1.4,43.6,2023-05-01,0.2,wheat,extra", r"obs.csv:3: more fields"),
    ],
)
def test_bad_rows_are_named_by_line(tmp_path: Path, row: str, message: str):
    good = "1.44,43.60,2023-05-01,0.25,wheat"
    source = write(tmp_path / "obs.csv", f"lon,lat,time,soil_moisture,crop_type\n{good}\n{row}\n")
    with pytest.raises(InputError, match=message):
        build(source, tmp_path, **OPTIONS)


def test_text_in_a_numeric_column_suggests_categorical(tmp_path: Path):
    source = write(tmp_path / "obs.csv", CSV)
    with pytest.raises(InputError) as err:
        build(source, tmp_path)
    assert "obs.csv:2: value 'wheat' of 'crop_type' is not a number" in str(err.value)
    assert "--categorical crop_type" in str(err.value)


def test_missing_columns_are_named(tmp_path: Path):
    source = write(tmp_path / "obs.csv", CSV)
    with pytest.raises(InputError, match="no column.*when.*columns: crop_type, lat"):
        build(source, tmp_path, time="when", **OPTIONS)
    with pytest.raises(InputError, match="--categorical 'crop' is not a value column"):
        build(source, tmp_path, categorical="crop")
    with pytest.raises(InputError, match="COLUMN=UNIT"):
        parse_units("soil_moisture")


def test_duplicate_ids_are_refused(tmp_path: Path):
    text = "id,lon,lat,time,v\na,1,2,2020-01-01,1\nb,1,2,2020-01-01,2\na,1,2,2020-01-01,3\n"
    with pytest.raises(InputError, match=r"o.csv:4: id 'a' was already used at .*o.csv:2"):
        build(write(tmp_path / "o.csv", text), tmp_path, id="id")


def test_geojson_points(tmp_path: Path):
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [10.0, 50.0]},
            "properties": {"time": "2021-07-01T08:00:00", "lai": 2.5, "landcover": "forest"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [11.0, 51.0, 300.0]},
            "properties": {"time": "2021-07-02", "lai": "3.0", "landcover": None},
        },
    ]
    source = write(
        tmp_path / "lai.geojson", json.dumps({"type": "FeatureCollection", "features": features})
    )
    items, _ = build(source, tmp_path, categorical="landcover")
    assert [i["properties"]["lai"] for i in items] == [2.5, 3.0]
    assert items[1]["properties"]["landcover"] is None
    assert items[1]["geometry"]["coordinates"] == [11.0, 51.0]
    assert items[0]["assets"]["observations"]["type"] == "application/geo+json"
    for item in items:
        assert_valid(item)
    features[1]["geometry"] = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(InputError, match="feature 1: geometry is 'LineString'"):
        build(source, tmp_path, categorical="landcover")


def _geoparquet(path: Path, points: list[tuple[float, float]], crs: dict | None) -> Path:
    geo = {
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}},
    }
    if crs is not None:
        geo["columns"]["geometry"]["crs"] = crs
    table = pa.table(
        {
            "geometry": [shapely.to_wkb(shapely.Point(x, y)) for x, y in points],
            "time": ["2022-06-01T00:00:00Z", "2022-06-02T00:00:00Z"],
            "biomass": [1.5, 2.0],
        }
    )
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    pq.write_table(table, path)
    return path


def test_geoparquet_points(tmp_path: Path):
    source = _geoparquet(tmp_path / "b.parquet", [(5.0, 45.0), (6.0, 46.0)], None)
    items, collection = build(source, tmp_path)
    assert [i["geometry"]["coordinates"] for i in items] == [[5.0, 45.0], [6.0, 46.0]]
    assert [i["properties"]["biomass"] for i in items] == [1.5, 2.0]
    assert items[0]["assets"]["observations"]["type"] == "application/vnd.apache.parquet"
    assert collection["summaries"]["biomass"] == {"minimum": 1.5, "maximum": 2.0}
    for item in items:
        assert_valid(item)


def test_geoparquet_in_a_projected_crs_is_reprojected(tmp_path: Path):
    from pyproj import CRS

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    points = [to_utm.transform(1.44, 43.6), to_utm.transform(1.45, 43.61)]
    crs = CRS.from_epsg(32631).to_json_dict()
    source = _geoparquet(tmp_path / "utm.parquet", points, crs)
    items, _ = build(source, tmp_path)
    lon, lat = items[0]["geometry"]["coordinates"]
    assert abs(lon - 1.44) < 1e-9 and abs(lat - 43.6) < 1e-9


def test_parquet_with_lon_lat_columns(tmp_path: Path):
    table = pa.table({"lon": [1.0], "lat": [2.0], "time": ["2020-01-01"], "v": [3]})
    pq.write_table(table, tmp_path / "plain.parquet")
    items, _ = build(tmp_path / "plain.parquet", tmp_path)
    assert items[0]["geometry"]["coordinates"] == [1.0, 2.0]
    assert items[0]["properties"]["v"] == 3.0


def test_unknown_formats_and_missing_files(tmp_path: Path):
    with pytest.raises(InputError, match="expected a .csv, .geojson or .parquet"):
        PointsBuilder(str(tmp_path / "x.xlsx"), "o", tmp_path)
    with pytest.raises(InputError, match="no such file"):
        build(tmp_path / "gone.csv", tmp_path)
    write(tmp_path / "broken.parquet", "not parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        build(tmp_path / "broken.parquet", tmp_path)


def test_times_are_utc():
    assert parse_time("2023-05-01T12:00:00+02:00", "x", "t") == "2023-05-01T10:00:00Z"
    assert parse_time("2023-05-01 12:00:00.5", "x", "t") == "2023-05-01T12:00:00.500000Z"
    with pytest.raises(InputError, match="x: no time"):
        parse_time(None, "x", "t")
