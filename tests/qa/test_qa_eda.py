"""The EDA: band statistics equal numpy's on the same pixels, whatever the scheduler and the
window size; class balance, splits, space and time; a skewed dataset is flagged."""

from __future__ import annotations

import numpy as np
import pytest
from qacases import NAME, items, replace_asset, stored_path, write_mask, write_tif

from eotdl.qa import run_qa
from eotdl.qa.bandstats import BandTask, Scheme, band_statistics, summarize
from eotdl.qa.context import QAContext
from eotdl.qa.eda import compute_eda
from eotdl.qa.engine import Engine
from eotdl.qa.rasters import RasterSource

pytest_plugins = ["qacases"]


def _pixels(paths, nodata=None):
    import rasterio

    stack = []
    for path in paths:
        with rasterio.open(path) as src:
            stack.append(src.read().reshape(src.count, -1))
    data = np.concatenate(stack, axis=1)
    return data


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_band_statistics_equal_numpy(lab, scheduler):
    eda = compute_eda(QAContext(lab, NAME), scheduler=scheduler, workers=2, window_pixels=16 * 16)
    data = _pixels([stored_path(lab, item, "image") for item in items(lab)])
    assert [b["band"] for b in eda["bands"]] == [1, 2, 3, 4]
    for band in eda["bands"]:
        values = data[band["band"] - 1]
        assert band["binning"] == "int" and band["count"] == values.size
        assert band["min"] == values.min() and band["max"] == values.max()
        assert band["mean"] == pytest.approx(values.mean(), rel=1e-5)
        assert band["std"] == pytest.approx(values.std(), rel=1e-5)
        for q in (2, 25, 50, 75, 98):
            assert band["percentiles"][f"p{q}"] == np.percentile(values, q, method="inverted_cdf")
        assert sum(band["histogram"]["counts"]) == values.size
        assert band["nodata_share"] == 0.0


def test_nodata_share_and_float_bands(tmp_path):
    rng = np.random.default_rng(5)
    paths = []
    for i in range(3):
        data = rng.normal(0.3, 0.1, size=(2, 50, 70)).astype("float32")
        data[:, :10, :] = np.nan
        paths.append(write_tif(tmp_path / f"f{i}.tif", data=data, nodata=float("nan")))
    tasks = [
        BandTask(RasterSource(str(p)), "image", (Scheme("moments"), Scheme("moments")), 33 * 33)
        for p in paths
    ]
    with Engine("threads", 2) as engine:
        merged, files = band_statistics(tasks, engine)
    assert files.files == 3 and files.failed == []
    pixels = _pixels(paths)
    for index in range(2):
        values = pixels[index][~np.isnan(pixels[index])]
        summary = summarize(merged[("image", index)])
        assert summary["nodata_share"] == pytest.approx(10 / 50)
        assert summary["count"] == values.size
        assert summary["mean"] == pytest.approx(values.mean(), rel=1e-5)
        assert summary["std"] == pytest.approx(values.std(), rel=1e-4)
        assert summary["min"] == pytest.approx(values.min(), rel=1e-5)
        width = float(values.max() - values.min()) / 4096
        for q in (2, 50, 98):
            assert summary["percentiles"][f"p{q}"] == pytest.approx(
                float(np.percentile(values, q, method="inverted_cdf")), abs=width
            )


def test_processes_and_threads_agree(lab):
    ctx = QAContext(lab, NAME)
    threads = compute_eda(ctx, scheduler="threads", workers=2)
    processes = compute_eda(ctx, scheduler="processes", workers=2)
    assert threads["bands"] == processes["bands"]
    assert threads["classes"] == processes["classes"]


def test_unreadable_file_is_counted_not_fatal(lab, tmp_path):
    item = items(lab)[0]
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff at all")
    replace_asset(lab, item["id"], "image", broken)
    eda = compute_eda(QAContext(lab, NAME), scheduler="threads")
    assert eda["engine"]["files"] == 7  # the header read fails first: no task for it
    assert eda["bands"][0]["count"] == 7 * 64 * 64


