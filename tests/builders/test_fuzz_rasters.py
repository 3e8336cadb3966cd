"""Truncated, corrupt and random rasters: every builder's opener refuses them by name.

:func:`eotdl.builders.rasterfiles.open_raster` checks a TIFF's directories, tag values and pixel
blocks, and a PNG's last chunk, before GDAL sees the file; hypothesis cuts real files at random
places and flips random bytes. The item functions either describe the file or raise
InputError naming it; never another exception, never a misleading "no CRS".
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from eotdl.builders.rasterfiles import damage
from eotdl.builders.rasterinfo import image_item, raster_item
from eotdl.errors import InputError
from rastergen import write_tif

FUZZ = settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _tiff(**options: object) -> bytes:
    with tempfile.TemporaryDirectory() as top:
        path = write_tif(Path(top) / "a.tif", seed=1, bands=2, size=64, **options)  # type: ignore[arg-type]
        return Path(path).read_bytes()


def _png() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


TIFF = _tiff()
TILED = _tiff(dtype="uint8")
PNG = _png()


def _write(data: bytes, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="eotdl-fuzz-raster-"))
    path = folder / name
    path.write_bytes(data)
    return path


def test_whole_files_have_no_damage(tmp_path: Path) -> None:
    for name, data in (("a.tif", TIFF), ("b.tif", TILED), ("c.png", PNG)):
        (tmp_path / name).write_bytes(data)
        assert damage(tmp_path / name) is None


@pytest.mark.parametrize("original", ["tiff", "tiled", "png"])
def test_every_cut_is_found(tmp_path: Path, original: str) -> None:
    """A file cut anywhere past its first bytes is damaged (GDAL would open some of these cuts
    as a TIFF with no CRS, or decode the PNG without a word)."""
    data = {"tiff": TIFF, "tiled": TILED, "png": PNG}[original]
    path = tmp_path / "x"
    for cut in range(16, len(data), max(1, len(data) // 97)):
        path.write_bytes(data[:cut])
        assert damage(path), cut


@FUZZ
@given(
    st.sampled_from(["tiff", "tiled", "png"]),
    st.integers(min_value=0, max_value=200_000),
    st.lists(st.tuples(st.integers(0, 200_000), st.integers(0, 255)), max_size=4),
)
def test_cut_or_flipped_rasters_are_described_or_refused(
    original: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray({"tiff": TIFF, "tiled": TILED, "png": PNG}[original])
    for where, value in flips:
        data[where % len(data)] = value
    data = data[: cut % (len(data) + 1)]
    path = _write(bytes(data), "x.png" if original == "png" else "x.tif")
    try:
        for describe in (
            lambda: raster_item(path, "x", datetime="2020-01-01"),
            lambda: image_item(path, "x", datetime="2020-01-01"),
        ):
            try:
                describe()
            except InputError as exc:
                assert str(path) in str(exc)
    finally:
        path.unlink()
        path.parent.rmdir()


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([b"", b"II*\x00", b"MM\x00*", b"II+\x00"]))
def test_random_bytes_are_refused(data: bytes, magic: bytes) -> None:
    path = _write(magic + data, "x.tif")
    try:
        with pytest.raises(InputError, match=str(path)):
            raster_item(path, "x", datetime="2020-01-01")
    finally:
        path.unlink()
        path.parent.rmdir()
