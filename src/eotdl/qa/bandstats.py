"""Per-band statistics over every raster of a dataset, with Dask, in bounded memory.

Each file is read window by window (at most :data:`~eotdl.qa.rasters.WINDOW_PIXELS` pixels a
band at a time) into a small mergeable partial per band; partials are merged in a tree, so no
whole-dataset array ever exists. Integer bands of 16 bits or less keep an exact histogram over
their whole value range (65,536 bins at most), from which count, min, max, mean, standard
deviation and percentiles are exact. Other bands (float, 32-bit) take two passes: moments and
range first (Chan's parallel merge), then a 4,096-bin histogram over that range, so their
percentiles are within half a bin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.bag as db
import numpy as np

from eotdl.qa.engine import Engine
from eotdl.qa.rasters import RasterSource, valid_mask, windows

#: Bins of the histogram of a float (or 32-bit) band, over its range.
FLOAT_BINS = 4096
#: Bins of the coarse histogram reported for plots.
PLOT_BINS = 64
#: Percentiles reported for every band.
PERCENTILES = (2, 25, 50, 75, 98)
#: Integer types whose exact histogram is kept.
SMALL_INTS = ("uint8", "int8", "uint16", "int16")


@dataclass(frozen=True)
class Scheme:
    """How a band is binned: "int" (exact, one bin per value), "float" (fixed bins over
    [lo, hi]), "moments" (no histogram: the first pass of a float band) or "skip"."""

    kind: str
    lo: float = 0.0
    hi: float = 0.0
    bins: int = 0

    @classmethod
    def for_dtypes(cls, dtypes: Iterable[str]) -> Scheme:
        """The scheme for a band holding these data types."""
        kinds = set(dtypes)
        if kinds and kinds <= set(SMALL_INTS):
            lo = min(int(np.iinfo(np.dtype(d)).min) for d in kinds)
            hi = max(int(np.iinfo(np.dtype(d)).max) for d in kinds)
            return cls("int", lo, hi, hi - lo + 1)
        return cls("moments")


@dataclass
class BandPartial:
    """Mergeable statistics of one band over some pixels."""

    scheme: Scheme
    count: int = 0
    nodata: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0
    hist: np.ndarray | None = None

    def add(self, values: np.ndarray, nodata: int) -> None:
        """Fold in the valid values of one window (and how many pixels were nodata)."""
        scheme = self.scheme
        if scheme.kind == "skip":
            return
        self.nodata += nodata
        n = int(values.size)
        if n == 0:
            return
        if scheme.kind == "int":
            index = values if scheme.lo == 0 else values.astype(np.int64) - int(scheme.lo)
            counts = np.bincount(index.ravel(), minlength=scheme.bins)
            self.hist = counts if self.hist is None else self.hist + counts
            self.count += n
            return
        x = values.astype(np.float64, copy=False).ravel()
        if scheme.kind == "float":
            width = (scheme.hi - scheme.lo) or 1.0
            index = ((x - scheme.lo) * (scheme.bins / width)).astype(np.int64)
            np.clip(index, 0, scheme.bins - 1, out=index)
            counts = np.bincount(index, minlength=scheme.bins)
            self.hist = counts if self.hist is None else self.hist + counts
            self.count += n
            return
        mean = float(x.mean())
        deviation = x - mean
        self._merge_moments(n, mean, float(np.dot(deviation, deviation)))
        self.minimum = min(self.minimum, float(x.min()))
        self.maximum = max(self.maximum, float(x.max()))

    def counts_directly(self, band: np.ndarray, nodata: float | None) -> bool:
        """Whether a window can be binned whole, nodata included (integers, exact bins)."""
        if self.scheme.kind != "int" or band.dtype.kind not in "iu":
            return False
        return nodata is None or math.isnan(nodata) or float(nodata).is_integer()

    def add_counts(self, band: np.ndarray, nodata: float | None) -> None:
        """Fold in a whole window of an integer band with one ``bincount``; the nodata
        value's bin is then moved out of the histogram into the nodata count."""
        lo = int(self.scheme.lo)
        values = band.ravel()
        counts = np.bincount(
            values if lo == 0 else values.astype(np.int64) - lo, minlength=self.scheme.bins
        )
        missing = 0
        if nodata is not None and not math.isnan(nodata):
            slot = int(nodata) - lo
            if 0 <= slot < counts.size:
                missing = int(counts[slot])
                counts[slot] = 0
        self.nodata += missing
        self.count += int(values.size) - missing
        if self.hist is None:
            self.hist = counts
        else:
            self.hist += counts

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def merge(self, other: BandPartial) -> BandPartial:
        """Fold ``other`` (same scheme) into this partial; return self."""
        self.nodata += other.nodata
        if other.hist is not None:
            self.hist = other.hist.copy() if self.hist is None else self.hist + other.hist
        if self.scheme.kind == "moments":
            if other.count:
                self._merge_moments(other.count, other.mean, other.m2)
        else:
            self.count += other.count
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        return self


@dataclass
class FilePartial:
    """The band partials of some files, keyed by (asset key, band index), and failures."""

    bands: dict[tuple[str, int], BandPartial] = field(default_factory=dict)
    files: int = 0
    failed: list[str] = field(default_factory=list)

    def merge(self, other: FilePartial) -> FilePartial:
        """Fold ``other`` into this one (at most 20 failures kept); return self."""
        for key, partial in other.bands.items():
            mine = self.bands.get(key)
            self.bands[key] = partial if mine is None else mine.merge(partial)
        self.files += other.files
        self.failed.extend(other.failed[: max(0, 20 - len(self.failed))])
        return self


@dataclass(frozen=True)
class BandTask:
    """One file to read: where it is, its asset key, and the scheme of each band."""

    source: RasterSource
    asset: str
    schemes: tuple[Scheme, ...]
    pixels: int


