"""open_dataset and the loaders: a tiny PyTorch model and a scikit-learn model train on them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import eotdl
from eotdl.catalog.lab import Lab
from eotdl.errors import InputError
from eotdl.ml.dataset import open_dataset
from eotdl.ml.labels import IGNORE
from eotdl.ml.torch import detection_collate
from labs import CHIP_CLASSES, Dataset, make_lab


def test_open_dataset_is_lazy_at_the_top_level():
    assert eotdl.open_dataset is open_dataset
    code = "import sys, eotdl; eotdl.open_dataset; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_items_splits_and_classes(chips: Lab):
    ds = open_dataset("chips", lab=chips.site_dir)
    assert ds.splits() == {"test": 3, "train": 6, "validate": 3}
    assert len(ds.items("validation")) == 3
    assert ds.task == "classification" and ds.classes == CHIP_CLASSES
    assert "chips@1.0.0" in repr(ds)
    with pytest.raises(InputError, match="unknown split 'dev'"):
        ds.to_torch("dev")


def test_tiny_torch_model_trains_a_step(chips: Lab):
    ds = open_dataset("chips", lab=chips.root)
    train = ds.to_torch("train")
    image, label = train[0]
    assert image.dtype == torch.float32 and tuple(image.shape) == (3, 16, 16)
    assert label.dtype == torch.int64 and 0 <= int(label) < 3
    loader = DataLoader(train, batch_size=3, num_workers=2, shuffle=True)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, len(train.classes)),
    )
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    batches = 0
    for images, labels in loader:
        loss = torch.nn.functional.cross_entropy(model(images / 3000.0), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        assert torch.isfinite(loss)
        batches += 1
    assert batches == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_bands_windows_and_transforms(chips: Lab):
    ds = open_dataset("chips", lab=chips.site_dir)
    by_name = ds.to_torch("train", bands=["b1", "b3"])[0][0]
    by_number = ds.to_torch("train", bands=[1, 3])[0][0]
    assert tuple(by_name.shape) == (2, 16, 16) and torch.equal(by_name, by_number)
    assert tuple(ds.to_torch("train", chip_size=8)[0][0].shape) == (3, 8, 8)
    padded = ds.to_torch("train", chip_size=20)[0][0]
    assert tuple(padded.shape) == (3, 20, 20) and float(padded[:, 0, 0].abs().sum()) == 0
    scaled = ds.to_torch("train", transform=lambda x: x * 0, target_transform=lambda y: y + 10)
    image, label = scaled[0]
    assert float(image.abs().sum()) == 0 and int(label) >= 10
    with pytest.raises(InputError, match="no band 'nir'"):
        ds.to_torch("train", bands=["nir"])[0]
    with pytest.raises(InputError, match="has 3 band"):
        ds.to_torch("train", bands=[7])[0]


def test_scikit_learn_model_fits_numpy_arrays(chips: Lab):
    from sklearn.linear_model import LogisticRegression

    ds = open_dataset("chips", lab=chips.site_dir)
    x, y = ds.to_numpy("train")
    assert x.shape == (6, 3 * 16 * 16) and y.shape == (6,) and y.dtype == np.int64
    model = LogisticRegression(max_iter=200).fit(x / 3000.0, y)
    x_val, y_val = ds.to_numpy("validate")
    assert model.predict(x_val / 3000.0).shape == y_val.shape
    stacked, _ = ds.to_numpy("train", flatten=False)
    assert stacked.shape == (6, 3, 16, 16)


def test_downloaded_folder_trains_the_same(chips: Lab, tmp_path: Path):
    remote = open_dataset("chips", lab=chips.site_dir)
    result = remote.download(tmp_path / "chips", split="train")
    assert result.items == 6
    local = open_dataset(tmp_path / "chips")
    x_remote, y_remote = remote.to_numpy("train")
    x_local, y_local = local.to_numpy("train")
    assert np.array_equal(x_remote, x_local) and np.array_equal(y_remote, y_local)


def test_reading_over_http(chips: Lab, http_dir):
    shutil.copytree(chips.root, http_dir.root / "lab", symlinks=True)
    ds = open_dataset("chips", lab=f"{http_dir.url}/lab/_site")
    image, label = ds.to_torch("test")[0]
    local = open_dataset("chips", lab=chips.root).to_torch("test")[0][0]
    assert torch.equal(image, local)
    assert any(r.startswith("/lab/_site/objects/") for r in http_dir.requests)  # the one rule


def test_segmentation_masks(tmp_path: Path):
    lab = make_lab(tmp_path, [Dataset("tiles", "segmentation_pairs")])
    ds = open_dataset("tiles", lab=lab.root)
    assert ds.task == "segmentation"
    dataset = ds.to_torch()
    image, mask = dataset[0]
    assert tuple(image.shape) == (3, 16, 16) and tuple(mask.shape) == (16, 16)
    assert mask.dtype == torch.int64 and set(mask.unique().tolist()) <= {0, 1, 2}
    model = torch.nn.Conv2d(3, 3, 1)
    loss = torch.nn.functional.cross_entropy(
        model(image[None] / 3000.0), mask[None], ignore_index=IGNORE
    )
    loss.backward()
    assert torch.isfinite(loss)
    x, y = ds.to_numpy(flatten=False)
    assert x.shape == (4, 3, 16, 16) and y.shape == (4, 16, 16)


def test_detection_boxes(tmp_path: Path):
    lab = make_lab(tmp_path, [Dataset("boxes", "detection")])
    ds = open_dataset("boxes", lab=lab.root)
    assert ds.task == "detection" and sorted(ds.classes) == ["boat", "car"]
    dataset = ds.to_torch()
    counts = []
    for image, target in dataset:
        assert tuple(image.shape) == (3, 16, 16)
        assert target["boxes"].shape[1:] == (4,) and target["labels"].dtype == torch.int64
        counts.append(len(target["boxes"]))
    assert sorted(counts) == [0, 1, 2, 3]
    images, targets = next(iter(DataLoader(dataset, batch_size=4, collate_fn=detection_collate)))
    assert tuple(images.shape) == (4, 3, 16, 16) and len(targets) == 4
    _, y = ds.to_numpy()
    assert y.dtype == object and {len(t["labels"]) for t in y} == {0, 1, 2, 3}


def test_to_tf_without_tensorflow_names_the_extra(chips: Lab, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # as if not installed
    ds = open_dataset("chips", lab=chips.site_dir)
    with pytest.raises(InputError, match="TensorFlow is not installed") as info:
        ds.to_tf("train")
    assert "pip install -e '.[tf]'" in str(info.value)


def test_to_tf_builds_a_generator_dataset(chips: Lab, monkeypatch):
    """The wiring, against a stand-in for tf (TensorFlow itself is an optional extra)."""
    made: dict[str, object] = {}

    def from_generator(generator, output_signature):
        made["samples"] = list(generator())
        made["signature"] = output_signature
        return "a tf.data.Dataset"

    fake = types.SimpleNamespace(
        float32="float32",
        float64="float64",
        int64="int64",
        TensorSpec=lambda shape, dtype: (shape, dtype),
        data=types.SimpleNamespace(Dataset=types.SimpleNamespace(from_generator=from_generator)),
    )
    monkeypatch.setitem(sys.modules, "tensorflow", fake)
    assert open_dataset("chips", lab=chips.site_dir).to_tf("train") == "a tf.data.Dataset"
    samples = made["samples"]
    assert len(samples) == 6
    image, label = samples[0]
    assert image.dtype == np.float32 and image.shape == (3, 16, 16) and label.dtype == np.int64
    assert made["signature"] == (((None, None, None), "float32"), ((), "int64"))


@pytest.mark.s3
def test_reading_straight_from_seaweedfs(s3_bucket, tmp_path: Path):
    lab = make_lab(
        tmp_path,
        [Dataset("chips", "classification_folders", per_class=1)],
        store_url=s3_bucket.url,
        store={"endpoint_url": s3_bucket.endpoint_url},
        build=True,
    )
    ds = open_dataset("chips", lab=lab.root)
    assert ds.items()[0]["assets"]["image"]["href"].startswith("s3://")
    dataset = ds.to_torch()
    images = [dataset[i][0] for i in range(len(dataset))]
    assert len(images) == 3 and all(tuple(i.shape) == (3, 16, 16) for i in images)
    loader = DataLoader(dataset, batch_size=3, num_workers=2)
    batch, labels = next(iter(loader))
    assert tuple(batch.shape) == (3, 3, 16, 16) and sorted(labels.tolist()) == [0, 1, 2]
