"""The samples of a job, resolved on the client through :mod:`eotdl.ml` and :mod:`eotdl.read`.

:func:`resolve_samples` reads the dataset's Items once, picks the items of each split
(``ml-aoi:split``), works out the classes from the label extension, the input bands and chip
size (from one sample), and per-band statistics for normalisation (from up to
:data:`STATS_SAMPLES` training chips). Items are slimmed to what a sample needs, so what is sent
to every rank is small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError
from eotdl.ml.dataset import Dataset, open_dataset
from eotdl.ml.labels import LABELS_ASSET, LabelSpec, band_indexes, image_asset
from eotdl.ml.samples import SampleReader
from eotdl.train.spec import JobSpec

STATS_SAMPLES = 64
#: Asset fields a sample needs (the rest, e.g. histograms, stays on the client).
_ASSET_FIELDS = ("href", "type", "roles", "eo:bands", "bands", "file:checksum")


@dataclass
class Samples:
    """What every rank needs to read the job's samples, and what the model item records."""

    train: list[dict[str, Any]]
    validate: list[dict[str, Any]]
    test: list[dict[str, Any]]
    reader: SampleReader
    classes: list[str]
    in_channels: int
    chip_size: int
    band_names: list[str]
    band_indexes: list[int] | None
    mean: list[float]
    std: list[float]
    dataset: Dataset = field(repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "validate": len(self.validate), "test": len(self.test)}

    def fingerprint(self) -> str:
        """A digest of the sample list (ids, splits, asset checksums or hrefs)."""
        digest = hashlib.sha256()
        for role in ("train", "validate", "test"):
            for item in getattr(self, role):
                assets = {k: a.get("file:checksum") or a["href"] for k, a in item["assets"].items()}
                digest.update(orjson.dumps([role, item["id"], assets], option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()[:16]


def open_job_dataset(spec: JobSpec) -> Dataset:
    """The spec's dataset, through the access layer (a lab folder, a site, any STAC)."""
    return open_dataset(spec.dataset, spec.version, lab=spec.lab or None)


def resolve_samples(spec: JobSpec, dataset: Dataset | None = None) -> Samples:
    """Resolve ``spec``'s samples; fills in its version, sample counts, chip size, fingerprint."""
    dataset = dataset or open_job_dataset(spec)
    items = dataset.items()
    if not items:
        raise InputError(f"{dataset.name} has no items")
    labels = dataset.labels(spec.task)
    if labels.task != spec.task:
        raise InputError(f"{dataset.name} has no {spec.task} labels")
    image_key = image_asset(items[0])
    by_split: dict[str, list[dict[str, Any]]] = {role: [] for role in spec.splits}
    roles = {value: role for role, value in spec.splits.items()}
    for item in items:
        split = (item.get("properties") or {}).get(SPLIT)
        role = roles.get(str(split).lower() if split else "")
        if role is not None:
            by_split[role].append(_slim(item, image_key, labels))
    if not by_split.get("train"):
        found = dataset.splits()
        raise InputError(
            f"{dataset.name} has no items in its {spec.splits['train']!r} split",
            hint=f"its splits: {found}; set ml-aoi:split (eotdl ingest --split …)",
        )
    classes = class_names(labels)
    if len(classes) < 2:
        raise InputError(
            f"{dataset.name}: {spec.task} needs at least two classes, found {classes}",
            hint="declare them in label:classes",
        )
    first_asset = by_split["train"][0]["assets"][image_key]
    indexes = band_indexes(first_asset, spec.bands)
    reader = dataset.reader(bands=indexes, task=spec.task, image_asset=image_key)
    first = reader.image(by_split["train"][0])
    chip = spec.chip_size or int(max(first.shape[-2:]))
    reader.chip_size = chip
    mean, std = band_statistics(reader, by_split["train"])
    samples = Samples(
        train=by_split["train"],
        validate=by_split.get("validate", []),
        test=by_split.get("test", []),
        reader=reader,
        classes=classes,
        in_channels=int(first.shape[0]),
        chip_size=chip,
        band_names=_band_names(first_asset, indexes, int(first.shape[0])),
        band_indexes=indexes,
        mean=mean,
        std=std,
        dataset=dataset,
    )
    spec.version = spec.version or dataset.version
    spec.chip_size = chip
    spec.samples = samples.counts()
    spec.fingerprint = samples.fingerprint()
    return samples


def class_names(labels: LabelSpec) -> list[str]:
    """The class names, in class-index order (segmentation: one per mask value mapped)."""
    if labels.task == "segmentation" and labels.values and not labels.classes:
        return [str(v) for v in sorted(labels.values, key=lambda v: labels.values[v])]
    return [str(c) for c in labels.classes]


def band_statistics(reader: SampleReader, items: list[dict[str, Any]]) -> tuple[list[float], ...]:
    """Per-band mean and standard deviation over up to STATS_SAMPLES evenly spread items."""
    step = max(1, len(items) // STATS_SAMPLES)
    chips = [reader.image(item).astype(np.float64) for item in items[::step][:STATS_SAMPLES]]
    stack = np.stack(chips)
    mean = stack.mean(axis=(0, 2, 3))
    std = stack.std(axis=(0, 2, 3))
    std[~(std > 1e-12)] = 1.0
    return [float(v) for v in mean], [float(v) for v in std]


def _slim(item: Mapping[str, Any], image_key: str, labels: LabelSpec) -> dict[str, Any]:
    assets = item.get("assets") or {}
    if image_key not in assets:
        raise InputError(f"item {item.get('id')!r} has no {image_key!r} asset")
    kept = {image_key: {k: v for k, v in assets[image_key].items() if k in _ASSET_FIELDS}}
    if labels.task == "segmentation":
        if LABELS_ASSET not in assets:
            raise InputError(f"item {item.get('id')!r} has no {LABELS_ASSET!r} mask asset")
        kept[LABELS_ASSET] = {k: v for k, v in assets[LABELS_ASSET].items() if k in _ASSET_FIELDS}
    properties = item.get("properties") or {}
    wanted = (labels.class_property, SPLIT)
    return {
        "id": str(item.get("id")),
        "properties": {k: properties[k] for k in wanted if k in properties},
        "assets": kept,
    }


def _band_names(asset: Mapping[str, Any], indexes: list[int] | None, count: int) -> list[str]:
    described = asset.get("eo:bands") or asset.get("bands") or []
    numbers = indexes or list(range(1, count + 1))
    names = []
    for number in numbers:
        entry = described[number - 1] if 0 < number <= len(described) else {}
        name = entry.get("common_name") or entry.get("name") if isinstance(entry, dict) else None
        names.append(str(name or f"b{number}"))
    return names
