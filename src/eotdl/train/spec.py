"""The job spec: everything that decides a training run, as JSON saved with the model.

Two runs with the same spec (and the same samples, code and library versions) give the same
weights, so the spec's digest names the run: its checkpoints live under
``checkpoints/<model name>/<run id>/`` in the lab's object store, and a run that stopped
(a lost worker, Ctrl-C) resumes from them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson

from eotdl import __version__
from eotdl.catalog import compute
from eotdl.errors import InputError

TASKS = ("classification", "segmentation")
OPTIMIZERS = ("adamw", "adam", "sgd")
LOCAL = compute.LOCAL
CUDA = compute.CUDA
#: Fields that do not change the weights, so they stay out of the run id.
_NOT_IN_RUN = {"cluster", "max_retries", "loader_workers", "created", "lab"}


def check_cluster(cluster: str) -> str:
    """``local``, ``cuda`` or a scheduler address (``tcp://HOST:8786``): the clusters a
    training job runs on (:func:`eotdl.catalog.compute.check_cluster` with GPUs)."""
    return compute.check_cluster(cluster, gpu=True)


@dataclass
class JobSpec:
    """A training job: the dataset version, its splits, the task, model and hyper-parameters."""

    dataset: str
    task: str
    model: str
    name: str
    version: str | None = None
    lab: str = ""
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    seed: int = 0
    cluster: str = LOCAL
    workers: int = 2
    bands: list[int | str] | None = None
    chip_size: int | None = None
    loader_workers: int = 0
    max_retries: int = 2
    #: split role → the ``ml-aoi:split`` value whose items play it.
    splits: dict[str, str] = field(
        default_factory=lambda: {"train": "train", "validate": "validate", "test": "test"}
    )
    #: Filled when the samples are resolved: how many per split, and their digest.
    samples: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    device: str = "cpu"
    eotdl_version: str = __version__
    torch_version: str = ""
    created: str = ""

    def check(self) -> JobSpec:
        """Raise InputError for a value no run can use; return self."""
        if self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}", hint=f"use one of {', '.join(TASKS)}")
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "workers": self.workers}
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a whole number of at least 1, not {value!r}")
        if not self.lr > 0:
            raise InputError(f"the learning rate must be positive, not {self.lr!r}")
        if self.loader_workers < 0 or self.max_retries < 0:
            raise InputError("loader_workers and max_retries cannot be negative")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(
                f"unknown optimizer {self.optimizer!r}", hint=f"use {', '.join(OPTIMIZERS)}"
            )
        if self.chip_size is not None and self.chip_size < 1:
            raise InputError(f"chip_size must be at least 1, not {self.chip_size}")
        check_cluster(self.cluster)
        return self

    def hyperparameters(self) -> dict[str, Any]:
        """What ``mlm:hyperparameters`` records."""
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.lr,
            "weight_decay": self.weight_decay,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "world_size": self.workers,
            "chip_size": self.chip_size,
        }

    @property
    def run_id(self) -> str:
        """A digest of what decides the weights (not where or how fast it runs)."""
        data = {k: v for k, v in self.to_dict().items() if k not in _NOT_IN_RUN}
        return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    @property
    def checkpoint_prefix(self) -> str:
        return f"checkpoints/{self.name}/{self.run_id}/"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def dumps(self) -> bytes:
        """Indented, key-sorted JSON."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSpec:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown job spec field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> JobSpec:
        """A spec saved with a model (``job.json``)."""
        try:
            data = orjson.loads(open(path, "rb").read())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a readable job spec: {exc}") from None
        return cls.from_dict(data)
