"""The rasters builder on tiny generated data and on real awkward rasters from ../shared."""

import json
import shutil

import numpy as np
import pytest
import rasterio

from eotdl.builders.ingestion import ingest, rebuild
from eotdl.builders.rasters import RastersBuilder
from eotdl.catalog.lab import init_lab
from eotdl.catalog.validate import validate_target
from eotdl.errors import InputError
from rastergen import write_tif
from shareddata import RASTER_FIXTURES, needs_shared

# what each real fixture needs: extra options, and whether it must be refused without them
FIXTURES = {
    "S2A_MSIL2A_20220722T105631_N0400_R094_T31TCN_20220722T171159.tif": {},
    "dataset_gcps.tif": {},
    "dataset_tiff_datetime.tif": {},
    "dataset_cog.tif": {"datetime": "2021-06-01"},
    "dataset_colormap.tif": {"datetime": "2021-06-01"},
    "dataset_dateline.tif": {"datetime": "2021-06-01"},
    "dataset_geo.tif": {"datetime": "2021-06-01"},
    "dataset_int16_nodata.tif": {"datetime": "2021-06-01"},
    "dataset_nocrs.tif": {"datetime": "2021-06-01"},
    "dataset_nodata_nan.tif": {"datetime": "2021-06-01"},
    "dataset_with_offsets.tif": {"datetime": "2021-06-01"},
    "issue_22.tif": {"datetime": "2021-06-01"},
    "dataset_mars.tif": {"datetime": "2021-06-01", "allow_non_earth": True},
}


def _items(builder):
    return list(builder.items())


