"""The runner's parts on their own: spec, models, metrics, rank failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eotdl.errors import InputError
from eotdl.train.metrics import confusion_metrics
from eotdl.train.models import MODELS, register_model, resolve_model
from eotdl.train.ranks import RankFailed, Rendezvous, worker_host
from eotdl.train.spec import JobSpec, check_cluster


def spec(**changes: object) -> JobSpec:
    base = JobSpec(dataset="chips", task="classification", model="small-cnn", name="m")
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_run_id_follows_what_decides_the_weights() -> None:
    assert spec().run_id == spec(cluster="tcp://h:8786", max_retries=5, created="x").run_id
    for change in ({"seed": 1}, {"workers": 3}, {"lr": 0.1}, {"version": "2.0.0"}):
        assert spec(**change).run_id != spec().run_id, change
    assert spec().checkpoint_prefix == f"checkpoints/m/{spec().run_id}/"
    assert JobSpec.from_dict(spec().to_dict()) == spec()


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"task": "detection"}, "unknown task"),
        ({"epochs": 0}, "epochs must be"),
        ({"lr": 0.0}, "learning rate"),
        ({"cluster": "yarn"}, "unknown cluster"),
    ],
)
def test_a_bad_spec_is_a_user_error(changes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        spec(**changes).check()


def test_clusters() -> None:
    assert check_cluster("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert worker_host("tcp://10.0.0.5:40123") == "10.0.0.5"
    assert Rendezvous("::1", 5).url == "tcp://[::1]:5"


def test_built_in_models_give_the_right_shapes() -> None:
    x = torch.zeros(2, 4, 16, 16)
    for name in ("small-cnn", "resnet-small"):
        assert MODELS[name].build(4, 3)(x).shape == (2, 3)
    assert MODELS["unet-small"].build(4, 3)(torch.zeros(2, 4, 18, 13)).shape == (2, 3, 18, 13)


def test_model_hooks() -> None:
    entry = resolve_model("eotdl.train.models:SmallCNN", "classification")
    assert entry.name == "eotdl.train.models:SmallCNN" and entry.architecture == "SmallCNN"
    assert resolve_model(lambda c, k: torch.nn.Linear(c, k), "classification").tasks == (
        "classification",
    )
    assert resolve_model(None, "segmentation").name == "unet-small"
    with pytest.raises(InputError, match="unknown model"):
        resolve_model("vgg", "classification")
    with pytest.raises(InputError, match="cannot import"):
        resolve_model("nowhere.at.all:factory", "classification")
    with pytest.raises(InputError, match="already registered"):
        register_model("small-cnn", MODELS["small-cnn"].factory, tasks=["x"], architecture="x")


def test_confusion_metrics() -> None:
    confusion = np.array([[3, 1], [0, 4]])
    found = confusion_metrics(confusion, loss_sum=4.0, task="classification")
    assert found["accuracy"] == 0.875 and found["loss"] == 0.5
    assert found["macro_f1"] == pytest.approx((6 / 7 + 8 / 9) / 2, abs=1e-6)
    seg = confusion_metrics(confusion, loss_sum=0.0, task="segmentation")
    assert seg["mean_iou"] == pytest.approx((3 / 4 + 4 / 5) / 2, abs=1e-6)
    assert confusion_metrics(np.zeros((2, 2)), 0.0, "classification") == {}


def test_which_rank_failures_are_worth_a_retry() -> None:
    import torch.distributed as dist

    assert RankFailed(0, dist.DistNetworkError("peer gone"), "").peer_gone
    assert RankFailed(0, RuntimeError("Connection closed by peer [127.0.0.1]:1"), "").peer_gone
    assert not RankFailed(1, ValueError("bad shape"), "").peer_gone
