"""Opening a local raster file, refusing one that is truncated or corrupt.

Every builder opens its local rasters with :func:`open_raster`: a file cut short (a TIFF whose
directory, tags or pixel blocks reach past its end; a PNG with no IEND chunk) or one GDAL cannot
decode is an :class:`InputError` that names the file and says it is truncated or corrupt,
rather than a misleading "no CRS" or a traceback later. :func:`damage` is the structural check.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import RasterioError

from eotdl.errors import InputError

#: Bytes per value of each TIFF field type.
_TIFF_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}
_TIFF_OFFSETS = {273: 279, 324: 325}  # StripOffsets -> StripByteCounts, TileOffsets -> counts
_TIFF_MAX_DIRECTORIES = 10_000
_DAMAGED_HINT = "copy or download the file again from its origin"


@contextmanager
def open_raster(path: str | Path, what: str = "raster") -> Iterator[Any]:
    """Open a local raster with rasterio, refusing a truncated or corrupt file by name.

    Checked before GDAL sees it (GDAL opens a TIFF cut inside its tags as one with no CRS, and
    decodes a cut PNG without a word); a GDAL error while it is open names the file too.
    """
    file = Path(path)
    problem = damage(file)
    if problem:
        raise InputError(f"{file}: truncated or corrupt {what}: {problem}", hint=_DAMAGED_HINT)
    try:
        with rasterio.open(file) as src:
            yield src
    except RasterioError as exc:
        raise InputError(
            f"{file}: not a readable {what}; the file may be truncated or corrupt ({exc})",
            hint=_DAMAGED_HINT,
        ) from None


def damage(path: Path) -> str | None:
    """Why ``path`` is cut short or malformed (TIFF and PNG structure), or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
            size = path.stat().st_size
            if head[:8] == b"\x89PNG\r\n\x1a\n":
                handle.seek(max(0, size - 12))
                if handle.read()[4:8] != b"IEND":
                    return "the PNG does not end with an IEND chunk"
                return None
            if head[:2] in (b"II", b"MM") and len(head) >= 8:
                return _tiff_damage(handle, head, size)
    except (OSError, struct.error) as exc:
        return f"cannot read it ({exc})"
    return None


def _tiff_damage(handle: Any, head: bytes, size: int) -> str | None:
    """Walk the TIFF directories: every directory, out-of-line tag value and pixel block must
    lie inside the file."""
    order = "<" if head[:2] == b"II" else ">"
    magic = struct.unpack(order + "H", head[2:4])[0]
    if magic == 42:
        big, offset = False, struct.unpack(order + "I", head[4:8])[0]
    elif magic == 43 and len(head) >= 16:
        big, offset = True, struct.unpack(order + "Q", head[8:16])[0]
    else:
        return None  # not a TIFF after all: GDAL decides
    count_fmt, entry_size, word = ("Q", 20, "Q") if big else ("H", 12, "I")
    inline = 8 if big else 4
    seen: set[int] = set()
    while offset:
        if offset in seen or len(seen) >= _TIFF_MAX_DIRECTORIES:
            return "its directories form a loop"
        seen.add(offset)
        count_size = struct.calcsize(count_fmt)
        if offset + count_size > size:
            return f"a directory starts at byte {offset}, past the end of the file ({size} bytes)"
        handle.seek(offset)
        count = struct.unpack(order + count_fmt, handle.read(count_size))[0]
        length = count * entry_size + struct.calcsize(word)
        if offset + count_size + length > size:
            return f"the directory at byte {offset} is cut off at byte {size}"
        block = handle.read(length)
        values: dict[int, list[int]] = {}
        for index in range(count):
            entry = block[index * entry_size : (index + 1) * entry_size]
            code, kind = struct.unpack(order + "HH", entry[:4])
            number = struct.unpack(order + word, entry[4 : 4 + struct.calcsize(word)])[0]
            field = entry[4 + struct.calcsize(word) :]
            nbytes = _TIFF_TYPE_SIZES.get(kind, 1) * number
            data = field[:nbytes]
            if nbytes > inline:
                where = struct.unpack(order + word, field)[0]
                if where + nbytes > size:
                    return f"tag {code} reaches byte {where + nbytes}, past the end ({size} bytes)"
                if code in _TIFF_OFFSETS or code in _TIFF_OFFSETS.values():
                    handle.seek(where)
                    data = handle.read(nbytes)
            if kind in (3, 4, 16) and (code in _TIFF_OFFSETS or code in _TIFF_OFFSETS.values()):
                letter = {3: "H", 4: "I", 16: "Q"}[kind]
                values[code] = list(struct.unpack(f"{order}{number}{letter}", data))
        for starts, counts in _TIFF_OFFSETS.items():
            for start, length_ in zip(values.get(starts, []), values.get(counts, []), strict=False):
                if start and length_ and start + length_ > size:
                    end = start + length_
                    return f"its pixel data reaches byte {end}, past the end ({size} bytes)"
        offset = struct.unpack(order + word, block[-struct.calcsize(word) :])[0]
    return None
