"""``eotdl predict MODEL IMAGE``: run a trained model over a GeoTIFF, write a class GeoTIFF.

The image is cut into chips of the model's input size (the last ones padded with zeros),
normalised as ``mlm:input`` says, and run in batches. The output has the image's size, CRS
and transform, one band of class indices: per pixel for a segmentation model, per chip for a
classifier (each chip's window filled with its class). The class names are in its tags.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from eotdl.catalog.lab import Lab
from eotdl.errors import InputError
from eotdl.train.library import load_state, model_item
from eotdl.train.models import Factory, resolve_model


@dataclass
class LoadedModel:
    """A model ready to run, and what its Item says about its input and output."""

    item: dict[str, Any]
    module: Any
    task: str
    classes: list[str]
    in_channels: int
    chip_size: int
    mean: np.ndarray
    std: np.ndarray
    band_indexes: list[int] | None


def load_model(
    target: str, lab: Lab | str | os.PathLike[str] | None = None, factory: Factory | None = None
) -> LoadedModel:
    """Build the model its Item names (``eotdl:model``, or ``factory``) and load its weights."""
    item = model_item(target, lab)
    props = item.get("properties") or {}
    try:
        tasks = list(props["mlm:tasks"])
        model_input = props["mlm:input"][0]
        model_output = props["mlm:output"][0]
        shape = model_input["input"]["shape"]
        classes = [str(c.get("name") or c["value"]) for c in model_output["classification:classes"]]
    except (KeyError, IndexError, TypeError) as exc:
        raise InputError(
            f"model {item.get('id')!r}: its MLM fields are incomplete ({exc})"
        ) from None
    task = "segmentation" if "segmentation" in tasks else "classification"
    in_channels, chip = int(shape[1]), int(shape[-1])
    scaling = [s for s in model_input.get("value_scaling") or [] if s.get("type") == "z-score"]
    mean = np.array([s["mean"] for s in scaling] or [0.0] * in_channels, dtype=np.float32)
    std = np.array([s["stddev"] for s in scaling] or [1.0] * in_channels, dtype=np.float32)
    name = props.get("eotdl:model")
    if factory is None and not name:
        raise InputError(f"model {item.get('id')!r} names no eotdl:model", hint="pass factory=")
    entry = resolve_model(factory or str(name), task)
    module = entry.build(in_channels, len(classes))
    try:
        module.load_state_dict(load_state(item))
    except RuntimeError as exc:
        raise InputError(
            f"the weights of {item.get('id')!r} do not fit {entry.name}: {exc}"
        ) from None
    module.eval()
    indexes = props.get("eotdl:band_indexes")
    return LoadedModel(
        item,
        module,
        task,
        classes,
        in_channels,
        chip,
        mean.reshape(-1, 1, 1),
        std.reshape(-1, 1, 1),
        list(indexes) if indexes else None,
    )


def chip_windows(width: int, height: int, size: int) -> Iterator[Window]:
    """Windows of ``size``×``size`` covering the image, row by row."""
    for row in range(0, height, size):
        for col in range(0, width, size):
            yield Window(col, row, size, size)


def default_output(model: str, image: str | os.PathLike[str]) -> Path:
    """Where :func:`predict` writes when told nowhere: ``IMAGE-MODEL.tif`` beside IMAGE."""
    source = Path(image)
    return source.with_name(f"{source.stem}-{Path(model).name}.tif")


def predict(
    model: str,
    image: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    lab: Lab | str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    factory: Factory | None = None,
) -> dict[str, Any]:
    """Run ``model`` on ``image``; write the class raster to ``out`` (default:
    ``IMAGE-MODEL.tif`` beside the image); return a summary."""
    import torch

    loaded = load_model(model, lab, factory)
    target = Path(out) if out is not None else default_output(model, image)
    target.parent.mkdir(parents=True, exist_ok=True)
    counts = np.zeros(len(loaded.classes), dtype=np.int64)
    try:
        src = rasterio.open(image)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read the image {image}: {exc}") from None
    with src, _atomic_path(target) as tmp:
        indexes = loaded.band_indexes or list(range(1, src.count + 1))
        if len(indexes) != loaded.in_channels or max(indexes) > src.count:
            raise InputError(
                f"{image} has {src.count} band(s); the model reads {loaded.in_channels}"
                + (f" (bands {indexes})" if loaded.band_indexes else ""),
            )
        dtype = "uint8" if len(loaded.classes) < 256 else "uint16"
        profile = {
            "driver": "GTiff",
            "width": src.width,
            "height": src.height,
            "count": 1,
            "dtype": dtype,
            "crs": src.crs,
            "transform": src.transform,
            "compress": "deflate",
        }
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.update_tags(1, **{f"class_{i}": name for i, name in enumerate(loaded.classes)})
            dst.set_band_description(1, "class")
            windows = list(chip_windows(src.width, src.height, loaded.chip_size))
            for start in range(0, len(windows), batch_size):
                batch = windows[start : start + batch_size]
                chips = np.stack(
                    [src.read(indexes, window=w, boundless=True, fill_value=0) for w in batch]
                ).astype(np.float32)
                tensor = torch.from_numpy((chips - loaded.mean) / loaded.std)
                with torch.no_grad():
                    predicted = loaded.module(tensor).argmax(dim=1).numpy()
                for window, classes in zip(batch, predicted, strict=True):
                    rows = min(loaded.chip_size, src.height - int(window.row_off))
                    cols = min(loaded.chip_size, src.width - int(window.col_off))
                    if loaded.task == "classification":
                        block = np.full((rows, cols), int(classes), dtype=dtype)
                    else:
                        block = classes[:rows, :cols].astype(dtype)
                    counts += np.bincount(block.ravel(), minlength=len(counts))[: len(counts)]
                    dst.write(block, 1, window=Window(window.col_off, window.row_off, cols, rows))
    return {
        "model": str(loaded.item.get("id")),
        "image": os.fspath(image),
        "output": str(target),
        "task": loaded.task,
        "width": src.width,
        "height": src.height,
        "classes": loaded.classes,
        "pixels": {name: int(n) for name, n in zip(loaded.classes, counts, strict=True)},
    }


@contextlib.contextmanager
def _atomic_path(target: Path) -> Iterator[str]:
    """A temporary path beside ``target``, renamed over it when the block succeeds."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tif", dir=target.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
