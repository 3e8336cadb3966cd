"""The Dask runner: train PyTorch models on a lab's datasets, save them as STAC (MLM).

``eotdl.train("land-cover", task="classification", model="small-cnn", epochs=2)`` returns the
model's STAC Item. ``eotdl.train`` is both this package and that function: the package is
callable, so the name works whichever way it was reached (``import eotdl.train.models`` makes
the attribute the package, which then calls :func:`eotdl.train.runner.train`).
Nothing heavy (torch, distributed) is imported until a job runs.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["train"]


def train(dataset: str, **options: Any) -> dict[str, Any]:
    """Train a model on ``dataset[@version]``; see :func:`eotdl.train.runner.train`."""
    from eotdl.train.runner import train as run

    return run(dataset, **options)


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`train`."""

    def __call__(self, dataset: str, **options: Any) -> dict[str, Any]:
        return train(dataset, **options)


sys.modules[__name__].__class__ = _CallableModule
