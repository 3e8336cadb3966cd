"""Hostile and unlucky inputs, as a user meets them through the CLI (issue 12).

Valid datasets that crashed `build` (null geometries, ``assets: {}``) now build; malformed
inputs (a CSV that is not UTF-8, a time past year 1 in UTC, ``"features": [5]``, NaN or short
rings in labels, ``"assets": "x"``, a truncated GeoTIFF) give one message naming the file and
line or feature, a non-zero exit, no traceback and no dataset left behind.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from eotdl.catalog.lab import init_lab
from eotdl.cli.main import main
from rastergen import write_tif


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``eotdl ARGS`` in this process, without --debug: (exit status, stdout + stderr).
    Any exception but the CLI's own exit is a traceback the user would see: it fails."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return code, text


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lab"
    init_lab(root)
    monkeypatch.chdir(root)
    return root


def refused(capsys: pytest.CaptureFixture[str], lab: Path, *args: str) -> str:
    """Run an ingest that must be refused; the message, after checking nothing was written."""
    code, text = run(capsys, "ingest", *args, "--dataset", "bad")
    assert code != 0, text
    assert "error:" in text
    assert not (lab / "datasets" / "bad").exists()
    return text


# valid datasets that crashed the build --------------------------------------------------------


def test_png_chips_with_null_geometry_build_and_search(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    for name in ("forest", "river"):
        for index in range(2):
            path = tmp_path / "chips" / name / f"{index}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(path)
    code, text = run(
        capsys,
        "ingest",
        "classification-folders",
        str(tmp_path / "chips"),
        "--dataset",
        "chips",
        "--datetime",
        "2020-01-01",
    )
    assert code == 0, text
    code, text = run(capsys, "build")
    assert code == 0, text
    parquet = next((lab / "_site").rglob("items.parquet"))
    from eotdl.catalog.geoparquet import read_items_parquet

    back = list(read_items_parquet(parquet))
    assert len(back) == 4 and all(i["geometry"] is None and "bbox" not in i for i in back)
    code, text = run(capsys, "search", "--lab", str(lab / "_site"), "--format", "ids")
    assert code == 0 and "forest-0" in text, text


# tracebacks that are now messages --------------------------------------------------------------


def test_points_csv_not_utf8(lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "obs.csv"
    source.write_bytes(b"lon,lat,time,v\n1,2,2020-01-01,3\n1,2,2020-01-01,\xe9t\xe9\n")
    text = refused(capsys, lab, "points", str(source))
    assert f"{source}:3: not UTF-8" in text


def test_points_time_out_of_range(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "obs.csv"
    source.write_text("lon,lat,time,v\n1,2,2020-01-01,3\n1,2,0001-01-01T00:00+14:00,3\n")
    text = refused(capsys, lab, "points", str(source))
    assert f"{source}:3: time '0001-01-01T00:00+14:00'" in text


def test_points_geojson_feature_not_an_object(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "obs.geojson"
    source.write_text('{"type": "FeatureCollection", "features": [5]}')
    text = refused(capsys, lab, "points", str(source))
    assert f"{source}: feature 0 is a number (5)" in text


def _box_labels(path: Path, geometry: Any) -> Path:
    feature = {
        "type": "Feature",
        "properties": {"image": "a.tif", "class": "ship"},
        "geometry": geometry,
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


BAD_GEOMETRIES = {
    "nan": (
        {"type": "Polygon", "coordinates": [[[float("nan"), 1], [2, 1], [2, 2], [0, 1]]]},
        "finite numbers",
    ),
    "empty-ring": ({"type": "Polygon", "coordinates": [[]]}, "empty or missing coordinates"),
    "two-point-ring": (
        {"type": "Polygon", "coordinates": [[[1, 1], [2, 2]]]},
        "ring has 2 position(s)",
    ),
    "not-an-object": (5, "geometry is a number (5)"),
}


@pytest.mark.parametrize("case", sorted(BAD_GEOMETRIES))
def test_detection_and_raster_labels_with_bad_geometries(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    images = tmp_path / "images"
    write_tif(images / "a.tif", seed=1, bands=1, size=16)
    geometry, message = BAD_GEOMETRIES[case]
    labels = _box_labels(tmp_path / "labels.geojson", geometry)
    for args in (
        ("detection", str(images), "--boxes", str(labels)),
        ("rasters", str(images), "--labels", str(labels)),
    ):
        text = refused(capsys, lab, *args, "--datetime", "2020-01-01")
        assert f"{labels}: feature 0" in text and message in text, text


def test_labels_past_the_pole(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Coordinates PROJ cannot project onto the image's UTM grid: a message, not CPLE_*."""
    images = tmp_path / "images"
    write_tif(images / "a.tif", seed=1, bands=1, size=16)
    ring = [[1, 95], [2, 95], [2, 96], [1, 96], [1, 95]]
    labels = _box_labels(tmp_path / "labels.geojson", {"type": "Polygon", "coordinates": [ring]})
    text = refused(capsys, lab, "detection", str(images), "--boxes", str(labels))
    assert f"{labels}: feature 0: cannot be projected" in text
    text = refused(capsys, lab, "rasters", str(images), "--labels", str(labels))
    assert f"{labels}: feature 0: coordinates" in text and "not longitude/latitude" in text


