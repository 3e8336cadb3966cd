"""Filling one chip from scenes: a mosaic per collection, the collections stacked.

A chip is filled from a collection's scenes in the order given (the scenes of one day, the one
covering most of the chip first; for another collection, the nearest in time first) until no
pixel is missing (:mod:`eotdl.builders.chip_plans` gives those orders). A scene whose window
holds no data is skipped and counted; an unreadable asset is an error naming the scene, asset
and URL, or (with ``skip_broken``) skips its scene. :func:`output_band` names an output band
and picks its resampling (nearest neighbour for assets holding classes).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rasterio.enums import Resampling
from rasterio.errors import RasterioError

from eotdl.builders.chips import Frame
from eotdl.builders.cogread import BandRead, OpenRasters, read_band
from eotdl.builders.scenes import Scene
from eotdl.errors import InputError

log = logging.getLogger(__name__)

#: Assets holding classes, not measurements: resampled with nearest neighbour.
CATEGORICAL = {"scl", "qa", "qa_pixel", "qa_radsat", "fmask", "cloud", "mask", "classification"}


@dataclass(frozen=True)
class Band:
    """One band of the output: which collection and asset it comes from, and its eo:bands."""

    collection: str
    asset: str
    eo: dict[str, Any]
    resampling: Resampling


def output_band(collection: str, name: str, source: dict[str, Any]) -> Band:
    """The output band ``collection:name``, with the eo fields of the scene's band
    (``source``) that stay true after resampling."""
    eo = {"name": f"{collection}:{name}", "description": f"{name} of {collection}"}
    for key in ("common_name", "center_wavelength", "full_width_half_max"):
        if key in source:
            eo[key] = source[key]
    resampling = Resampling.nearest if name.lower() in CATEGORICAL else Resampling.bilinear
    return Band(collection, name, eo, resampling)


@dataclass
class Layer:
    """The bands of one collection mosaicked onto a chip, and the scenes that filled it."""

    data: np.ndarray  # (bands, rows, cols) float64
    valid: np.ndarray  # (bands, rows, cols) bool
    dtypes: list[np.dtype]
    scales: list[float]
    offsets: list[float]
    scenes: list[Scene]


@dataclass
class Counts:
    """Counters shared by the threads (chips written, skipped and why)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


class ChipReader:
    """Reads scenes onto chips for a list of output bands (filled in before the first read)."""

    def __init__(self, bands: list[Band], counts: Counts, *, skip_broken: bool) -> None:
        self.bands = bands
        self.counts = counts
        self.skip_broken = skip_broken
        self.rasters = OpenRasters()
        self._broken: set[str] = set()

    def close(self) -> None:
        """Close the source files (once no thread reads any more)."""
        self.rasters.close()

    def compose(
        self,
        frame: Frame,
        groups: Sequence[Sequence[Scene]],
        others: Callable[[dt.datetime], dict[str, list[Scene]]],
    ) -> tuple[list[Layer], str] | None:
        """The first group that gives data (and a match in every other collection)."""
        reason = "chips_empty"
        for group in groups:
            first = self.mosaic(group, frame)
            if first is None:
                continue
            when = first.scenes[0].when
            layers = [first]
            for collection, candidates in others(when).items():
                layer = self.mosaic(candidates, frame)
                if layer is None:
                    reason = f"chips_without_{collection}"
                    break
                layers.append(layer)
            else:
                return layers, first.scenes[0].day
        self.counts.add(reason)
        return None

    def mosaic(self, scenes: Sequence[Scene], frame: Frame) -> Layer | None:
        """Fill the chip from ``scenes`` in order until no pixel is missing."""
        if not scenes:
            return None
        collection = scenes[0].collection
        bands = [b for b in self.bands if b.collection == collection]
        shape = (len(bands), frame.height, frame.width)
        data = np.zeros(shape, dtype="float64")
        valid = np.zeros(shape, dtype=bool)
        missing = np.ones(shape[1:], dtype=bool)
        dtypes: list[np.dtype] = []
        scales: list[float] = []
        offsets: list[float] = []
        used: list[Scene] = []
        for scene in scenes:
            if scene.url in self._broken:
                continue
            first = self._read(scene, bands[0], frame)
            if first is None:
                continue
            take = first.valid & missing
            if not take.any():
                self.counts.add("empty_reads")
                continue
            reads = [first] + [self._read(scene, band, frame) for band in bands[1:]]
            if any(r is None for r in reads):
                continue
            for index, read in enumerate(reads):
                assert read is not None
                chosen = take & read.valid
                data[index][chosen] = read.data[chosen]
                valid[index][chosen] = True
                if not used:
                    dtypes.append(read.dtype)
                    scales.append(read.scale)
                    offsets.append(read.offset)
            used.append(scene)
            missing &= ~take
            if not missing.any():
                break
        if not used:
            return None
        return Layer(data, valid, dtypes, scales, offsets, used)

    def _read(self, scene: Scene, band: Band, frame: Frame) -> BandRead | None:
        asset = scene.assets[band.asset]
        href, scale, offset = asset.href, asset.scale, asset.offset
        try:
            read = read_band(href, frame, resampling=band.resampling, rasters=self.rasters)
        except RasterioError as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else repr(exc)
            if not self.skip_broken:
                raise InputError(
                    f"scene {scene.collection}/{scene.id}: asset {band.asset!r} could not be"
                    f" read from {href} ({reason})",
                    hint="pass --skip-broken to skip such scenes; signed URLs may have expired",
                ) from None
            with self.counts.lock:
                if scene.url not in self._broken:
                    self._broken.add(scene.url)
                    self.counts.counts["scenes_broken"] += 1
            log.warning(
                "skipping %s/%s: %s unreadable (%s)", scene.collection, scene.id, href, reason
            )
            return None
        if scale != 1.0 or offset != 0.0:
            read.scale, read.offset = scale, offset
        return read