def read_file(task: BandTask) -> FilePartial:
    """Statistics of one file, read window by window."""
    out = FilePartial(files=1)
    try:
        with task.source.open() as src:
            count = min(src.count, len(task.schemes))
            bands = [BandPartial(task.schemes[i]) for i in range(count)]
            nodata = src.nodata
            indexes = list(range(1, count + 1))
            for window in windows(src, task.pixels):
                data = src.read(indexes, window=window)
                for i, partial in enumerate(bands):
                    band = data[i]
                    if partial.counts_directly(band, nodata):
                        partial.add_counts(band, nodata)
                        continue
                    valid = valid_mask(band, nodata)
                    if valid.all():
                        partial.add(band, 0)
                    else:
                        partial.add(band[valid], int(valid.size - np.count_nonzero(valid)))
    except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the EDA
        out.failed.append(f"{task.source.location}: {' '.join(str(exc).split())}")
        return out
    for i, partial in enumerate(bands):
        out.bands[(task.asset, i)] = partial
    return out


def _fold(partials: Iterable[FilePartial]) -> FilePartial:
    total = FilePartial()
    for partial in partials:
        total.merge(partial)
    return total


def run_tasks(tasks: Sequence[BandTask], engine: Engine) -> FilePartial:
    """Read every task's file with Dask and merge the partials in a tree."""
    if not tasks:
        return FilePartial()
    partitions = max(1, min(len(tasks), engine.workers * 16))  # small tail, few merges
    bag = db.from_sequence(tasks, npartitions=partitions).map(read_file)
    result: FilePartial = engine.compute(bag.reduction(_fold, _fold, split_every=8))
    return result


def band_statistics(
    tasks: Sequence[BandTask], engine: Engine
) -> tuple[dict[tuple[str, int], BandPartial], FilePartial]:
    """Merged partials per (asset, band); float bands get their second, histogram pass."""
    first = run_tasks(tasks, engine)
    floats = {key: p for key, p in first.bands.items() if p.scheme.kind == "moments" and p.count}
    if not floats:
        return first.bands, first
    ranged = []
    for task in tasks:
        schemes = tuple(
            Scheme(
                "float",
                floats[(task.asset, i)].minimum,
                floats[(task.asset, i)].maximum,
                FLOAT_BINS,
            )
            if (task.asset, i) in floats
            else Scheme("skip")
            for i in range(len(task.schemes))
        )
        if any(s.kind == "float" for s in schemes):
            ranged.append(BandTask(task.source, task.asset, schemes, task.pixels))
    second = run_tasks(ranged, engine)
    for key, partial in second.bands.items():
        if key in floats and partial.hist is not None:
            floats[key].hist = partial.hist
            floats[key].scheme = partial.scheme
    return first.bands, first


def summarize(partial: BandPartial) -> dict[str, Any]:
    """count, nodata share, min, max, mean, std, percentiles and a coarse histogram."""
    total = partial.count + partial.nodata
    out: dict[str, Any] = {
        "count": partial.count,
        "nodata_share": round(partial.nodata / total, 6) if total else None,
    }
    if partial.count == 0:
        return out | {"min": None, "max": None, "mean": None, "std": None, "percentiles": {}}
    scheme = partial.scheme
    if scheme.kind == "int" and partial.hist is not None:
        hist = partial.hist
        nonzero = np.flatnonzero(hist)
        values = np.arange(scheme.bins, dtype=np.float64) + scheme.lo
        mean = float(np.dot(hist, values) / partial.count)
        var = float(np.dot(hist, (values - mean) ** 2) / partial.count)
        minimum, maximum = float(values[nonzero[0]]), float(values[nonzero[-1]])
        cumulative = np.cumsum(hist)
        percentiles = {
            f"p{q}": float(values[np.searchsorted(cumulative, q / 100 * partial.count)])
            for q in PERCENTILES
        }
        plot = _coarse(hist[nonzero[0] : nonzero[-1] + 1], minimum, maximum + 1)
    else:
        mean, var = partial.mean, partial.m2 / partial.count
        minimum, maximum = partial.minimum, partial.maximum
        percentiles, plot = {}, None
        if partial.hist is not None and scheme.kind == "float":
            width = (scheme.hi - scheme.lo) / scheme.bins
            cumulative = np.cumsum(partial.hist)
            for q in PERCENTILES:
                index = int(np.searchsorted(cumulative, q / 100 * cumulative[-1]))
                percentiles[f"p{q}"] = scheme.lo + (index + 0.5) * width
            plot = _coarse(partial.hist, scheme.lo, scheme.hi or scheme.lo + 1)
    return out | {
        "min": _num(minimum),
        "max": _num(maximum),
        "mean": _num(mean),
        "std": _num(math.sqrt(max(var, 0.0))),
        "percentiles": {k: _num(v) for k, v in percentiles.items()},
        "histogram": plot,
    }


def _coarse(hist: np.ndarray, lo: float, hi: float) -> dict[str, list[float]]:
    """A fine histogram over [lo, hi) regrouped into at most PLOT_BINS bins."""
    groups = max(1, math.ceil(len(hist) / PLOT_BINS))
    padded = np.zeros(groups * math.ceil(len(hist) / groups), dtype=np.int64)
    padded[: len(hist)] = hist
    counts = padded.reshape(-1, groups).sum(axis=1)
    edges = np.linspace(lo, lo + (hi - lo) * len(padded) / len(hist), len(counts) + 1)
    return {"edges": [_num(float(e)) for e in edges], "counts": [int(c) for c in counts]}


def _num(value: float) -> float:
    """A JSON-friendly float: six significant digits."""
    return float(f"{value:.6g}")
