"""Planted raster defects: unreadable, no CRS, footprint elsewhere, not a COG, empty chips."""

from __future__ import annotations

import numpy as np
from qacases import NAME, edit_item, items, replace_asset, set_geometry_from, stored_path, write_tif

from eotdl.qa import run_qa
from eotdl.qa.rasters import RasterSource, inspect_raster, windows

pytest_plugins = ["qacases"]


def _run(lab, *checks):
    return run_qa(lab, NAME, checks=list(checks), eda=False)


def test_truncated_raster_is_caught(lab, tmp_path):
    item = items(lab)[0]
    broken = tmp_path / "broken.tif"
    broken.write_bytes(stored_path(lab, item, "image").read_bytes()[:600])
    replace_asset(lab, item["id"], "image", broken)
    report = _run(lab, "rasters", "assets")
    assert [(f.code, f.object) for f in report.errors] == [
        ("raster-unreadable", f"item:{item['id']}/asset:image")
    ]


def test_footprint_in_the_wrong_place_is_caught(lab):
    item = items(lab)[3]

    def move(i):
        shift = lambda ring: [[x + 1.0, y] for x, y in ring]  # noqa: E731
        i["geometry"]["coordinates"] = [shift(r) for r in i["geometry"]["coordinates"]]
        i["bbox"] = [i["bbox"][0] + 1, i["bbox"][1], i["bbox"][2] + 1, i["bbox"][3]]

    edit_item(lab, item["id"], move)
    report = _run(lab, "rasters")
    # the image and its label mask both disagree with the moved geometry
    assert {(f.code, f.object) for f in report.errors} == {
        ("footprint-mismatch", f"item:{item['id']}/asset:image"),
        ("footprint-mismatch", f"item:{item['id']}/asset:labels"),
    }
    assert "0% of the item geometry" in report.errors[0].message


def test_footprint_slightly_off_is_tolerated(lab, tmp_path):
    item = items(lab)[3]
    # a raster shifted by 3 pixels (30 m of 640 m): 95% of the geometry is still inside
    shifted = write_tif(tmp_path / "s.tif", seed=3, offset=(3 * 1000.0 + 30.0, 0.0))
    replace_asset(lab, item["id"], "image", shifted)
    assert _run(lab, "rasters").findings == []


def test_raster_without_crs_is_caught(lab, tmp_path):
    item = items(lab)[1]
    replace_asset(lab, item["id"], "image", write_tif(tmp_path / "nocrs.tif", crs=None))
    assert [(f.code, f.object) for f in _run(lab, "rasters").errors] == [
        ("raster-no-crs", f"item:{item['id']}/asset:image")
    ]


def test_large_striped_raster_is_not_a_cog(lab, tmp_path):
    first, second = items(lab)[:2]
    big = write_tif(tmp_path / "big.tif", bands=1, size=1100, dtype="uint8", seed=1)
    replace_asset(lab, first["id"], "image", big, move_geometry=True)
    replace_asset(
        lab,
        second["id"],
        "image",
        big,
        media_type="image/tiff; application=geotiff; profile=cloud-optimized",
        move_geometry=True,
    )
    report = _run(lab, "cog")
    assert sorted((f.severity, f.code, f.object) for f in report.findings) == [
        ("error", "cog-invalid", f"item:{second['id']}/asset:image"),
        ("warning", "cog-layout", f"item:{first['id']}/asset:image"),
    ]
    assert (
        "not tiled" in report.findings[0].message and "no overviews" in report.findings[0].message
    )


def test_all_nodata_chip_is_caught(lab, tmp_path):
    item = items(lab)[6]
    empty = np.zeros((4, 64, 64), dtype="uint16")
    path = write_tif(tmp_path / "empty.tif", data=empty, nodata=0, offset=(6 * 1000.0, 0.0))
    replace_asset(lab, item["id"], "image", path)
    assert [(f.code, f.object) for f in _run(lab, "empty").errors] == [
        ("chip-all-nodata", f"item:{item['id']}/asset:image")
    ]


def test_constant_chip_is_a_warning(lab, tmp_path):
    item = items(lab)[6]
    flat = np.full((4, 64, 64), 7, dtype="uint16")
    path = write_tif(tmp_path / "flat.tif", data=flat, nodata=None, offset=(6 * 1000.0, 0.0))
    replace_asset(lab, item["id"], "image", path)
    report = _run(lab, "empty")
    assert [(f.severity, f.code) for f in report.findings] == [("warning", "chip-constant")]


def test_inspect_reads_only_what_it_needs(tmp_path):
    data = np.zeros((1, 2048, 2048), dtype="uint8")
    data[0, 2000, 2000] = 5  # one valid pixel, in the last window
    path = write_tif(tmp_path / "sparse.tif", data=data, nodata=0)
    facts = inspect_raster(RasterSource(str(path)))
    assert facts.all_nodata is False and facts.constant is True
    mask = inspect_raster(RasterSource(str(path)), mask_values=True)
    assert mask.values == {"5"}


def test_windows_cover_the_raster_once(tmp_path):
    path = write_tif(tmp_path / "odd.tif", bands=1, size=1500, dtype="uint8")
    with RasterSource(str(path)).open() as src:
        cover = np.zeros((src.height, src.width), dtype=int)
        for w in windows(src, pixels=300 * 300):
            assert w.width * w.height <= 300 * 300 or w.height == src.block_shapes[0][0]
            cover[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
    assert (cover == 1).all()


def test_footprint_helper_matches_the_geometry(lab, tmp_path):
    item = items(lab)[0]
    moved = dict(item)
    set_geometry_from(moved, stored_path(lab, item, "image"))
    assert np.allclose(moved["bbox"], item["bbox"], atol=1e-6)
