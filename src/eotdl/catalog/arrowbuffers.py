"""Arrow arrays from and to NumPy and Python values through their buffers.

pyarrow imports pandas (a quarter of a second) the first time it converts Python or NumPy
values to an array (``pyarrow.array``, ``pyarrow.scalar``, ``compute`` functions given a
Python value) or an array to NumPy (``to_numpy``), even when nothing is a pandas object.
A build that changed one item of a million spends more on that import than on the item, so
the code it runs builds and reads arrays here instead: a few lines of buffer arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def numpy_array(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """A numeric array of ``kind`` over ``values`` (1-D, no nulls)."""
    values = np.ascontiguousarray(values, dtype=kind.to_pandas_dtype())
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def string_array(values: Sequence[str]) -> pa.Array:
    """A string array of ``values``."""
    return binary_array([v.encode() for v in values]).cast(pa.string())


def binary_array(values: Sequence[bytes | None]) -> pa.Array:
    """A binary array of ``values`` (None: null)."""
    sizes = np.array([len(v) if v is not None else 0 for v in values], np.int32)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    valid = np.array([v is not None for v in values])
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    data = pa.py_buffer(b"".join(v for v in values if v is not None))
    nulls = int((~valid).sum())
    return pa.Array.from_buffers(
        pa.binary(), len(values), [mask, pa.py_buffer(offsets), data], null_count=nulls
    )


def numpy_of(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``values`` (numbers or booleans) as NumPy, as ``to_numpy(zero_copy_only=False)`` gives
    them: numbers with nulls as float64 with NaN (booleans with nulls: TypeError)."""
    kind = values.type
    if pa.types.is_boolean(kind):
        dtype = np.dtype(bool)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        dtype = np.dtype(kind.to_pandas_dtype())
    else:
        raise TypeError(f"no NumPy values for {kind}")
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = [_numpy_chunk(chunk, dtype) for chunk in chunks if len(chunk)]
    if not parts:
        return np.empty(0, dtype)
    if len(parts) > 1 and len({p.dtype for p in parts}) > 1:
        parts = [p.astype(np.float64) for p in parts]  # some chunks had nulls
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _numpy_chunk(values: pa.Array, dtype: np.dtype) -> np.ndarray:
    n = len(values)
    validity, data_buffer = values.buffers()[:2]
    if dtype.kind == "b":
        data = _bits(data_buffer, values.offset, n)
    else:
        data = np.frombuffer(data_buffer, dtype, count=n, offset=values.offset * dtype.itemsize)
    if values.null_count:
        if dtype.kind == "b":
            raise TypeError("booleans with nulls")
        data = data.astype(np.float64)
        data[~_bits(validity, values.offset, n)] = np.nan
    return data


def _bits(buffer: pa.Buffer | None, offset: int, n: int) -> np.ndarray:
    """A bitmap (least significant bit first) as booleans; no buffer: all set."""
    if buffer is None:
        return np.ones(n, bool)
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
    return bits[offset : offset + n].astype(bool)
