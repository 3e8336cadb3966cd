"""Arrow arrays built and read through their buffers equal pyarrow's own conversions, with
nulls, slices (offsets) and chunks, and import no pandas."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from eotdl.catalog.arrowbuffers import binary_array, numpy_array, numpy_of, string_array


@pytest.mark.parametrize(
    "array",
    [
        pa.array([1.5, None, -2.0, 7.25]),
        pa.array([3, None, 5], pa.int64()),
        pa.array([1, 2, 3], pa.uint64()),
        pa.array([0.5, 1.5, 2.5], pa.float32()),
        pa.array([True, False, True, True, False, False, True, False, True]),
        pa.array([], pa.float64()),
    ],
)
@pytest.mark.parametrize("cut", [None, (1, 2), (2, 0)])
def test_numpy_of_is_to_numpy(array: pa.Array, cut: tuple[int, int] | None) -> None:
    if cut is not None:
        array = array.slice(*cut)
    expected = array.to_numpy(zero_copy_only=False)
    got = numpy_of(array)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_numpy_of_a_chunked_array_with_nulls_in_one_chunk() -> None:
    chunked = pa.chunked_array([pa.array([1, 2], pa.int64()), pa.array([None, 4], pa.int64())])
    np.testing.assert_array_equal(numpy_of(chunked), [1.0, 2.0, np.nan, 4.0])
    assert numpy_of(pa.chunked_array([], pa.int64())).dtype == np.int64


def test_numpy_of_refuses_what_it_cannot_give() -> None:
    with pytest.raises(TypeError):
        numpy_of(pa.array(["a"]))
    with pytest.raises(TypeError):
        numpy_of(pa.array([True, None]))


def test_arrays_built_from_buffers_equal_pyarrow_arrays() -> None:
    values = np.array([5, 1, 9], np.uint64)
    assert numpy_array(values, pa.uint64()).equals(pa.array(values, pa.uint64()))
    assert numpy_array(np.arange(3), pa.int64()).equals(pa.array([0, 1, 2], pa.int64()))
    texts = ["synthetic-0001", "", "ünïcödé"]
    assert string_array(texts).equals(pa.array(texts, pa.string()))
    blobs = [b"\x01\x02", None, b"", b"\xff" * 10, None, None, None, None, b"x"]
    built = binary_array(blobs)
    assert built.equals(pa.array(blobs, pa.binary())) and built.null_count == 5
    built.validate(full=True)


def test_they_import_no_pandas() -> None:
    code = (
        "import sys, numpy as np, pyarrow as pa, pyarrow.compute as pc\n"
        "from eotdl.catalog.arrowbuffers import numpy_array, numpy_of, string_array\n"
        "ids = string_array(['a', 'b'])\n"
        "keys = numpy_of(pc.sort_indices(numpy_array(np.array([3, 1]), pa.uint64())))\n"
        "hit = numpy_of(pc.is_in(ids, value_set=string_array(['b'])))\n"
        "assert list(keys) == [1, 0] and list(hit) == [False, True]\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
