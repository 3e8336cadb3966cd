"""PyTorch: a ``torch.utils.data.Dataset`` over a dataset's Items (needs ``eotdl[torch]``).

Each sample is read when asked for (rasterio windows, local or remote), so a DataLoader with
workers reads in parallel; the dataset holds only Item dicts and is safe to send to workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from eotdl.errors import InputError
from eotdl.ml.samples import SampleReader

try:
    import torch
    from torch.utils.data import Dataset as _TorchBase
except ImportError:  # pragma: no cover - torch is an extra
    raise InputError(
        "PyTorch is not installed",
        hint="in the eotdl checkout: .venv/bin/pip install -e '.[torch]'",
    ) from None


def as_tensor(target: Any) -> Any:
    """A target as tensors: a class index or number, a mask, or {"boxes", "labels"}."""
    if target is None:
        return None
    if isinstance(target, tuple):
        boxes, labels = target
        return {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels)}
    if isinstance(target, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(target))
    if isinstance(target, float):
        return torch.tensor(target, dtype=torch.float32)
    return torch.tensor(int(target), dtype=torch.int64)


class TorchDataset(_TorchBase):
    """(image float32 tensor C×H×W, target) per Item; just the image when there is no label."""

    def __init__(
        self,
        items: Sequence[dict[str, Any]],
        reader: SampleReader,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self.items = list(items)
        self.reader = reader
        self.transform = transform
        self.target_transform = target_transform

    @property
    def classes(self) -> list[Any]:
        return self.reader.spec.classes

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Any:
        item = self.items[index]
        array, target = self.reader(item)
        image = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        if self.transform is not None:
            image = self.transform(image)
        if target is None and self.reader.spec.task is None:
            return image
        label = as_tensor(target)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label


def detection_collate(batch: list[tuple[Any, Any]]) -> tuple[Any, list[Any]]:
    """A DataLoader ``collate_fn`` for detection: images stacked, targets kept as a list."""
    images = torch.stack([image for image, _ in batch])
    return images, [target for _, target in batch]
