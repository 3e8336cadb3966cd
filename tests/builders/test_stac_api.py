"""The ``stac-api`` builder against a STAC API and COGs served on 127.0.0.1 by the test."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from eotdl.builders.chips import Grid, point_frame, utm_crs
from eotdl.builders.cogread import read_band
from eotdl.builders.scenes import find_asset, parse_duration
from eotdl.builders.stac_api import StacApiBuilder
from eotdl.catalog.times import parse_interval
from eotdl.errors import InputError
from stacapi_server import (
    S1,
    S2,
    S2_ORIGIN,
    StacApi,
    make_scenes,
    s1_value,
    s2_item,
    start_stac_api,
    utm_polygon,
    utm_to_lonlat,
)

#: The test area: 2×2 chips of 64 px at 10 m, aligned with one 128 px tile of the sources.
AREA = (371280.0, 4827440.0, 372560.0, 4828720.0)
MAY = "2023-05-01/2023-05-31"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StacApi]:
    """The standard scenes (3 Sentinel-2 days, 3 Sentinel-1 days) behind a STAC API."""
    api = start_stac_api(tmp_path_factory.mktemp("www"))
    make_scenes(api)
    yield api
    api.close()


@pytest.fixture
def fresh_world(tmp_path: Path) -> Iterator[StacApi]:
    """The same scenes on a new server (new URLs: nothing cached by GDAL)."""
    root = tmp_path / "www"
    root.mkdir()
    api = start_stac_api(root)
    make_scenes(api)
    yield api
    api.close()


def aoi_file(tmp_path: Path, bounds: tuple[float, float, float, float] = AREA) -> Path:
    """The area (inset by 1 m, so exactly its 2×2 chips touch it) as a GeoJSON file."""
    minx, miny, maxx, maxy = bounds
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "aoi.geojson"
    path.write_text(json.dumps(utm_polygon(minx + 1, miny + 1, maxx - 1, maxy - 1)))
    return path


def build(api: StacApi, tmp_path: Path, name: str = "ds", **options: Any) -> StacApiBuilder:
    options.setdefault("chip_size", 64)
    options.setdefault("datetime", MAY)
    if "bbox" not in options and "points" not in options:
        options.setdefault("aoi", aoi_file(tmp_path))
    workdir = tmp_path / f"work-{name}"
    return StacApiBuilder(api.url, "ds", workdir, **options)


def run(api: StacApi, tmp_path: Path, **options: Any) -> tuple[list[dict], StacApiBuilder]:
    builder = build(api, tmp_path, **options)
    return list(builder.items()), builder


def pixel_centre(item: dict, row: int, col: int) -> tuple[float, float]:
    t = item["properties"]["proj:transform"]
    return t[2] + (col + 0.5) * t[0], t[5] + (row + 0.5) * t[4]


def source_pixel(api: StacApi, scene: str, band: str, x: float, y: float) -> int:
    """The value of a Sentinel-2 source file at UTM (x, y), read locally."""
    with rasterio.open(api.root / S2 / scene / f"{band}.tif") as src:
        row, col = src.index(x, y)
        return int(src.read(1)[row, col])


# -- area chips ---------------------------------------------------------------------------


def test_area_chips_have_the_source_pixels(world: StacApi, tmp_path: Path):
    items, builder = run(world, tmp_path)
    assert [i["id"] for i in items] == [
        "ds-0-0-20230501",
        "ds-0-1-20230501",
        "ds-1-0-20230501",
        "ds-1-1-20230501",
    ]
    first = items[0]
    assert first["properties"]["datetime"] == "2023-05-01T10:30:00Z"
    assert first["properties"]["proj:epsg"] == 32631
    assert first["properties"]["proj:transform"][:6] == [10.0, 0.0, AREA[0], 0.0, -10.0, AREA[3]]
    links = [link["href"] for link in first["links"] if link["rel"] == "derived_from"]
    assert links == [f"{world.url}/collections/{S2}/items/s2-a"]
    asset = first["assets"]["image"]
    assert [b["name"] for b in asset["eo:bands"]] == [
        f"{S2}:red",
        f"{S2}:green",
        f"{S2}:blue",
        f"{S2}:nir",
    ]
    assert asset["eo:bands"][0]["common_name"] == "red"
    assert asset["raster:bands"][0]["scale"] == 0.0001
    assert asset["raster:bands"][0]["offset"] == -0.1
    assert asset["type"].endswith("profile=cloud-optimized")
    with rasterio.open(asset["href"]) as chip:
        assert (chip.count, chip.height, chip.width) == (4, 64, 64)
        assert chip.crs.to_epsg() == 32631
        assert chip.dtypes[0] == "uint16"
        assert chip.block_shapes[0] == (128, 128)
        data = chip.read()
    for row, col in [(0, 0), (10, 37), (63, 63)]:
        x, y = pixel_centre(first, row, col)
        for index, band in enumerate(("B04", "B03", "B02", "B08")):
            assert data[index, row, col] == source_pixel(world, "s2-a", band, x, y)
    assert builder.stats.counts["chips_empty"] == 0


def test_reads_windows_not_whole_files(fresh_world: StacApi, tmp_path: Path):
    fresh_world.reset()
    items, _ = run(fresh_world, tmp_path)
    assert len(items) == 4
    read = sorted({r.split()[0] for r in fresh_world.file_requests})
    assert read == [f"{S2}/s2-a/{b}.tif" for b in ("B02", "B03", "B04", "B08")]
    size = sum((fresh_world.root / path).stat().st_size for path in read)
    assert all(not r.endswith(" all") for r in fresh_world.file_requests), "a whole-file GET"
    assert fresh_world.file_bytes < 0.2 * size, (fresh_world.file_bytes, size)


def test_pick_all_skips_empty_chips_and_counts_them(world: StacApi, tmp_path: Path):
    items, builder = run(world, tmp_path, pick="all", max_cloud=30)
    ids = [i["id"] for i in items]
    # s2-c has no data left of x = 372000: its two left chips are empty, skipped and counted.
    assert ids == [
        "ds-0-0-20230501",
        "ds-0-1-20230501",
        "ds-0-1-20230521",
        "ds-1-0-20230501",
        "ds-1-1-20230501",
        "ds-1-1-20230521",
    ]
    assert builder.stats.counts["chips_empty"] == 2
    partial = next(i for i in items if i["id"] == "ds-0-1-20230521")
    with rasterio.open(partial["assets"]["image"]["href"]) as chip:
        red = chip.read(1)
    # columns of x < 372000 (the first 8 of this chip) are nodata, the rest are data
    assert (red[:, :8] == 0).all() and (red[:, 8:] > 0).all()


def test_max_cloud_excludes_the_cloudy_scene(world: StacApi, tmp_path: Path):
    everything, _ = run(world, tmp_path / "a", pick="all")
    assert any(i["id"].endswith("20230511") for i in everything)
    world.reset()
    clear, _ = run(world, tmp_path / "b", pick="all", max_cloud=30)
    assert not any(i["id"].endswith("20230511") for i in clear)
    assert len(everything) == len(clear) + 4
    assert world.searches[0]["query"] == {"eo:cloud_cover": {"lt": 30.0}}
    assert all(i["properties"]["eo:cloud_cover"] < 30 for i in clear)


def test_least_cloudy_takes_the_clearest_day_with_data(world: StacApi, tmp_path: Path):
    # Without s2-a (datetime from May 2), s2-c (10 %) wins where it has data, s2-b elsewhere.
    items, _ = run(world, tmp_path, datetime="2023-05-02/2023-05-31")
    assert [i["id"] for i in items] == [
        "ds-0-0-20230511",
        "ds-0-1-20230521",
        "ds-1-0-20230511",
        "ds-1-1-20230521",
    ]


def test_bands_named_by_band_name_and_resampled_grid(world: StacApi, tmp_path: Path):
    items, _ = run(world, tmp_path, assets=["B04,B08"], resolution=20.0, chip_size=32)
    assert len(items) == 4
    item = items[0]
    names = [b["name"] for b in item["assets"]["image"]["eo:bands"]]
    assert names == [f"{S2}:B04", f"{S2}:B08"]
    assert item["properties"]["proj:transform"][0] == 20.0
    with rasterio.open(item["assets"]["image"]["href"]) as chip:
        data = chip.read()
    assert data.shape == (2, 32, 32)
    assert 1 <= data.min() and data.max() < 10000


def test_chips_on_another_crs_are_warped(world: StacApi, tmp_path: Path):
    items, _ = run(world, tmp_path, crs="EPSG:3035", assets=["red"])
    assert items and all(i["properties"]["proj:epsg"] == 3035 for i in items)
    with rasterio.open(items[0]["assets"]["image"]["href"]) as chip:
        assert chip.crs.to_epsg() == 3035 and chip.res == (10.0, 10.0)
        data = chip.read(1)
    assert (data > 0).mean() > 0.9 and data.max() < 10000


# -- fusion ---------------------------------------------------------------------------------


def test_fusion_stacks_sentinel1_and_sentinel2_on_one_grid(world: StacApi, tmp_path: Path):
    items, _ = run(
        world,
        tmp_path,
        collection=[S2, S1],
        assets=["red,nir", f"{S1}:vv,vh"],
        time_buffer="3d",
    )
    assert len(items) == 4
    item = items[0]
    asset = item["assets"]["image"]
    assert [b["name"] for b in asset["eo:bands"]] == [
        f"{S2}:red",
        f"{S2}:nir",
        f"{S1}:vv",
        f"{S1}:vh",
    ]
    titles = sorted(link["title"] for link in item["links"] if link["rel"] == "derived_from")
    assert titles == [f"{S1}/s1-a", f"{S2}/s2-a"]
    assert item["properties"]["datetime"] == "2023-05-01T10:30:00Z"
    assert item["properties"]["start_datetime"] == "2023-05-01T10:30:00Z"
    assert item["properties"]["end_datetime"] == "2023-05-02T06:00:00Z"
    with rasterio.open(asset["href"]) as chip:
        assert chip.count == 4 and chip.dtypes[0] == "float32"
        assert chip.crs.to_epsg() == 32631
        assert math.isnan(chip.nodata)
        data = chip.read()
    for row, col in [(5, 5), (32, 20), (60, 50)]:
        x, y = pixel_centre(item, row, col)
        assert data[0, row, col] == source_pixel(world, "s2-a", "B04", x, y)
        lon, lat = utm_to_lonlat(x, y)
        # S1 is linear in lon/lat, so bilinear resampling must give the value at the centre
        assert data[2, row, col] == pytest.approx(s1_value("vv", lon, lat, 2), abs=2e-4)
        assert data[3, row, col] == pytest.approx(s1_value("vh", lon, lat, 2), abs=2e-4)


def test_fusion_skips_chips_without_a_match_in_time(world: StacApi, tmp_path: Path):
    # s1 scenes are >= 1 day from s2-a: a 6 h buffer finds no match for any chip
    with pytest.raises(InputError, match="no chip had data.*without sentinel-1-grd"):
        run(world, tmp_path, collection=[S2, S1], time_buffer="6h")


def test_sources_georeferenced_by_gcps_are_warped_correctly(world: StacApi, tmp_path: Path):
    """Sentinel-1 GRD files carry ground control points, not a geotransform."""
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS

    from stacapi_server import S1_ORIGIN, S1_STEP

    size = 512
    cols, rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    data = s1_value("vv", S1_ORIGIN[0] + cols * S1_STEP, S1_ORIGIN[1] - rows * S1_STEP, 2)
    path = world.root / "gcp" / "vv.tif"
    path.parent.mkdir()
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        nodata=float("nan"),
        tiled=True,
        blockxsize=128,
        blockysize=128,
    ) as dst:
        dst.write(data.astype("float32"), 1)
        corners = [(r, c) for r in (0, size) for c in (0, size)]
        gcps = [
            GroundControlPoint(r, c, S1_ORIGIN[0] + c * S1_STEP, S1_ORIGIN[1] - r * S1_STEP)
            for r, c in corners
        ]
        dst.gcps = (gcps, CRS.from_epsg(4326))
    grid = Grid.covering(box(*AREA), "EPSG:32631", 10.0, 64)
    frame = grid.frame(1, 1)
    read = read_band(world.file_url(path), frame)
    assert read.valid.all()
    x0, y0 = frame.transform.c, frame.transform.f
    for row, col in [(0, 0), (31, 17), (63, 63)]:
        lon, lat = utm_to_lonlat(x0 + (col + 0.5) * 10, y0 - (row + 0.5) * 10)
        assert read.data[row, col] == pytest.approx(s1_value("vv", lon, lat, 2), abs=2e-4)


# -- labels ---------------------------------------------------------------------------------


def test_labels_are_rasterised_onto_each_chip(world: StacApi, tmp_path: Path):
    labels = tmp_path / "labels.geojson"
    forest = utm_polygon(371400, 4828300, 371600, 4828500)  # 20×20 px in chip (0, 0)
    water = utm_polygon(372300, 4827500, 372500, 4827600)  # 20×10 px in chip (1, 1)
    labels.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": forest, "properties": {"landcover": "forest"}},
                    {"type": "Feature", "geometry": water, "properties": {"landcover": "water"}},
                ],
            }
        )
    )
    items, builder = run(world, tmp_path, labels=labels, class_property="landcover")
    assert builder.labels is not None and builder.labels.classes == [1, 2]
    masks = {}
    for item in items:
        props = item["properties"]
        assert props["label:type"] == "raster"
        assert props["label:tasks"] == ["segmentation"]
        assert "1=forest, 2=water" in props["label:description"]
        assert any(
            ext.startswith("https://stac-extensions.github.io/label/")
            for ext in item["stac_extensions"]
        )
        asset = item["assets"]["labels"]
        assert asset["roles"] == ["labels", "labels-raster"]
        with rasterio.open(asset["href"]) as mask:
            assert mask.transform == rasterio.open(item["assets"]["image"]["href"]).transform
            masks[item["id"]] = mask.read(1)
    first, last = masks["ds-0-0-20230501"], masks["ds-1-1-20230501"]
    assert abs(int((first == 1).sum()) - 400) <= 40 and not (first == 2).any()
    assert abs(int((last == 2).sum()) - 200) <= 30 and not (last == 1).any()
    # the forest square: x 371400-371600 → cols 12-32, y 4828500-4828300 → rows 22-42
    assert first[32, 22] == 1 and first[5, 5] == 0
    assert not masks["ds-0-1-20230501"].any() and not masks["ds-1-0-20230501"].any()


# -- points -----------------------------------------------------------------------------------


def points_file(tmp_path: Path) -> Path:
    def feature(fid: str, x: float, y: float, when: str, biomass: float) -> dict:
        lon, lat = utm_to_lonlat(x, y)
        return {
            "type": "Feature",
            "id": fid,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"datetime": when, "biomass": biomass, "site": fid.upper()},
        }

    path = tmp_path / "points.geojson"
    features = [
        feature("a", 371555, 4828555, "2023-05-03T12:00:00Z", 1.5),  # s2-a is 2 days away
        feature("b", 373555, 4826555, "2023-05-19T12:00:00Z", 2.5),  # s2-c is 2 days away
        feature("c", 371555, 4828555, "2023-05-10T00:00:00Z", 3.5),  # only cloudy s2-b near
        feature("d", 370555, 4828555, "2023-05-20T00:00:00Z", 4.5),  # s2-c has no data there
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_points_take_the_scene_nearest_in_time(world: StacApi, tmp_path: Path):
    items, builder = run(world, tmp_path, points=points_file(tmp_path), max_cloud=30)
    assert [i["id"] for i in items] == ["ds-a-20230501", "ds-b-20230521"]
    assert builder.stats.counts["points_without_scene"] == 1
    assert builder.stats.counts["chips_empty"] == 1
    a = items[0]
    assert a["properties"]["biomass"] == 1.5 and a["properties"]["site"] == "A"
    assert a["properties"]["label:type"] == "vector"
    assert a["properties"]["label:properties"] == ["biomass", "site"]
    assert a["assets"]["observation"]["roles"] == ["labels", "labels-vector"]
    observed = json.loads(Path(a["assets"]["observation"]["href"]).read_text())
    assert observed["features"][0]["id"] == "a"
    # the point lies in the centre pixel (32, 32)
    x, y = pixel_centre(a, 32, 32)
    assert abs(x - 371555) <= 5 and abs(y - 4828555) <= 5
    with rasterio.open(a["assets"]["image"]["href"]) as chip:
        assert chip.read(1)[32, 32] == source_pixel(world, "s2-a", "B04", 371555, 4828555)


def test_points_without_cloud_filter_take_the_cloudy_scene(world: StacApi, tmp_path: Path):
    items, _ = run(world, tmp_path, points=points_file(tmp_path))
    assert [i["id"] for i in items] == ["ds-a-20230501", "ds-b-20230521", "ds-c-20230511"]


def test_points_with_fusion(world: StacApi, tmp_path: Path):
    items, _ = run(world, tmp_path, points=points_file(tmp_path), collection=[S2, S1])
    a = next(i for i in items if i["id"] == "ds-a-20230501")
    titles = sorted(link["title"] for link in a["links"])
    assert titles == [f"{S1}/s1-a", f"{S2}/s2-a"]
    assert len(a["assets"]["image"]["eo:bands"]) == 6


# -- determinism --------------------------------------------------------------------------------


def test_two_runs_write_identical_chips(world: StacApi, tmp_path: Path):
    def digest(items: list[dict]) -> list[tuple[str, str]]:
        out = []
        for item in items:
            for key, asset in sorted(item["assets"].items()):
                data = Path(asset["href"]).read_bytes()
                out.append((f"{item['id']}/{key}", hashlib.sha256(data).hexdigest()))
        return out

    labels = tmp_path / "labels.geojson"
    labels.write_text(
        json.dumps({"type": "Feature", "geometry": utm_polygon(*AREA), "properties": {"class": 3}})
    )
    one, _ = run(world, tmp_path / "one", labels=labels, collection=[S2, S1])
    two, _ = run(world, tmp_path / "two", labels=labels, collection=[S2, S1], workers=1)
    assert digest(one) == digest(two)

    def strip(item: dict) -> dict:
        item = json.loads(json.dumps(item))
        for asset in item["assets"].values():
            asset.pop("href")
        return item

    assert [strip(i) for i in one] == [strip(i) for i in two]


# -- errors -------------------------------------------------------------------------------------


def test_unreachable_api_is_a_clear_error(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    builder = StacApiBuilder(f"http://127.0.0.1:{port}", "ds", tmp_path, bbox="1.4,43.6,1.41,43.61")
    with pytest.raises(InputError, match=f"STAC API at http://127.0.0.1:{port} is unreachable"):
        list(builder.items())


def test_no_scenes_names_the_query(world: StacApi, tmp_path: Path):
    with pytest.raises(InputError) as caught:
        run(world, tmp_path, datetime="2010-01-01/2010-02-01")
    message = str(caught.value)
    assert "no scenes found" in message and S2 in message
    assert "2010-01-01T00:00:00Z/2010-02-01T23:59:59Z" in message
    assert "--datetime" in message


def test_asset_that_404s_is_reported(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    api = start_stac_api(root)
    try:
        s2_item(api, "s2-broken", "2023-05-01T10:30:00Z", 1.0, seed=7, missing=("nir",))
        s2_item(api, "s2-fine", "2023-05-03T10:30:00Z", 2.0, seed=8)
        with pytest.raises(InputError) as caught:
            run(api, tmp_path / "fail")
        message = str(caught.value)
        assert "s2-broken" in message and "'nir'" in message and "B08.tif" in message
        assert "404" in message and "--skip-broken" in message

        items, builder = run(api, tmp_path / "skip", skip_broken=True)
        assert len(items) == 4 and all(i["id"].endswith("20230503") for i in items)
        assert builder.stats.counts["scenes_broken"] == 1
    finally:
        api.close()


def test_a_missing_asset_key_is_reported(world: StacApi, tmp_path: Path):
    with pytest.raises(InputError, match="has no asset 'swir99'.*it has: blue, green, nir, red"):
        run(world, tmp_path, assets=["swir99"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bbox": "1,2,3"}, "four numbers"),
        ({"bbox": "3,2,1,4"}, "W < E"),
        ({"bbox": "1,2,3,4", "time_buffer": "soon"}, "not a duration"),
        (
            {"bbox": "1,2,3,4", "datetime": "May"},
            "--datetime 'May': 'May' is not an RFC 3339 date-time",
        ),
        ({"bbox": "1,2,3,4", "assets": ["landsat:red"]}, "not one of the --collection"),
        ({"bbox": "1,2,3,4", "crs": "EPSG:nope"}, "not a CRS"),
        ({}, "needs an area"),
    ],
)
def test_bad_options_are_refused_before_any_request(tmp_path: Path, options: dict, message: str):
    with pytest.raises(InputError, match=message):
        StacApiBuilder("http://127.0.0.1:9", "ds", tmp_path, **options)


def test_source_must_be_a_url(tmp_path: Path):
    with pytest.raises(InputError, match="URL of a STAC API"):
        StacApiBuilder(str(tmp_path), "ds", tmp_path, bbox="1,2,3,4")


# -- helpers ------------------------------------------------------------------------------------


def test_parsing_helpers():
    utc = dt.UTC
    assert parse_interval("2023-05-01/2023-05-31") == (
        dt.datetime(2023, 5, 1, tzinfo=utc),
        dt.datetime(2023, 5, 31, 23, 59, 59, 999999, tzinfo=utc),
    )
    assert parse_interval("2023-12") == (
        dt.datetime(2023, 12, 1, tzinfo=utc),
        dt.datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
    )
    assert parse_interval("../2020") == (
        None,
        dt.datetime(2020, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
    )
    assert parse_duration("3d") == dt.timedelta(days=3)
    assert parse_duration("1w2d12h") == dt.timedelta(days=9, hours=12)
    assert utm_crs(1.4, 43.6) == "EPSG:32631"
    assert utm_crs(-70.6, -33.4) == "EPSG:32719"
    assert utm_crs(180.0, 0.0) == "EPSG:32660"


def test_grid_and_point_frames():
    grid = Grid.covering(box(371281, 4827441, 372559, 4828719), "EPSG:32631", 10.0, 64)
    assert (grid.x0, grid.y0, grid.rows, grid.cols) == (371280.0, 4828720.0, 2, 2)
    assert list(grid.cells(box(371281, 4827441, 372559, 4828719))) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]
    frame = point_frame(371555.0, 4828555.0, "EPSG:32631", 10.0, 64)
    assert frame.transform.c == 371550.0 - 320 and frame.transform.f == 4828560.0 + 320
    assert frame.bounds[0] < S2_ORIGIN[0] + 2000


def test_find_asset_by_key_band_name_or_common_name():
    assets = {
        "red": {"eo:bands": [{"name": "B04", "common_name": "red"}]},
        "visual": {"eo:bands": [{"name": "B04"}, {"name": "B03"}, {"name": "B02"}]},
        "B8A": {"eo:bands": [{"name": "B8A", "common_name": "nir08"}]},
    }
    assert find_asset(assets, "red") == "red"
    assert find_asset(assets, "B04") == "red"
    assert find_asset(assets, "b8a") == "B8A"
    assert find_asset(assets, "nir08") == "B8A"
    assert find_asset(assets, "B03") is None
