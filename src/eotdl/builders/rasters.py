"""``rasters``: a folder or glob of GeoTIFFs (+ optional labels) → STAC Items.

Each raster is described with rio-stac (projection, raster, eo). Optional steps, recorded in
recipe.yaml: conversion to COG, tiling into chips with overlap, spectral indices as extra
assets, labels from a vector file (rasterised onto each image or chip) or a masks folder, and
per-band normalisation statistics over the whole dataset, written into the collection.

Describing is CPU-bound Python and GDAL under the GIL, so the rasters are shared by a pool of
processes, one per CPU (each opens its own GDAL datasets); results come back in file order.
The workers are forked from a fork server, a single-threaded process that has imported this
module, never from the caller: a fork of a process with threads (a server, a progress bar, a
Dask client) copies whatever lock another thread held at that moment, and a worker that needs
it waits forever. Each worker also hashes the files its items point at while they are in the
page cache, and the parent records those hashes in the stat-keyed hash cache that the upload
reads, so no file is hashed twice. On a Dask cluster (``ingest --cluster``) the workers do the
same per file and store the files themselves (:mod:`eotdl.builders.cluster`).
"""

from __future__ import annotations

import contextlib
import glob
import multiprocessing
import os
import re
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from eotdl.builders.base import LABEL_EXT, Builder, Labels, Option
from eotdl.builders.cluster import ClusterWork, StoreSpec, local_files, put_files
from eotdl.builders.features import (
    BandStatistics,
    band_roles,
    chip_windows,
    load_vector_labels,
    parse_band_map,
    rasterize_labels,
    spectral_index,
    write_cog,
)
from eotdl.builders.rasterfiles import open_raster
from eotdl.builders.rasterinfo import raster_item
from eotdl.catalog.compute import portable_errors
from eotdl.children import exit_with
from eotdl.errors import InputError
from eotdl.storage import TransferSummary
from eotdl.storage.hashcache import HashCache
from eotdl.storage.hashing import sha256_and_size

RASTER_SUFFIXES = (".tif", ".tiff", ".TIF", ".TIFF")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def item_id_for(stem: str) -> str:
    """A safe item id from a file name."""
    cleaned = _SAFE.sub("-", stem).strip("-.")
    if not cleaned:
        raise InputError(f"cannot make an item id from the file name {stem!r}")
    return cleaned


