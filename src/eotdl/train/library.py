"""The lab's trained models: list them, download one, load one to run it.

A model is named like a dataset: ``NAME`` in a lab folder (``models/NAME/``), ``NAME`` on a
built site (``--lab URL``: ``models/NAME/collection.json`` there), or given by location: a
model folder (the lab's, or one written by ``eotdl models get``) or a ``collection.json`` URL.
Everything is read through :mod:`eotdl.read`; weights are verified against their checksum.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eotdl.catalog.lab import Lab, locate_lab_or_site
from eotdl.catalog.locations import Reader, join
from eotdl.errors import InputError
from eotdl.ml.dataset import Dataset, open_dataset
from eotdl.read.download import GetResult, get
from eotdl.storage.hashing import sha256_of_checksum
from eotdl.train.metrics import main_metric
from eotdl.train.mlm import MODEL_ASSET


@dataclass
class ModelSummary:
    """One line of ``eotdl models list``."""

    name: str
    task: str
    model: str
    architecture: str
    dataset: str
    metric: str
    value: float | None
    parameters: int | None
    created: str

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def summarise(name: str, item: dict[str, Any]) -> ModelSummary:
    """What a model's Item says about it, in one line."""
    props = item.get("properties") or {}
    tasks = props.get("mlm:tasks") or [""]
    task = str(tasks[0])
    dataset = props.get("eotdl:dataset") or {}
    version = dataset.get("version")
    metric = main_metric(task)
    value = ((props.get("eotdl:metrics") or {}).get("test") or {}).get(metric)
    return ModelSummary(
        name=name,
        task=task,
        model=str(props.get("eotdl:model") or ""),
        architecture=str(props.get("mlm:architecture") or ""),
        dataset=f"{dataset.get('name', '')}@{version}" if version else str(dataset.get("name", "")),
        metric=metric,
        value=float(value) if isinstance(value, int | float) else None,
        parameters=props.get("mlm:total_parameters"),
        created=str(props.get("created") or ""),
    )


def list_models(lab: Lab | str | os.PathLike[str] | None = None) -> list[ModelSummary]:
    """Every model of a lab folder (found by :meth:`Lab.locate`: default ``$EOTDL_LAB``, else
    the lab around the current folder)."""
    the_lab = Lab.locate(lab)
    found = []
    for folder in the_lab.models():
        item = next(folder.iter_items(), None)
        if item is not None:
            found.append(summarise(folder.name, item))
    return found


def model_location(target: str, lab: Lab | str | os.PathLike[str] | None = None) -> str:
    """Where a model's ``collection.json`` (or folder) is, from a name or a location."""
    if lab is None and (
        "://" in target or target.endswith(".json") or os.path.isdir(target) or "/" in target
    ):
        return target
    where = locate_lab_or_site(lab)
    if isinstance(where, Lab):
        the_lab = where
        folder = the_lab.model(target)
        if not folder.exists():
            names = ", ".join(the_lab.model_names()) or "none"
            raise InputError(
                f"no model {target!r} in the lab {the_lab.root}", hint=f"models: {names}"
            )
        return str(folder.path)
    return join(where, f"models/{target}/collection.json")


def open_model(target: str, lab: Lab | str | os.PathLike[str] | None = None) -> Dataset:
    """The model's folder or collection, opened like a dataset (one Item: the model)."""
    return open_dataset(model_location(target, lab))


def model_item(target: str, lab: Lab | str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The model's Item, asset hrefs absolute."""
    opened = open_model(target, lab)
    for item in opened.items():
        if MODEL_ASSET in (item.get("assets") or {}):
            return item
    raise InputError(f"{opened.location} has no model item (no {MODEL_ASSET!r} asset)")


def get_model(
    target: str,
    out: str | os.PathLike[str] | None = None,
    lab: Lab | str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> GetResult:
    """Download a model (its Item, weights and job spec, verified) into ``out`` (default:
    a folder named like the model, ``./NAME``, in the current folder)."""
    location = model_location(target, lab)
    return get(location, out if out is not None else Path(Path(target).name), progress=progress)


def read_weights(item: dict[str, Any]) -> bytes:
    """The model asset's bytes, checked against ``file:checksum``."""
    asset = (item.get("assets") or {}).get(MODEL_ASSET) or {}
    href = asset.get("href")
    if not isinstance(href, str):
        raise InputError(f"model {item.get('id')!r} has no {MODEL_ASSET!r} asset href")
    data = Reader().read_bytes(href)
    checksum = asset.get("file:checksum")
    if isinstance(checksum, str) and checksum:
        if hashlib.sha256(data).hexdigest() != sha256_of_checksum(checksum):
            raise InputError(
                f"the weights at {href} do not match their file:checksum",
                hint="download the model again (eotdl models get)",
            )
    return data


def load_state(item: dict[str, Any]) -> dict[str, Any]:
    """The model's state dict (read with ``weights_only``: tensors only, no code runs)."""
    import torch

    state: dict[str, Any] = torch.load(io.BytesIO(read_weights(item)), weights_only=True)
    return state
