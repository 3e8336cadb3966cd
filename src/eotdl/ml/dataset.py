"""``eotdl.open_dataset``: a dataset of a lab, a site or any STAC catalog, ready to learn from.

ds = eotdl.open_dataset("eurosat", lab="https://example.org/lab")
ds.items(split="train")                # Item dicts, asset hrefs absolute
ds.download("data/eurosat")            # verified, resumable; open_dataset("data/eurosat")
train = ds.to_torch("train", bands=["red", "green", "blue"])
X, y = ds.to_numpy("train")            # for scikit-learn
tf_ds = ds.to_tf("train")              # when TensorFlow is installed
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eotdl.catalog.vocabulary import item_split
from eotdl.errors import InputError
from eotdl.ml.labels import LabelSpec, label_spec
from eotdl.ml.rasters import RasterSource
from eotdl.ml.samples import SampleReader
from eotdl.read.download import GetResult, get_dataset
from eotdl.read.filters import ItemFilter, parse_keys
from eotdl.read.finding import Located, locate

if TYPE_CHECKING:
    import numpy as np

    from eotdl.catalog.lab import Lab


class Dataset:
    """A dataset found by :func:`open_dataset`: its Items, downloads and ML loaders."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self._items: list[dict[str, Any]] | None = None
        self._spec: LabelSpec | None = None

    def __repr__(self) -> str:
        version = f"@{self.version}" if self.version else ""
        return f"Dataset({self.name}{version} at {self.location})"

    @property
    def name(self) -> str:
        return self.located.name

    @property
    def version(self) -> str | None:
        return self.located.version

    @property
    def location(self) -> str:
        """Where its ``collection.json`` is."""
        return self.located.location

    @property
    def collection(self) -> dict[str, Any]:
        return self.located.collection

    def items(
        self,
        split: str | None = None,
        *,
        bbox: str | Sequence[float] | None = None,
        datetime: str | None = None,
    ) -> list[dict[str, Any]]:
        """The Items (all, or of one split / place / time), asset hrefs absolute."""
        if self._items is None:
            self._items = list(self.located.iter_items())
        flt = ItemFilter.of(split, bbox, datetime)
        if flt.empty:
            return list(self._items)
        return [item for item in self._items if flt.matches(item)]

    def splits(self) -> dict[str, int]:
        """How many Items each split holds (``None`` for Items in none)."""
        counts = Counter(item_split(item) for item in self.items())
        return {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}

    def labels(self, task: str | None = None) -> LabelSpec:
        """The task and classes, from the label extension."""
        if task is not None:
            return label_spec(self.collection, self.items(), task)
        if self._spec is None:
            self._spec = label_spec(self.collection, self.items())
        return self._spec

    @property
    def classes(self) -> list[Any]:
        return self.labels().classes

    @property
    def task(self) -> str | None:
        return self.labels().task

    def download(
        self,
        out: str | os.PathLike[str] | None = None,
        *,
        split: str | None = None,
        bbox: str | Sequence[float] | None = None,
        datetime: str | None = None,
        assets: str | Iterable[str] | None = None,
        workers: int = 16,
        progress: bool = False,
    ) -> GetResult:
        """Download (verified, resumable) into ``out``; read it back with open_dataset(out)."""
        from eotdl.read.download import default_folder

        folder = Path(out) if out is not None else Path(default_folder(self.located))
        flt = ItemFilter.of(split, bbox, datetime)
        return get_dataset(
            self.located, folder, flt, parse_keys(assets), workers=workers, progress=progress
        )

    def reader(
        self,
        *,
        bands: Sequence[int | str] | None = None,
        chip_size: int | None = None,
        task: str | None = None,
        image_asset: str | None = None,
    ) -> SampleReader:
        """What reads (image, target) pairs from this dataset's Items."""
        return SampleReader(
            self.labels(task),
            bands=bands,
            chip_size=chip_size,
            image_key=image_asset,
            source=RasterSource(self.located.reader.endpoint_url),
        )

    def _split_items(self, split: str | None) -> list[dict[str, Any]]:
        items = self.items(split)
        if not items:
            where = f" in split {split!r}" if split else ""
            raise InputError(
                f"{self.name} has no items{where}",
                hint=f"its splits: {self.splits()}",
            )
        return items

    def to_torch(
        self,
        split: str | None = None,
        *,
        bands: Sequence[int | str] | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        chip_size: int | None = None,
        task: str | None = None,
        image_asset: str | None = None,
    ) -> Any:
        """A ``torch.utils.data.Dataset`` of (image tensor, target) (needs ``eotdl[torch]``)."""
        from eotdl.ml.torch import TorchDataset

        reader = self.reader(bands=bands, chip_size=chip_size, task=task, image_asset=image_asset)
        return TorchDataset(self._split_items(split), reader, transform, target_transform)

    def to_numpy(
        self,
        split: str | None = None,
        *,
        bands: Sequence[int | str] | None = None,
        chip_size: int | None = None,
        flatten: bool = True,
        task: str | None = None,
        image_asset: str | None = None,
        workers: int = 8,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) arrays for scikit-learn: X is (n, features) when ``flatten``, else
        (n, bands, rows, cols)."""
        from eotdl.ml.numpy import to_arrays

        reader = self.reader(bands=bands, chip_size=chip_size, task=task, image_asset=image_asset)
        return to_arrays(self._split_items(split), reader, flatten=flatten, workers=workers)

    def to_tf(
        self,
        split: str | None = None,
        *,
        bands: Sequence[int | str] | None = None,
        chip_size: int | None = None,
        task: str | None = None,
        image_asset: str | None = None,
    ) -> Any:
        """A ``tf.data.Dataset`` of (image, target) (needs ``eotdl[tf]``)."""
        from eotdl.ml.tf import to_tf_dataset

        reader = self.reader(bands=bands, chip_size=chip_size, task=task, image_asset=image_asset)
        return to_tf_dataset(self._split_items(split), reader)


def open_dataset(
    name_or_url: str | os.PathLike[str],
    version: str | None = None,
    lab: Lab | str | os.PathLike[str] | None = None,
    *,
    endpoint_url: str | None = None,
) -> Dataset:
    """Open a dataset: ``NAME[@VERSION]`` on ``lab`` (a site URL or folder, ``s3://``, a lab
    folder; default ``$EOTDL_LAB`` or the lab around the current folder), a dataset folder
    (e.g. written by ``eotdl get``), or the location of any STAC ``collection.json``."""
    return Dataset(locate(os.fspath(name_or_url), version, lab, endpoint_url=endpoint_url))