class RastersBuilder(Builder):
    name = "rasters"
    summary = "GeoTIFFs (a folder or glob) → items with projection/raster/eo, optional labels"
    version = "1"
    options = (
        Option("datetime", "Acquisition time for rasters without one (ISO date)."),
        Option("crs", "CRS of rasters that have none (e.g. EPSG:32631)."),
        Option(
            "allow_non_earth",
            "Accept rasters of other bodies (null geometry).",
            flag=True,
            default=False,
        ),
        Option(
            "footprint",
            "Footprint from the valid-data mask, not the bounds.",
            flag=True,
            default=False,
        ),
        Option(
            "cog", "Convert every raster to a Cloud-Optimized GeoTIFF.", flag=True, default=False
        ),
        Option(
            "chip_size",
            "Tile rasters into chips of this many pixels (0: whole files).",
            type=int,
            default=0,
        ),
        Option("overlap", "Pixels of overlap between neighbouring chips.", type=int, default=0),
        Option(
            "indices",
            "Spectral indices to add as assets (ndvi, ndwi, ndbi, nbr).",
            multiple=True,
            default=(),
        ),
        Option("bands", "Band roles for indices, e.g. red=3,nir=4 (default: band names)."),
        Option(
            "labels", "Vector labels (GeoJSON) to rasterise onto each image or chip.", type=Path
        ),
        Option("masks", "Folder of label masks matched to images by file name.", type=Path),
        Option("class_property", "Label property holding the class.", default="class"),
        Option(
            "normalize",
            "Compute per-band statistics over the dataset (collection).",
            flag=True,
            default=False,
        ),
        Option("workers", "Rasters read in parallel.", type=int, default=0),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        s = self.settings
        if s["labels"] and s["masks"]:
            raise InputError("give either --labels or --masks, not both")
        self.features: list[dict[str, Any]] = []
        self.classes: list[str] = []
        if s["labels"]:
            self.features, self.classes = load_vector_labels(Path(s["labels"]), s["class_property"])
        self.band_map = parse_band_map(s["bands"])
        self.stats = BandStatistics()
        self.steps = self._steps()
        if s["labels"] or s["masks"]:
            self.labels = Labels(
                type="raster",
                tasks=["segmentation"],
                classes=self.classes,
                description="pixel classes",
                class_property=s["class_property"],
            )

    def _steps(self) -> list[dict[str, Any]]:
        s = self.settings
        steps: list[dict[str, Any]] = []
        if s["chip_size"]:
            steps.append({"step": "tile", "size": s["chip_size"], "overlap": s["overlap"]})
        elif s["cog"]:
            steps.append({"step": "cog"})
        for name in s["indices"] or ():
            steps.append({"step": "index", "name": name, "bands": s["bands"] or "band names"})
        if s["labels"]:
            steps.append({"step": "rasterize-labels", "class_property": s["class_property"]})
        if s["normalize"]:
            steps.append({"step": "normalize"})
        return steps

    def files(self) -> list[Path]:
        """The source rasters, sorted."""
        source = self.source
        if any(c in source for c in "*?["):
            found = [Path(p) for p in glob.glob(source, recursive=True)]
        elif Path(source).is_dir():
            found = [p for p in Path(source).rglob("*") if p.suffix in RASTER_SUFFIXES]
        elif Path(source).is_file():
            found = [Path(source)]
        else:
            raise InputError(f"{source}: no such file, folder or glob")
        files = sorted(p.resolve() for p in found if p.is_file())
        if not files:
            raise InputError(f"{source}: no GeoTIFF files found (*.tif, *.tiff)")
        ids: dict[str, Path] = {}
        for path in files:
            other = ids.setdefault(item_id_for(path.stem), path)
            if other != path:
                raise InputError(f"{other} and {path} would get the same item id")
        return files

    def items(self) -> Iterator[dict[str, Any]]:
        files = self.files()
        workers = self.settings["workers"] or min(8, (os.cpu_count() or 2) + 2)
        if self.settings["masks"]:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                values: set[str] = set()
                for found in pool.map(self._mask_values, files):
                    values |= found
            self.classes = sorted(values, key=_natural)
            if self.labels is not None:
                self.labels.classes = self.classes
        processes = _processes(self.settings["workers"], len(files))
        cache = HashCache()
        try:
            if processes > 1:
                yield from self._collect(_in_processes(self, files, processes), cache)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    yield from self._collect(pool.map(self._process_and_hash, files), cache)
            cache.flush()
        finally:
            cache.close()

    def items_on(self, work: ClusterWork) -> Iterator[dict[str, Any]]:
        """:meth:`items` with the heavy part on a Dask cluster: each raster is described, and
        the files its items point at are hashed and stored, by a worker; in file order."""
        files = self.files()
        if self.settings["masks"]:
            values: set[str] = set()
            for found in work.map_in_order(_mask_values_of, files, self):
                values |= found
            self.classes = sorted(values, key=_natural)
            if self.labels is not None:
                self.labels.classes = self.classes
        builder = work.client.scatter(self, broadcast=True, hash=False)
        for produced, stats, stored in work.map_in_order(
            _describe_and_store, files, builder, work.spec
        ):
            self.stats.merge(stats)
            work.record(stored)
            yield from produced

    def _collect(self, results: Iterable[_Described], cache: HashCache) -> Iterator[dict[str, Any]]:
        for produced, stats, hashes in results:
            self.stats.merge(stats)
            for path, st, sha in hashes:
                cache.remember(path, st, sha)
            yield from produced

    def _process_and_hash(self, path: Path) -> _Described:
        """``_process``, plus the SHA-256 of every local file its items point at."""
        produced, stats = self._process(path)
        hashes = []
        for item in produced:
            for asset in item.get("assets", {}).values():
                href = str(asset.get("href", ""))
                if os.path.isabs(href) and os.path.isfile(href):
                    st = os.stat(href)
                    hashes.append((href, st, sha256_and_size(href)[0]))
        return produced, stats, hashes

    def _mask_values(self, path: Path) -> set[str]:
        mask_path = self._mask_file(path.stem)
        with open_raster(mask_path, "mask") as src:
            return {str(int(v)) for v in np.unique(src.read(1))}

    def _process(self, path: Path) -> tuple[list[dict[str, Any]], BandStatistics]:
        s = self.settings
        stats = BandStatistics()
        base_id = item_id_for(path.stem)
        described = self._describe(path, base_id)
        when = described["properties"]["datetime"]
        needs_pixels = s["chip_size"] or s["cog"] or s["indices"] or s["labels"] or s["normalize"]
        if not needs_pixels and not s["masks"]:
            return [described], stats
        if s["chip_size"]:
            return self._chips(path, base_id, when, stats), stats
        return [self._whole(path, base_id, described, stats)], stats

    def _describe(self, path: Path, item_id: str, when: str | None = None) -> dict[str, Any]:
        s = self.settings
        return raster_item(
            path,
            item_id,
            datetime=when or s["datetime"],
            crs=s["crs"],
            allow_non_earth=s["allow_non_earth"],
            footprint_from_mask=s["footprint"],
        )

    def _whole(
        self, path: Path, item_id: str, described: dict[str, Any], stats: BandStatistics
    ) -> dict[str, Any]:
        s = self.settings
        with rasterio.open(path) as src:
            data = src.read()
            profile = {
                "crs": src.crs,
                "transform": src.transform,
                "nodata": src.nodata,
                "descriptions": src.descriptions,
            }
            roles = band_roles(src, self.band_map)
        if s["normalize"]:
            stats.add(data, profile["nodata"])
        item = described
        if s["cog"]:
            cog = write_cog(self.workdir / "cogs" / f"{item_id}.tif", data, profile)
            item = self._describe(cog, item_id, described["properties"]["datetime"])
        self._add_extras(item, item_id, data, profile, roles, path.stem)
        return item

    def _chips(
        self, path: Path, base_id: str, when: str, stats: BandStatistics
    ) -> list[dict[str, Any]]:
        s = self.settings
        out = []
        with rasterio.open(path) as src:
            roles = band_roles(src, self.band_map)
            nodata = src.nodata
            windows = list(chip_windows(src.width, src.height, s["chip_size"], s["overlap"]))
            if not windows:
                raise InputError(
                    f"{path}: {src.width}×{src.height} pixels is smaller than one"
                    f" {s['chip_size']}-pixel chip",
                    hint="use a smaller --chip-size",
                )
            for chip in windows:
                data = src.read(window=chip.window)
                if _all_nodata(data, nodata):
                    continue
                profile = {
                    "crs": src.crs,
                    "transform": src.window_transform(chip.window),
                    "nodata": nodata,
                    "descriptions": src.descriptions,
                }
                chip_id = f"{base_id}-r{chip.row:03d}-c{chip.col:03d}"
                chip_path = write_cog(self.workdir / "chips" / f"{chip_id}.tif", data, profile)
                if s["normalize"]:
                    stats.add(data, nodata)
                item = self._describe(chip_path, chip_id, when)
                self._add_extras(item, chip_id, data, profile, roles, path.stem, chip.window)
                out.append(item)
        return out

    def _add_extras(
        self,
        item: dict[str, Any],
        item_id: str,
        data: np.ndarray,
        profile: dict[str, Any],
        roles: dict[str, int],
        stem: str,
        window: Any = None,
    ) -> None:
        s = self.settings
        for name in s["indices"] or ():
            values = spectral_index(data, name, roles, profile["nodata"])
            index_profile = {**profile, "nodata": float("nan"), "descriptions": (name,)}
            index_path = write_cog(
                self.workdir / "indices" / f"{item_id}-{name}.tif", values, index_profile
            )
            item["assets"][name] = {
                "href": str(index_path),
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data", "index"],
                "title": name.upper(),
            }
        mask_path = None
        if s["labels"]:
            mask = rasterize_labels(
                self.features,
                self.classes,
                s["class_property"],
                data.shape[1:],
                profile["transform"],
                profile["crs"],
            )
            mask_path = write_cog(
                self.workdir / "masks" / f"{item_id}.tif",
                mask,
                {**profile, "nodata": None, "descriptions": ("class",)},
            )
        elif s["masks"]:
            mask_path = self._matching_mask(stem, data.shape[1:], window, item_id)
        if mask_path is not None and self.labels is not None:
            item["assets"]["labels"] = {
                "href": str(mask_path),
                "type": "image/tiff; application=geotiff",
                "roles": ["labels"],
                "title": "Label mask",
            }
            item["properties"].update(self.labels.item_properties())
            image_href = item["assets"]["image"]["href"]
            item["links"].append({"rel": "source", "href": image_href, "type": "image/tiff"})
            for ext in (LABEL_EXT,):
                if ext not in item["stac_extensions"]:
                    item["stac_extensions"].append(ext)

    def _matching_mask(self, stem: str, shape: tuple[int, ...], window: Any, item_id: str) -> Path:
        mask_file = self._mask_file(stem)
        with open_raster(mask_file, "mask") as mask_src:
            mask = mask_src.read(1, window=window)[np.newaxis, ...]
            if mask.shape[1:] != tuple(shape):
                raise InputError(
                    f"{mask_file}: mask is {mask.shape[2]}×{mask.shape[1]} pixels but the"
                    f" image is {shape[1]}×{shape[0]}"
                )
            profile = {
                "crs": mask_src.crs,
                "transform": mask_src.window_transform(window)
                if window is not None
                else mask_src.transform,
                "nodata": None,
            }
        if window is None:
            return mask_file
        return write_cog(self.workdir / "masks" / f"{item_id}.tif", mask, profile)

    def _mask_file(self, stem: str) -> Path:
        folder = Path(self.settings["masks"])
        if not folder.is_dir():
            raise InputError(f"--masks {folder}: not a folder")
        found = [p for p in folder.glob(f"{glob.escape(stem)}.*") if p.suffix in RASTER_SUFFIXES]
        if not found:
            raise InputError(f"no mask for image {stem!r} in {folder}")
        return found[0].resolve()

    def collection(self) -> dict[str, Any]:
        base = super().collection()
        summaries: dict[str, Any] = {}
        if self.settings["normalize"]:
            summaries["raster:bands"] = self.stats.summary()
        if self.labels is not None and self.classes:
            summaries["label:classes"] = [{"name": None, "classes": self.classes}]
        if summaries:
            base["summaries"] = summaries
        return base


_Described = tuple[list[dict[str, Any]], BandStatistics, list[tuple[str, os.stat_result, str]]]

#: The builder this worker process describes with (set by :func:`_start_worker`).
_WORKER_BUILDER: RastersBuilder | None = None


def _processes(workers: int, files: int) -> int:
    """How many processes describe ``files`` rasters (1: threads in this process)."""
    if files < 2 or not sys.platform.startswith("linux"):
        return 1  # the fork server is POSIX; elsewhere threads are the simpler choice
    cpus = len(os.sched_getaffinity(0))
    return max(1, min(workers or cpus, cpus, files))


def _start_worker(builder: RastersBuilder, caller: int, environ: dict[str, str], cwd: str) -> None:
    """A worker's first step: end with the caller, and take its builder, environment (GDAL
    reads its options there) and working folder, none of which a fork server's child would
    otherwise share."""
    global _WORKER_BUILDER
    exit_with(caller)
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    _WORKER_BUILDER = builder


def _describe_in_worker(path: Path) -> _Described:
    assert _WORKER_BUILDER is not None
    described: _Described = portable_errors(_WORKER_BUILDER._process_and_hash, path)
    return described


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean single-threaded server that has this module imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # no effect once the server runs
    return context


def _in_processes(
    builder: RastersBuilder, files: list[Path], processes: int
) -> Iterator[_Described]:
    """``builder._process_and_hash`` of every file in worker processes, in file order."""
    sys.stdout.flush()
    sys.stderr.flush()
    chunk = max(1, min(16, len(files) // (processes * 8)))
    pool = ProcessPoolExecutor(
        processes,
        mp_context=_worker_context(),
        initializer=_start_worker,
        initargs=(builder, os.getpid(), dict(os.environ), os.getcwd()),
    )
    try:
        yield from pool.map(_describe_in_worker, files, chunksize=chunk)
    except BaseException:
        _stop_now(pool)  # a bad file, Ctrl-C or a closed generator: stop at once
        raise
    else:
        pool.shutdown(wait=True)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers, without waiting on the pool: a
    ``shutdown(wait=True)`` after an interruption can wait forever on CPython 3.11 (its
    manager thread may never wake), and a worker's half-written file is in scratch anyway."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        with contextlib.suppress(OSError):
            worker.kill()
    for worker in workers:
        worker.join(timeout=10)


def _mask_values_of(path: Path, builder: RastersBuilder) -> set[str]:
    return builder._mask_values(path)


def _describe_and_store(
    path: Path, builder: RastersBuilder, spec: StoreSpec
) -> tuple[list[dict[str, Any]], BandStatistics, TransferSummary]:
    """A task: describe one raster, and store the files its items point at."""
    produced, stats = builder._process(path)
    return produced, stats, put_files(local_files(produced), spec)


def _all_nodata(data: np.ndarray, nodata: Any) -> bool:
    if nodata is None:
        return False
    if isinstance(nodata, float) and np.isnan(nodata):
        return bool(np.isnan(data).all())
    return bool((data == nodata).all())


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)
