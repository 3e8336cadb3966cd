"""Reading chips and label files from local paths, ``http(s)://`` or ``s3://``.

Rasters are read with rasterio windows: GDAL's own range requests for HTTP, and for S3 a
Python opener over :mod:`eotdl.storage` (the one seam for object stores), so only the bytes a
window needs are fetched from a large COG, and a small chip in one request.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import rasterio
from rasterio.io import DatasetReader
from rasterio.windows import Window

from eotdl.catalog.locations import Reader, gdal_http_options, scheme
from eotdl.errors import InputError
from eotdl.storage import ObjectStore

#: Objects up to this size are fetched whole in one request; larger ones block by block.
WHOLE = 8 * 1024 * 1024
BLOCK = 512 * 1024


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over an object of a store (whole, or cached blocks)."""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        super().__init__()
        self.store = store
        self.key = key
        self.size = size
        self.position = 0
        self._blocks: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self.position = offset
        elif whence == 1:
            self.position += offset
        else:
            self.position = self.size + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is None:
            step = self.size if self.size <= WHOLE else BLOCK
            block = self.store.read_range(self.key, index * step, step)
            if len(self._blocks) > 64:
                self._blocks.clear()
            self._blocks[index] = block
        return block

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self.size - self.position))
        step = self.size if self.size <= WHOLE else BLOCK
        done = 0
        while done < wanted:
            index, offset = divmod(self.position, max(step, 1))
            block = self._block(index)
            count = min(wanted - done, len(block) - offset)
            if count <= 0:
                break
            view[done : done + count] = block[offset : offset + count]
            done += count
            self.position += count
        return done


class _StoreOpener:
    """A rasterio opener for one object: only that object exists (no sidecar files)."""

    def __init__(self, store: ObjectStore, key: str, url: str) -> None:
        self.store = store
        self.key = key
        self.url = url
        self._size: int | None = None

    def _object_size(self) -> int:
        if self._size is None:
            info = self.store.head(self.key)
            if info is None:
                raise FileNotFoundError(self.url)
            self._size = info.size
        return self._size

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> RangeFile:
        if path != self.url:
            raise FileNotFoundError(path)
        return RangeFile(self.store, self.key, self._object_size())

    def isfile(self, path: str) -> bool:
        return path == self.url

    def isdir(self, path: str) -> bool:
        return False

    def ls(self, path: str) -> list[str]:
        return []

    def mtime(self, path: str) -> int:
        return 0

    def size(self, path: str) -> int:
        if path != self.url:
            raise FileNotFoundError(path)
        return self._object_size()


class RasterSource:
    """Opens rasters wherever they are; safe to pickle into DataLoader worker processes."""

    def __init__(self, endpoint_url: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self._reader: Reader | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"endpoint_url": self.endpoint_url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state.get("endpoint_url"))  # type: ignore[misc]

    @property
    def reader(self) -> Reader:
        """A reader (and its S3 clients) of this process: clients are never shared by forks."""
        with self._lock:
            if self._reader is None or self._pid != os.getpid():
                self._reader = Reader(self.endpoint_url)
                self._pid = os.getpid()
            return self._reader

    @contextmanager
    def open(self, href: str) -> Iterator[DatasetReader]:
        """The raster at ``href``, open."""
        kind = scheme(href)
        try:
            if kind == "file":  # no GDAL settings to change: skip the Env (it costs per call)
                with rasterio.open(href) as dataset:
                    yield dataset
                return
            with rasterio.Env(**gdal_http_options(href)):
                if kind == "s3":
                    store, key = self.reader.s3_object(href)
                    with rasterio.open(href, opener=_StoreOpener(store, key, href)) as dataset:
                        yield dataset
                else:
                    with rasterio.open("/vsicurl/" + href) as dataset:
                        yield dataset
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(
                f"cannot read the raster {href}: {exc}",
                hint="is the file there? `eotdl get` downloads a dataset for local reading",
            ) from None

    def read(
        self,
        href: str,
        bands: Sequence[int] | None = None,
        size: int | None = None,
    ) -> np.ndarray:
        """Bands (1-based) of a raster as (bands, rows, cols); ``size`` reads a centred
        ``size``×``size`` window (padded with zeros past the edges)."""
        with self.open(href) as dataset:
            indexes = list(bands) if bands else list(range(1, dataset.count + 1))
            if any(b < 1 or b > dataset.count for b in indexes):
                raise InputError(
                    f"{href} has {dataset.count} band(s); asked for bands {indexes}",
                    hint="bands are numbered from 1, or named as in eo:bands",
                )
            if size is None:
                return np.asarray(dataset.read(indexes))
            row = (dataset.height - size) // 2
            col = (dataset.width - size) // 2
            window = Window(col, row, size, size)
            inside = row >= 0 and col >= 0
            return np.asarray(
                dataset.read(indexes, window=window, boundless=not inside, fill_value=0)
            )

    def read_bytes(self, href: str) -> bytes:
        """A whole small file (a GeoJSON of labels)."""
        return self.reader.read_bytes(href)