def test_classes_splits_space_and_time(lab):
    eda = run_qa(lab, NAME, checks=["schema"]).eda
    assert eda is not None
    counts = eda["classes"]["counts"]
    assert set(counts) == {"0", "1", "2"} and sum(counts.values()) == 8 * 64 * 64
    assert eda["classes"]["area_m2"]["0"] == pytest.approx(counts["0"] * 100.0)
    assert eda["splits"] == {"test": 2, "train": 4, "validate": 2}
    spatial = eda["spatial"]
    assert spatial["items_with_geometry"] == 8 and spatial["union"]["type"] == "MultiPolygon"
    assert spatial["union_area_km2"] == pytest.approx(8 * 0.64 * 0.64, rel=0.01)
    assert spatial["grid"]["occupied"] == 1 and spatial["grid"]["cells"][0]["count"] == 8
    temporal = eda["temporal"]
    assert temporal["start"] == "2023-01-15T00:00:00Z" and temporal["end"] == "2023-08-15T00:00:00Z"
    assert temporal["by_month"] == {f"2023-{m:02d}": 1 for m in range(1, 9)}
    bias = eda["bias"]
    assert bias["continents"] == {"Europe": 8}
    assert bias["seasons"] == {"winter": 2, "spring": 3, "summer": 3, "autumn": 0}
    assert bias["class_entropy"] > 0.99 and bias["class_imbalance_ratio"] < 1.1
    assert {f["code"] for f in bias["flags"]} == {
        "geo-local",
        "geo-one-continent",
        "year-concentration",
    }


def test_skewed_class_balance_is_flagged(lab, tmp_path):
    for item in items(lab):
        index = int(item["id"][1])
        rng = np.random.default_rng(index)
        mask = np.where(rng.random((1, 64, 64)) < 0.97, 0, rng.choice([1, 2], (1, 64, 64)))
        path = write_tif(
            tmp_path / f"{index}.tif",
            data=mask.astype("uint8"),
            nodata=None,
            offset=(index * 1000.0, 0),
        )
        replace_asset(lab, item["id"], "labels", path)
    report = run_qa(lab, NAME, checks=["classes"])
    assert report.findings == []  # every class is used: the skew is a bias, not an error
    bias = report.eda["bias"]  # type: ignore[index]
    flags = {f["code"]: f for f in bias["flags"]}
    assert bias["class_imbalance_ratio"] > 40 and flags["class-imbalance"]["threshold"] == 10.0
    assert bias["class_entropy"] < 0.8 and "class-entropy" in flags
    assert "rarest" in flags["class-imbalance"]["explanation"]


def test_missing_class_shows_as_absent(lab, tmp_path):
    for item in items(lab):
        index = int(item["id"][1])
        mask = write_mask(tmp_path / f"{index}.tif", [0, 1], seed=index, offset=(index * 1000.0, 0))
        replace_asset(lab, item["id"], "labels", mask)
    report = run_qa(lab, NAME, checks=["classes"])
    assert [f.code for f in report.findings] == ["class-unused"]
    eda = report.eda
    assert eda is not None and eda["classes"]["counts"]["2"] == 0
    assert "class-absent" in {f["code"] for f in eda["bias"]["flags"]}


def test_scheduler_choice(monkeypatch):
    from eotdl.errors import EotdlError, InputError
    from eotdl.qa.eda import choose_scheduler

    assert choose_scheduler() == "threads"
    monkeypatch.setenv("EOTDL_QA_SCHEDULER", "sync")
    assert choose_scheduler() == "sync"
    monkeypatch.setenv("EOTDL_QA_SCHEDULER", "gpu")
    with pytest.raises(EotdlError, match="EOTDL_QA_SCHEDULER"):
        choose_scheduler()
    with pytest.raises(InputError, match="unknown Dask scheduler"):
        Engine("gpu", 2)
