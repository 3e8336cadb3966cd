"""Fixtures of the training tests: tiny labs, one shared two-worker cluster, trained models.

Starting a cluster and importing torch in its workers costs seconds, so the tests share one
two-worker LocalCluster (reached by its address, as ``--cluster tcp://…`` would) and one
trained model per task; the CLI test starts its own ``local`` cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eotdl.catalog.lab import Lab
from labs import Dataset, make_lab

pytest.importorskip("torch")

SCHEMA_MIRROR = Path(__file__).resolve().parents[3] / "shared" / "stac-schemas"


@pytest.fixture(scope="session")
def cluster() -> Iterator[str]:
    """The address of a two-worker LocalCluster with the runner's worker settings."""
    from eotdl.train.cluster import open_cluster

    with open_cluster("local", 2) as started:
        yield str(started.client.scheduler.address)


@pytest.fixture(scope="session")
def chips_lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """``chips``: 16 chips of two classes told apart by their brightness, random splits."""
    chips = Dataset(
        "chips",
        "classification_folders",
        classes=("forest", "water"),
        per_class=8,
        bands=4,
        learnable=True,
        stem="{cls}{i}_20230101",
        datetime=None,
        split="random:0.5,0.25,0.25",
    )
    return make_lab(tmp_path_factory.mktemp("chips"), [chips])


@pytest.fixture(scope="session")
def tiles_lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """``tiles``: 8 image/mask pairs whose mask follows the image's first band."""
    tiles = Dataset("tiles", "segmentation_pairs", count=8, learnable=True, stem="t{i}")
    return make_lab(tmp_path_factory.mktemp("tiles"), [tiles])


def offline_schemas(mp: pytest.MonkeyPatch) -> None:
    """What the autouse fixture does, for fixtures wider than one test."""
    mp.setenv("EOTDL_SCHEMA_MIRROR", str(SCHEMA_MIRROR))
    mp.setenv("EOTDL_OFFLINE", "1")


def run(lab: Lab, dataset: str, cluster: str, **options: Any) -> dict[str, Any]:
    """A short job: tiny batches, two epochs, no progress display."""
    import eotdl

    settings: dict[str, Any] = {"epochs": 2, "batch_size": 4, "progress": False}
    settings.update(options)
    with pytest.MonkeyPatch.context() as mp:
        offline_schemas(mp)
        return eotdl.train(dataset, lab=lab.root, cluster=cluster, workers=2, **settings)


@pytest.fixture(scope="session")
def chips_model(chips_lab: Lab, cluster: str) -> dict[str, Any]:
    """``chips-small-cnn``: the classifier trained once, with every event it sent."""
    events: list[dict[str, Any]] = []
    item = run(chips_lab, "chips", cluster, model="small-cnn", on_event=events.append)
    item["_events"] = events
    return item


@pytest.fixture(scope="session")
def tiles_model(tiles_lab: Lab, cluster: str) -> dict[str, Any]:
    return run(tiles_lab, "tiles", cluster, task="segmentation", model="unet-small")


def lab_file(lab: Lab, model: str, href: str) -> Path:
    """The local file an asset href of ``models/<model>/`` points at."""
    return (lab.model(model).path / href).resolve()
