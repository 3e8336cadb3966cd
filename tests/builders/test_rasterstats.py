"""raster:bands from eotdl's statistics are rio-stac's, value for value (bit for bit)."""

import warnings

import numpy as np
import pytest
import rasterio
from rio_stac import create_stac_item
from rio_stac.stac import get_raster_info

from eotdl.builders.rasterinfo import raster_item
from eotdl.builders.rasterstats import raster_bands
from rastergen import write_tif
from shareddata import RASTER_FIXTURES


def _cases(tmp_path):
    rng = np.random.default_rng(7)
    holes = rng.integers(0, 3000, size=(3, 50, 70)).astype("uint16")
    holes[:, :10, :] = 0  # nodata rows
    constant = np.full((1, 20, 20), 42, dtype="uint8")
    signed = rng.integers(-500, 500, size=(2, 40, 40)).astype("int16")
    wide = rng.integers(0, 2**31 - 1, size=(1, 30, 30)).astype("int32")
    floats = rng.random((2, 30, 30)).astype("float32")
    floats[0, 0, 0] = np.nan
    big = rng.integers(1, 60000, size=(1, 1500, 700)).astype("uint16")
    return [
        write_tif(tmp_path / "plain.tif", seed=1),
        write_tif(tmp_path / "holes.tif", data=holes, nodata=0),
        write_tif(tmp_path / "constant.tif", data=constant, nodata=None),
        write_tif(tmp_path / "signed.tif", data=signed, nodata=-500),
        write_tif(tmp_path / "wide.tif", data=wide, nodata=None),
        write_tif(tmp_path / "floats.tif", data=floats, nodata=float("nan")),
        write_tif(tmp_path / "big.tif", data=big, nodata=0),  # decimated to 1024 px
        write_tif(tmp_path / "empty.tif", data=np.zeros((1, 8, 8), "uint16"), nodata=0),
    ]


def test_same_values_as_rio_stac(tmp_path):
    for path in _cases(tmp_path):
        with rasterio.open(path) as src, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert raster_bands(src) == get_raster_info(src), path.name


def test_same_values_on_the_real_fixtures():
    if not RASTER_FIXTURES.exists():
        pytest.skip("../shared/rasters is absent")
    checked = 0
    for path in sorted(RASTER_FIXTURES.glob("*.tif")):
        with rasterio.open(path) as src, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert raster_bands(src) == get_raster_info(src), path.name
        checked += 1
    assert checked


def test_raster_item_matches_rio_stac_with_raster(tmp_path):
    path = write_tif(tmp_path / "x_20230601.tif", seed=3)
    ours = raster_item(path, "x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = create_stac_item(
            str(path), with_proj=True, with_raster=True, with_eo=True
        ).to_dict()
    assert ours["stac_extensions"] == theirs["stac_extensions"]
    assert ours["assets"]["image"]["raster:bands"] == theirs["assets"]["asset"]["raster:bands"]


def test_integer_bands_take_the_shortcut(tmp_path, monkeypatch):
    from eotdl.builders import rasterstats

    def refuse(arr, bins):
        raise AssertionError("fell back to rio-stac")

    monkeypatch.setattr(rasterstats, "_rio_stac_stats", refuse)
    with rasterio.open(write_tif(tmp_path / "plain.tif", seed=1)) as src:
        assert len(raster_bands(src)) == 4
