"""``predict`` round trips: the class GeoTIFF keeps the georeferencing and the model's answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch

from conftest import lab_file
from eotdl.catalog.lab import Lab
from eotdl.errors import InputError
from eotdl.train.library import get_model, list_models, model_item
from eotdl.train.prediction import load_model, predict
from rastergen import write_tif


def a_chip(lab: Lab, dataset: str, split: str = "test") -> Path:
    item = next(
        i for i in lab.dataset(dataset).iter_items() if i["properties"]["ml-aoi:split"] == split
    )
    return (lab.dataset(dataset).path / item["assets"]["image"]["href"]).resolve()


def forward(model: Any, chip: Path) -> np.ndarray:
    """What the model says about a chip, computed here without predict()."""
    with rasterio.open(chip) as src:
        data = src.read().astype(np.float32)
    normalised = (data - model.mean) / model.std
    with torch.no_grad():
        return model.module(torch.from_numpy(normalised[None])).argmax(dim=1)[0].numpy()


def test_classifier_round_trip_keeps_georeferencing(
    chips_lab: Lab, chips_model: dict[str, Any], tmp_path: Path
) -> None:
    chip = a_chip(chips_lab, "chips")
    out = tmp_path / "pred.tif"
    summary = predict("chips-small-cnn", chip, out, lab=chips_lab.root)
    model = load_model("chips-small-cnn", chips_lab.root)
    with rasterio.open(chip) as src, rasterio.open(out) as dst:
        assert (dst.crs, dst.transform, dst.shape) == (src.crs, src.transform, src.shape)
        assert dst.count == 1 and dst.dtypes[0] == "uint8"
        assert dst.tags(1)["class_1"] == "water"
        classes = dst.read(1)
    assert (classes == int(forward(model, chip))).all()
    assert sum(summary["pixels"].values()) == 16 * 16


def test_a_downloaded_model_predicts_the_same(
    chips_lab: Lab, chips_model: dict[str, Any], tmp_path: Path
) -> None:
    got = get_model("chips-small-cnn", tmp_path / "model", lab=chips_lab.root)
    assert got.files == 2 and (tmp_path / "model" / "items.ndjson").is_file()
    chip = a_chip(chips_lab, "chips")
    predict(str(tmp_path / "model"), chip, tmp_path / "a.tif")
    predict("chips-small-cnn", chip, tmp_path / "b.tif", lab=chips_lab.root)
    with rasterio.open(tmp_path / "a.tif") as a, rasterio.open(tmp_path / "b.tif") as b:
        assert (a.read() == b.read()).all()


def test_segmenter_on_an_image_of_another_size(
    tiles_lab: Lab, tiles_model: dict[str, Any], tmp_path: Path
) -> None:
    image = write_tif(tmp_path / "big.tif", seed=3, bands=3, size=40, offset=(500.0, 0.0))
    out = tmp_path / "mask.tif"
    predict("tiles-unet-small", image, out, lab=tiles_lab.root)
    model = load_model("tiles-unet-small", tiles_lab.root)
    with rasterio.open(image) as src, rasterio.open(out) as dst:
        assert (dst.crs, dst.transform, dst.shape) == (src.crs, src.transform, src.shape)
        classes = dst.read(1)
        first = src.read(window=((0, 16), (0, 16))).astype(np.float32)
    assert set(np.unique(classes)) <= {0, 1, 2}
    with torch.no_grad():
        tensor = torch.from_numpy(((first - model.mean) / model.std)[None])
        expected = model.module(tensor).argmax(dim=1)[0].numpy()
    assert (classes[:16, :16] == expected).all()


def test_models_list_and_errors(
    chips_lab: Lab, chips_model: dict[str, Any], tmp_path: Path
) -> None:
    listed = {m.name: m for m in list_models(chips_lab.root)}
    found = listed["chips-small-cnn"]
    assert (found.task, found.architecture, found.dataset) == (
        "classification",
        "CNN",
        "chips@1.0.0",
    )
    assert found.metric == "accuracy" and found.value is not None
    with pytest.raises(InputError, match="no model 'nope'"):
        model_item("nope", chips_lab.root)
    wrong = write_tif(tmp_path / "three.tif", bands=3, size=16)
    with pytest.raises(InputError, match="has 3 band"):
        predict("chips-small-cnn", wrong, tmp_path / "x.tif", lab=chips_lab.root)
    assert not (tmp_path / "x.tif").exists()


def test_tampered_weights_are_refused(
    chips_lab: Lab, chips_model: dict[str, Any], tmp_path: Path
) -> None:
    get_model("chips-small-cnn", tmp_path / "model", lab=chips_lab.root)
    weights = next((tmp_path / "model" / "assets").rglob("model*"))
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match="do not match their file:checksum"):
        load_model(str(tmp_path / "model"))
    assert lab_file(chips_lab, "chips-small-cnn", chips_model["assets"]["model"]["href"]).exists()


def test_a_model_from_a_built_site(
    chips_lab: Lab, chips_model: dict[str, Any], tmp_path: Path
) -> None:
    from eotdl.catalog.tree import write_stac_tree

    site = tmp_path / "site"
    write_stac_tree(chips_lab, site)
    item = model_item("chips-small-cnn", site)
    assert item["id"] == "chips-small-cnn"
    got = get_model("chips-small-cnn", tmp_path / "from-site", lab=site)
    assert got.files == 2
    chip = a_chip(chips_lab, "chips")
    summary = predict(str(tmp_path / "from-site"), chip, tmp_path / "s.tif")
    assert summary["task"] == "classification"


def test_default_output_is_beside_the_image() -> None:
    from eotdl.train.prediction import default_output

    assert default_output("chips-small-cnn", "/data/scene.tif") == Path(
        "/data/scene-chips-small-cnn.tif"
    )
    assert default_output("/models/m1", "a/b.tiff") == Path("a/b-m1.tif")
