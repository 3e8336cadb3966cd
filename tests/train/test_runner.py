"""Two-rank gloo DDP jobs on a two-worker cluster: training, failures, resuming, Ctrl-C."""

from __future__ import annotations

import functools
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from trainhooks import die_once, pause

from conftest import lab_file, run
from eotdl.catalog.lab import Lab
from eotdl.catalog.store import open_lab_store
from eotdl.train.runner import TrainingError
from eotdl.train.spec import JobSpec


def weights(lab: Lab, item: dict[str, Any]) -> dict[str, np.ndarray]:
    path = lab_file(lab, item["id"], item["assets"]["model"]["href"])
    state = torch.load(path, weights_only=True)
    return {k: v.numpy() for k, v in state.items()}


def checkpoints(lab: Lab, name: str) -> list[str]:
    return sorted(
        info.key.rsplit("/", 1)[-1] for info in open_lab_store(lab).list(f"checkpoints/{name}/")
    )


def test_classification_on_two_ranks(chips_lab: Lab, chips_model: dict[str, Any]) -> None:
    props = chips_model["properties"]
    assert props["mlm:hyperparameters"]["world_size"] == 2
    assert [r["epoch"] for r in props["eotdl:history"]] == [1, 2]
    test = props["eotdl:metrics"]["test"]
    assert set(test) == {"loss", "accuracy", "macro_f1"}
    assert test["accuracy"] >= 0.75  # two classes told apart by brightness
    confusion = props["eotdl:confusion"]["test"]  # rows: true class, columns: predicted
    assert len(confusion) == 2 and all(len(row) == 2 for row in confusion)
    total = sum(map(sum, confusion))
    assert total > 0 and abs((confusion[0][0] + confusion[1][1]) / total - test["accuracy"]) < 1e-6
    assert checkpoints(chips_lab, "chips-small-cnn") == ["epoch-0001.pt", "epoch-0002.pt"]
    kinds = [e["kind"] for e in chips_model["_events"]]
    assert kinds.count("start") == 1 and kinds.count("epoch") == 2 and "step" in kinds
    epoch = next(e for e in chips_model["_events"] if e["kind"] == "epoch")
    assert epoch["samples"] >= 8 and 0 <= epoch["load_share"] <= 1
    spec = JobSpec.load(chips_lab.model("chips-small-cnn").path / "job.json")
    assert (spec.dataset, spec.version, spec.task, spec.seed) == (
        "chips",
        "1.0.0",
        "classification",
        0,
    )
    assert spec.cluster.startswith("tcp://") and spec.workers == 2
    assert spec.samples == {"train": 8, "validate": 4, "test": 4}


def test_segmentation_on_two_ranks(tiles_lab: Lab, tiles_model: dict[str, Any]) -> None:
    props = tiles_model["properties"]
    assert props["mlm:architecture"] == "U-Net"
    assert props["mlm:tasks"] == ["segmentation", "semantic-segmentation"]
    classes = props["mlm:output"][0]["classification:classes"]
    assert [c["name"] for c in classes] == ["background", "water", "forest"]
    assert props["mlm:output"][0]["result"]["shape"] == [-1, 3, 16, 16]
    assert set(props["eotdl:metrics"]["test"]) == {"loss", "accuracy", "mean_iou"}
    assert len(weights(tiles_lab, tiles_model)) > 10


def test_a_rank_error_stops_the_job_without_retries(chips_lab: Lab, cluster: str) -> None:
    with pytest.raises(TrainingError) as caught:
        run(chips_lab, "chips", cluster, model=f"{__name__}:fails_in_training", name="broken")
    assert "rank" in str(caught.value) and "only in training" in str(caught.value)
    assert "Traceback (most recent" not in caught.value.message
    assert "raise ValueError" in str(caught.value.hint)


def test_a_lost_worker_resumes_to_the_same_weights(
    chips_lab: Lab, chips_model: dict[str, Any], cluster: str, tmp_path: Path
) -> None:
    marker = tmp_path / "died"
    events: list[dict[str, Any]] = []
    hook = functools.partial(die_once, str(marker), 1, 1)  # rank 1 dies after epoch 1
    item = run(
        chips_lab,
        "chips",
        cluster,
        model="small-cnn",
        name="chips-killed",
        on_epoch_end=[hook],
        on_event=events.append,
    )
    assert marker.read_text() == "rank 1 died after epoch 1\n"
    retry = next(e for e in events if e["kind"] == "retry")
    assert retry["attempt"] == 2 and retry["resume_epoch"] == 1
    starts = [e for e in events if e["kind"] == "start"]
    assert [(s["attempt"], s["epoch"]) for s in starts] == [(1, 0), (2, 1)]
    resumed, reference = weights(chips_lab, item), weights(chips_lab, chips_model)
    assert resumed.keys() == reference.keys()
    for key in reference:
        np.testing.assert_array_equal(resumed[key], reference[key], err_msg=key)


def test_ctrl_c_stops_the_ranks_and_the_same_job_resumes(chips_lab: Lab, cluster: str) -> None:
    main = threading.get_ident()
    stop = threading.Event()

    def press_ctrl_c_after_the_first_checkpoint() -> None:
        while not stop.wait(0.05):
            if checkpoints(chips_lab, "chips-stopped"):
                signal.pthread_kill(main, signal.SIGINT)
                return

    presser = threading.Thread(target=press_ctrl_c_after_the_first_checkpoint, daemon=True)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run(
                chips_lab,
                "chips",
                cluster,
                epochs=4,
                name="chips-stopped",
                on_epoch_end=[functools.partial(pause, 1.0)],
            )
    finally:
        stop.set()
        presser.join()
    done = checkpoints(chips_lab, "chips-stopped")
    assert done and "epoch-0004.pt" not in done
    assert not chips_lab.model("chips-stopped").exists()
    events: list[dict[str, Any]] = []
    item = run(chips_lab, "chips", cluster, epochs=4, name="chips-stopped", on_event=events.append)
    start = next(e for e in events if e["kind"] == "start")
    assert start["epoch"] >= 1 and len(item["properties"]["eotdl:history"]) == 4


def fails_in_training(in_channels: int, num_classes: int) -> torch.nn.Module:
    """A model that works in eval mode (the client's check) and fails while training."""

    class Broken(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = torch.nn.Linear(in_channels, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training:
                raise ValueError("this model breaks only in training")
            return self.head(x.mean(dim=(2, 3)))

    return Broken()