def test_every_real_fixture_is_covered():
    needs_shared(RASTER_FIXTURES)
    assert {p.name for p in RASTER_FIXTURES.glob("*.tif")} == set(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_real_fixture_ingests_or_is_refused_with_the_option(name, tmp_path, shared_mirror):
    needs_shared(RASTER_FIXTURES)
    source = tmp_path / name
    shutil.copy(RASTER_FIXTURES / name, source)
    options = FIXTURES[name]
    if options:
        with pytest.raises(InputError) as refused:
            _items(RastersBuilder(str(source), "ds", tmp_path / "w"))
        option = next(iter(k for k in options if k != "datetime"), "datetime")
        assert f"--{option.replace('_', '-')}" in str(refused.value)
    lab = init_lab(tmp_path / "lab")
    ingest(lab, "rasters", str(source), "ds", options, progress=False)
    [item] = list(lab.dataset("ds").iter_items())
    assert validate_target(str(lab.root)).ok
    band = item["assets"]["image"].get("raster:bands", [{}])[0]
    if name == "dataset_dateline.tif":
        assert item["geometry"]["type"] == "MultiPolygon"
    if name == "dataset_nodata_nan.tif":
        assert band["nodata"] == "nan"
    if name == "dataset_int16_nodata.tif":
        assert band["nodata"] == -9999
    if name == "dataset_with_offsets.tif":
        assert band["scale"] == pytest.approx(0.0001) and band["offset"] == 1000
    if name == "dataset_mars.tif":
        assert item["geometry"] is None and "proj:wkt2" in item["properties"]
    if name.startswith("S2A"):
        assert item["properties"]["datetime"] == "2022-07-22T10:56:31Z"
        assert item["bbox"][0] == pytest.approx(1.61, abs=0.01)


def test_no_crs_refused_then_accepted_with_crs(tmp_path, shared_mirror):
    path = write_tif(tmp_path / "src" / "x_20230101.tif", crs=None)
    with pytest.raises(InputError, match="no CRS") as info:
        _items(RastersBuilder(str(path.parent), "ds", tmp_path / "w"))
    assert "--crs" in str(info.value)
    [item] = _items(RastersBuilder(str(path.parent), "ds", tmp_path / "w", crs="EPSG:32631"))
    assert item["bbox"][0] == pytest.approx(1.38, abs=0.02)


@pytest.mark.parametrize("content", [b"", b"II*\x00garbage", b"not a tiff at all"])
def test_corrupt_or_truncated_file_refused_and_nothing_written(tmp_path, content):
    folder = tmp_path / "src"
    write_tif(folder / "good_20230101.tif")
    (folder / "bad_20230101.tif").write_bytes(content)
    lab = init_lab(tmp_path / "lab")
    with pytest.raises(InputError, match="bad_20230101.tif"):
        ingest(lab, "rasters", str(folder), "ds", progress=False)
    assert not lab.dataset("ds").path.exists()
    assert not (lab.root / "store").exists() or not any((lab.root / "store").rglob("*.tif"))


def test_truncated_real_tiff(tmp_path):
    path = write_tif(tmp_path / "src" / "t_20230101.tif", size=64)
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(InputError, match="t_20230101.tif"):
        _items(RastersBuilder(str(path.parent), "ds", tmp_path / "w"))


def test_chips_cover_the_raster_with_overlap(tmp_path):
    write_tif(tmp_path / "src" / "a_20230101.tif", size=64, bands=2, nodata=None)
    builder = RastersBuilder(str(tmp_path / "src"), "ds", tmp_path / "w", chip_size=32, overlap=8)
    items = _items(builder)
    # starts 0, 24 and 32 (the last shifted back inside): 3 × 3 chips
    assert len(items) == 9
    with rasterio.open(items[0]["assets"]["image"]["href"]) as chip:
        assert chip.shape == (32, 32) and chip.is_tiled
        with rasterio.open(tmp_path / "src" / "a_20230101.tif") as src:
            assert np.array_equal(chip.read(), src.read(window=((0, 32), (0, 32))))


def test_all_nodata_chips_skipped(tmp_path):
    data = np.zeros((1, 64, 64), dtype="uint16")
    data[0, :32, :32] = 7
    write_tif(tmp_path / "src" / "a_20230101.tif", data=data, nodata=0)
    items = _items(RastersBuilder(str(tmp_path / "src"), "ds", tmp_path / "w", chip_size=32))
    assert [i["id"] for i in items] == ["a_20230101-r000-c000"]


def test_ndvi_and_normalisation_statistics(tmp_path, shared_mirror):
    data = np.stack([np.full((32, 32), v, dtype="uint16") for v in (100, 200, 300, 900)])
    write_tif(tmp_path / "src" / "a_20230101.tif", data=data, nodata=None)
    lab = init_lab(tmp_path / "lab")
    ingest(
        lab,
        "rasters",
        str(tmp_path / "src"),
        "ds",
        {"indices": ("ndvi",), "bands": "red=3,nir=4", "normalize": True},
        progress=False,
    )
    collection = lab.dataset("ds").read_collection()
    stats = collection["summaries"]["raster:bands"]
    assert [s["mean"] for s in stats] == [100, 200, 300, 900]
    assert "steps: step=index" in collection["providers"][-1]["processing:lineage"]
    [item] = list(lab.dataset("ds").iter_items())
    store_href = item["assets"]["ndvi"]["href"]
    with rasterio.open(lab.dataset("ds").path / store_href) as ndvi:
        assert ndvi.read(1)[0, 0] == pytest.approx((900 - 300) / 1200)
    assert validate_target(str(lab.root)).ok


def test_vector_labels_rasterised(tmp_path):
    write_tif(tmp_path / "src" / "a_20230101.tif", size=64)
    # a polygon over the whole image's western half, in lon/lat
    with rasterio.open(tmp_path / "src" / "a_20230101.tif") as src:
        from rasterio.warp import transform_bounds

        w, s, e, n = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    mid = (w + e) / 2
    labels = tmp_path / "labels.geojson"
    labels.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"kind": "forest"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [w - 1, s - 1],
                                    [mid, s - 1],
                                    [mid, n + 1],
                                    [w - 1, n + 1],
                                    [w - 1, s - 1],
                                ]
                            ],
                        },
                    }
                ],
            }
        )
    )
    [item] = _items(
        RastersBuilder(
            str(tmp_path / "src"), "ds", tmp_path / "w", labels=labels, class_property="kind"
        )
    )
    assert item["properties"]["label:classes"] == [{"name": None, "classes": ["forest"]}]
    with rasterio.open(item["assets"]["labels"]["href"]) as mask:
        values = mask.read(1)
    assert values[:, :28].min() == 1 and values[:, 36:].max() == 0


def test_labels_missing_class_property(tmp_path):
    labels = tmp_path / "labels.geojson"
    labels.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": None}],
            }
        )
    )
    write_tif(tmp_path / "src" / "a_20230101.tif")
    with pytest.raises(InputError, match="no 'class' property"):
        RastersBuilder(str(tmp_path / "src"), "ds", tmp_path / "w", labels=labels)


def test_rebuild_is_byte_identical(tmp_path):
    for n in range(3):
        write_tif(tmp_path / "src" / f"a_2023010{n + 1}.tif", seed=n, offset=(n * 700.0, 0))
    lab = init_lab(tmp_path / "lab")
    ingest(
        lab,
        "rasters",
        str(tmp_path / "src"),
        "ds",
        {"cog": True},
        split="random:0.34,0.33,0.33",
        progress=False,
    )
    before = lab.dataset("ds").items_path.read_bytes()
    rebuild(lab, "ds", progress=False)
    assert lab.dataset("ds").items_path.read_bytes() == before


def test_empty_folder_and_unknown_option(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no GeoTIFF"):
        _items(RastersBuilder(str(tmp_path / "empty"), "ds", tmp_path / "w"))
    with pytest.raises(InputError, match="no option"):
        RastersBuilder(str(tmp_path / "empty"), "ds", tmp_path / "w", colour="red")
