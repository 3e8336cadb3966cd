"""NumPy arrays for scikit-learn: X (samples × features, or N×C×H×W) and y."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from eotdl.errors import InputError
from eotdl.ml.samples import SampleReader


def to_arrays(
    items: Sequence[dict[str, Any]],
    reader: SampleReader,
    *,
    flatten: bool = True,
    workers: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Read every sample (in parallel threads: rasterio releases the GIL) into (X, y).

    y holds class indices (classification), floats (regression), masks (segmentation),
    objects {"boxes", "labels"} (detection) or is empty when the dataset has no labels.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        samples = list(pool.map(reader, items))
    shapes = {image.shape for image, _ in samples}
    if len(shapes) > 1:
        shown = ", ".join("×".join(map(str, s)) for s in sorted(shapes)[:4])
        raise InputError(
            f"the images differ in shape ({shown}): they cannot be stacked into one array",
            hint="pass chip_size=N to read an N×N window of each",
        )
    x = np.stack([image for image, _ in samples])
    if flatten:
        x = x.reshape(len(samples), -1)
    task = reader.spec.task
    targets = [target for _, target in samples]
    if task is None:
        y = np.empty(0)
    elif task == "detection":
        y = np.empty(len(targets), dtype=object)
        boxes: Any
        for index, (boxes, labels) in enumerate(targets):
            y[index] = {"boxes": boxes, "labels": labels}  # type: ignore[call-overload]
    elif task == "segmentation":
        y = np.stack(targets)
    elif task == "regression":
        y = np.asarray(targets, dtype=np.float64)
    else:
        y = np.asarray(targets, dtype=np.int64)
    return x, y
