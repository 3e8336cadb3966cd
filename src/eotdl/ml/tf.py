"""TensorFlow: a ``tf.data.Dataset`` of (image, target) (needs ``eotdl[tf]``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from eotdl.errors import InputError
from eotdl.ml.samples import SampleReader


def _tensorflow() -> Any:
    try:
        import tensorflow as tf
    except ImportError:
        raise InputError(
            "TensorFlow is not installed",
            hint="in the eotdl checkout: .venv/bin/pip install -e '.[tf]'",
        ) from None
    return tf


def to_tf_dataset(items: Sequence[dict[str, Any]], reader: SampleReader) -> Any:
    """Images as float32 (bands, rows, cols); targets as for to_numpy (detection: boxes and
    labels as two tensors). Samples are read lazily, one at a time, as TensorFlow asks."""
    tf = _tensorflow()
    items = list(items)
    image_spec = tf.TensorSpec(shape=(None, None, None), dtype=tf.float32)
    task = reader.spec.task

    def samples() -> Iterator[Any]:
        for item in items:
            image, target = reader(item)
            image = np.asarray(image, dtype=np.float32)
            if task is None:
                yield image
            elif task == "detection":
                yield image, {"boxes": target[0], "labels": target[1]}
            else:
                yield image, np.asarray(target)

    if task is None:
        signature: Any = image_spec
    elif task == "detection":
        signature = (
            image_spec,
            {
                "boxes": tf.TensorSpec(shape=(None, 4), dtype=tf.float32),
                "labels": tf.TensorSpec(shape=(None,), dtype=tf.int64),
            },
        )
    elif task == "segmentation":
        signature = (image_spec, tf.TensorSpec(shape=(None, None), dtype=tf.int64))
    elif task == "regression":
        signature = (image_spec, tf.TensorSpec(shape=(), dtype=tf.float64))
    else:
        signature = (image_spec, tf.TensorSpec(shape=(), dtype=tf.int64))
    return tf.data.Dataset.from_generator(samples, output_signature=signature)