@pytest.mark.parametrize("cut", [200, 300, 1000])
def test_truncated_geotiff_says_so(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int
) -> None:
    whole = write_tif(tmp_path / "whole.tif", seed=1, bands=1, size=64, dtype="uint8")
    images = tmp_path / "images"
    images.mkdir()
    (images / "x.tif").write_bytes(Path(whole).read_bytes()[:cut])
    text = refused(capsys, lab, "rasters", str(images), "--datetime", "2020-01-01")
    assert f"{images / 'x.tif'}: truncated or corrupt raster" in text
    assert "--crs" not in text


def _git(lab: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=lab,
        check=True,
        capture_output=True,
    )


def test_item_whose_assets_is_a_string(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check` (through the diff and the href rule) and `build` (through the parquet) read an
    item whose ``assets`` is a string: each gives findings or a message, no traceback."""
    source = tmp_path / "obs.csv"
    source.write_text("lon,lat,time,v\n1,2,2020-01-01,3\n1.5,2,2020-01-02,4\n")
    code, text = run(capsys, "ingest", "points", str(source), "--dataset", "obs")
    assert code == 0, text
    _git(lab, "init", "-q")
    _git(lab, "add", "-A")
    _git(lab, "commit", "-qm", "base")
    items = lab / "datasets" / "obs" / "items.ndjson"
    lines = items.read_text().splitlines()
    broken = json.loads(lines[0])
    broken["assets"] = "oops"
    lines[0] = json.dumps(broken, sort_keys=True, separators=(",", ":"))
    items.write_text("\n".join(lines) + "\n")
    code, text = run(capsys, "check", "--base", "HEAD")
    assert code != 0 and "/assets" in text and broken["id"] in text, text
    code, text = run(capsys, "build")
    assert code != 0 and f"item {broken['id']!r} of collection 'obs': 'assets' is not" in text, text


def test_twenty_thousand_items_without_assets_build_parquet(tmp_path: Path) -> None:
    """The issue's case: 20,000 in-situ items with ``assets: {}`` (more than one chunk) crashed
    the chunked write in pyarrow; 5,000 (one chunk) did not."""
    from eotdl.catalog.geoparquet import CHUNK, read_items_parquet, write_items_parquet

    count = 20_000
    assert count > CHUNK
    items = (
        {
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": [],
            "id": f"p{index:05d}",
            "geometry": {"type": "Point", "coordinates": [index % 360 - 180.0, 1.0]},
            "bbox": [index % 360 - 180.0, 1.0, index % 360 - 180.0, 1.0],
            "properties": {"datetime": "2020-01-01T00:00:00Z", "value": index},
            "links": [],
            "assets": {},
        }
        for index in range(count)
    )
    assert write_items_parquet(items, tmp_path / "items.parquet") == count
    back = list(read_items_parquet(tmp_path / "items.parquet"))
    assert len(back) == count and all(item["assets"] == {} for item in back)
