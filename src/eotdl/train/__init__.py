"""The Dask runner: train PyTorch models on a lab's datasets, save them as STAC (MLM).

``eotdl.train("land-cover", task="classification", model="small-cnn", epochs=2)`` returns the
model's STAC Item. ``eotdl.train`` is both this package and that function: the package is
callable, so the name works whichever way it was reached (``import eotdl.train.models`` makes
the attribute the package, which then calls :func:`eotdl.train.runner.train`).
Nothing heavy (torch, distributed) is imported until a job runs.

Besides :func:`train`: :func:`list_models` and :func:`get_model` (``eotdl models list|get``),
:func:`load_model` (a trained model ready to predict), :func:`predict` (``eotdl predict``),
:func:`register_model` (a model factory of your own, by name) and :class:`TrainingError` (a
job that failed). Names are imported on first use.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.train.library import get_model, list_models
    from eotdl.train.models import register_model
    from eotdl.train.prediction import load_model, predict
    from eotdl.train.runner import TrainingError

__all__ = [
    "TrainingError",
    "get_model",
    "list_models",
    "load_model",
    "predict",
    "register_model",
    "train",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "get_model": "eotdl.train.library",
        "list_models": "eotdl.train.library",
        "register_model": "eotdl.train.models",
        "load_model": "eotdl.train.prediction",
        "predict": "eotdl.train.prediction",
        "TrainingError": "eotdl.train.runner",
    },
)


def train(dataset: str, **options: Any) -> dict[str, Any]:
    """Train a model on ``dataset[@version]``; see :func:`eotdl.train.runner.train`."""
    from eotdl.train.runner import train as run

    return run(dataset, **options)


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`train`."""

    def __call__(self, dataset: str, **options: Any) -> dict[str, Any]:
        return train(dataset, **options)


sys.modules[__name__].__class__ = _CallableModule
