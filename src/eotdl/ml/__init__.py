"""Learning from datasets: :func:`open_dataset` (also ``eotdl.open_dataset``) turns a dataset
of a lab, a site or any STAC catalog into a :class:`Dataset`: its Items by split, and samples
(:mod:`~eotdl.ml.samples`, targets from the label extension in :mod:`~eotdl.ml.labels`, rasters
read from paths, HTTP or S3 in :mod:`~eotdl.ml.rasters`) for PyTorch (``.to_torch()``),
NumPy/scikit-learn (``.to_numpy()``) and TensorFlow (``.to_tf()``).

Names are imported on first use: torch and tensorflow only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.ml.dataset import Dataset, open_dataset

__all__ = ["Dataset", "open_dataset"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"Dataset": "eotdl.ml.dataset", "open_dataset": "eotdl.ml.dataset"}
)
