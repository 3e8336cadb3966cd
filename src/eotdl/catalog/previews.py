"""Previews of a dataset's raster items: a PNG quicklook per item, as a ``thumbnail`` asset.

:func:`add_previews` gives every raster item of a dataset folder that has no ``thumbnail``
asset one: it reads a sample of the dataset's chips (decimated) for one 2–98 % stretch shared
by the whole dataset, so chips are comparable; draws each missing preview with its label
(:mod:`eotdl.catalog.quicklook`); stores the PNGs content-addressed in the lab's store like
every other asset; and rewrites ``items.ndjson`` with the new assets. Ingest calls it for the
dataset it made, the site build for datasets that have none; items that have one are left
alone, so a second run reads nothing.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.compute import in_order
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.hrefkeys import StoreKeys
from eotdl.catalog.lab import Lab
from eotdl.catalog.locks import scratch
from eotdl.catalog.quicklook import (
    MAX_SIDE,
    Box,
    Chip,
    display_bands,
    read_chip,
    read_mask,
    render_png,
    stretch_limits,
)
from eotdl.catalog.store import StoreSpec, asset_href, embedded_store_dir, open_lab_store
from eotdl.errors import InputError
from eotdl.storage import ObjectStore, StoredObject

FILE_EXT = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
PREVIEW_KEY = "thumbnail"
#: Chips read (at ``_SAMPLE_SIDE`` px) to compute a dataset's stretch.
SAMPLE_CHIPS = 24
_SAMPLE_SIDE = 64
#: Previews drawn and stored by one task on a cluster.
CLUSTER_BATCH = 16
_RASTER_TYPES = ("tiff", "geotiff", "jp2", "cog", "image/png", "image/jpeg")
_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".png", ".jpg", ".jpeg")


@dataclass
class PreviewResult:
    """What :func:`add_previews` did."""

    dataset: str
    made: int = 0
    had: int = 0
    skipped: int = 0
    limits: list[list[float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    item_id: str
    location: Any
    bands: list[int]
    caption: str = ""
    caption_index: int = 0
    mask: Any = None
    mask_values: tuple[int, ...] = ()
    boxes: Any = None
    classes: tuple[str, ...] = ()


def _assets(item: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The item's assets that are objects (validation reports the others)."""
    assets = item.get("assets")
    if not isinstance(assets, Mapping):
        return []
    return [(str(k), a) for k, a in assets.items() if isinstance(a, Mapping)]


def has_preview(item: Mapping[str, Any]) -> bool:
    """Whether an item already has a thumbnail asset."""
    for key, asset in _assets(item):
        if key == PREVIEW_KEY or PREVIEW_KEY in (asset.get("roles") or []):
            return True
    return False


def preview_href(item: Mapping[str, Any]) -> str | None:
    """The href of an item's thumbnail asset, if it has one."""
    for key, asset in _assets(item):
        if key == PREVIEW_KEY or PREVIEW_KEY in (asset.get("roles") or []):
            href = asset.get("href")
            return str(href) if href else None
    return None


def raster_asset(item: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The item's image to preview: its first raster data asset that is not a label."""
    found = []
    for key, asset in _assets(item):
        roles = asset.get("roles") or []
        if "labels" in roles or "label" in roles or PREVIEW_KEY in roles or "overview" in roles:
            continue
        kind = str(asset.get("type") or "").lower()
        href = str(asset.get("href") or "")
        suffix = urllib.parse.urlsplit(href).path.lower()
        if any(t in kind for t in _RASTER_TYPES) or suffix.endswith(_RASTER_SUFFIXES):
            found.append((0 if "data" in roles else 1, key, asset))
    if not found:
        return None
    _, key, asset = min(found, key=lambda f: f[0])
    return key, asset


def kept_previews(folder: DatasetFolder) -> dict[str, tuple[str, dict[str, Any]]]:
    """item id -> (checksum of its image, its thumbnail asset), for the items of ``folder`` as
    they are now: a re-ingest hands them to :func:`add_previews` so unchanged chips keep
    their preview (and a new version's diff shows no change for them)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    if not folder.items_path.is_file():
        return found
    for item in folder.iter_items():
        picked = raster_asset(item)
        assets = item.get("assets") or {}
        thumbnail = assets.get(PREVIEW_KEY)
        if picked is not None and isinstance(thumbnail, dict):
            key = _drawn_from(item, picked[1])
            if key:
                found[str(item["id"])] = (key, thumbnail)
    return found


def _drawn_from(item: Mapping[str, Any], image: Mapping[str, Any]) -> str:
    """What a preview shows: its image's checksum, its labels' checksums and its class."""
    checksum = str(image.get("file:checksum") or "")
    if not checksum:
        return ""
    props = item.get("properties") or {}
    keys = props.get("label:properties") or []
    label = props.get(keys[0]) if isinstance(keys, list) and keys else None
    labels = sorted(
        str(a.get("file:checksum") or a.get("href"))
        for a in (item.get("assets") or {}).values()
        if "labels" in (a.get("roles") or []) or "label" in (a.get("roles") or [])
    )
    return canonical.dumps([checksum, labels, label]).decode()


def add_previews(
    lab: Lab,
    folder: DatasetFolder,
    *,
    max_side: int = MAX_SIDE,
    workers: int = 4,
    progress: Callable[[str], None] | None = None,
    keep: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
    client: Any = None,
) -> PreviewResult:
    """Give every raster item of ``folder`` without a thumbnail one (see the module).

    ``keep`` (from :func:`kept_previews`) gives back an item's earlier thumbnail when its
    image has the same checksum. ``client`` (a ``distributed.Client``) has the cluster's
    workers read the rasters, draw the PNGs and store them (a shared folder or S3): the same
    previews, byte for byte, with no raster byte read here."""
    result = PreviewResult(folder.name)
    if not folder.items_path.is_file():
        return result
    locate = _Locator(lab, folder.path)
    samples: list[tuple[Any, list[int]]] = []
    jobs: list[_Job] = []
    reused: dict[str, dict[str, Any]] = {}
    for item, asset, location in _located_rasters(folder, locate):
        if location is None:
            result.skipped += 1
            continue
        bands = display_bands(asset)
        samples.append((location, bands))
        if has_preview(item):
            result.had += 1
            continue
        earlier = (keep or {}).get(str(item["id"]))
        if earlier is not None and earlier[0] == _drawn_from(item, asset):
            reused[str(item["id"])] = earlier[1]
            continue
        jobs.append(_job(item, location, bands, locate))
    if not jobs:
        if reused:
            folder.write_items(_with_assets(folder, reused))
            result.made = len(reused)
        return result
    if progress is not None:
        progress(f"{folder.name}: drawing {len(jobs):,} previews")
    sampled = _sample(samples)
    if client is None:
        result.limits = sample_limits(sampled, workers)
        with scratch(lab, "previews-") as workdir:
            store = open_lab_store(lab)
            drawn = draw_and_store(jobs, result.limits, max_side, store, workdir, workers)
    else:
        result.limits, drawn = _on_cluster(client, lab, sampled, jobs, max_side)
    assets = dict(reused)
    for job, stored in zip(jobs, drawn, strict=True):
        if stored is None:
            result.problems.append(f"{folder.name}/{job.item_id}: image not readable")
        else:
            assets[job.item_id] = _asset(lab, folder.path, stored)
    if not assets:
        return result
    folder.write_items(_with_assets(folder, assets))
    result.made = len(assets)
    return result


def redraw_previews(
    lab: Lab,
    folder: DatasetFolder,
    workdir: Path,
    *,
    ids: set[str] | None = None,
    max_side: int = MAX_SIDE,
    workers: int = 4,
) -> list[Path]:
    """The previews of ``folder``'s raster items (those in ``ids``, default all) drawn again
    into ``workdir`` and not stored. With the same images, labels and dataset (the stretch
    comes from the same sample of chips) they are the same bytes as when first drawn, so
    ``eotdl storage repair`` recognises lost preview objects among them by their SHA-256."""
    locate = _Locator(lab, folder.path)
    samples: list[tuple[Any, list[int]]] = []
    jobs: list[_Job] = []
    for item, asset, location in _located_rasters(folder, locate):
        if location is None:
            continue
        bands = display_bands(asset)
        samples.append((location, bands))
        if ids is None or str(item["id"]) in ids:
            jobs.append(_job(item, location, bands, locate))
    if not jobs:
        return []
    limits = sample_limits(_sample(samples), workers)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        drawn = list(pool.map(lambda j: _draw(j, limits, max_side, workdir), jobs))
    return [path for path in drawn if path is not None]


def _located_rasters(
    folder: DatasetFolder, locate: _Locator
) -> Iterator[tuple[dict[str, Any], Mapping[str, Any], Any]]:
    """Each item of ``folder`` with a raster asset: the item, the asset and where its image is
    (None when it cannot be found)."""
    for item in folder.iter_items():
        picked = raster_asset(item)
        if picked is not None:
            yield item, picked[1], locate(str(picked[1].get("href") or ""))


def _sample(samples: list[tuple[Any, list[int]]]) -> list[tuple[Any, list[int]]]:
    """The chips the stretch is read from: at most SAMPLE_CHIPS, evenly spread (the same
    whenever the dataset is the same, so previews drawn again are the same bytes)."""
    stride = max(1, len(samples) // SAMPLE_CHIPS)
    return samples[::stride][:SAMPLE_CHIPS]


def sample_limits(sampled: list[tuple[Any, list[int]]], threads: int = 1) -> list[list[float]]:
    """The dataset's stretch: ``sampled`` chips (location, bands) read small, 2–98 %."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        chips = list(pool.map(lambda s: _try_read(s[0], s[1], _SAMPLE_SIDE), sampled))
    return stretch_limits([c for c in chips if c is not None])


def draw_and_store(
    jobs: list[_Job],
    limits: list[list[float]],
    max_side: int,
    store: ObjectStore,
    workdir: Path,
    threads: int = 1,
) -> list[StoredObject | None]:
    """Draw each job's PNG into ``workdir`` and store them content-addressed: per job, the
    stored object, or None when its image could not be read."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        drawn = list(pool.map(lambda j: _draw(j, limits, max_side, workdir), jobs))
    paths = [str(path) for path in drawn if path is not None]
    stored = store.put_files(paths, progress=False).objects if paths else {}
    return [None if path is None else stored[str(path)] for path in drawn]


def draw_batch(
    jobs: list[_Job], limits: list[list[float]], max_side: int, spec: StoreSpec
) -> list[StoredObject | None]:
    """A task on a worker: :func:`draw_and_store` into the lab's store as the worker opens it,
    drawing in a temporary folder of its own."""
    with tempfile.TemporaryDirectory(prefix="eotdl-previews-") as workdir:
        return draw_and_store(jobs, limits, max_side, spec.open(), Path(workdir))


def _on_cluster(
    client: Any, lab: Lab, sampled: list[tuple[Any, list[int]]], jobs: list[_Job], max_side: int
) -> tuple[list[list[float]], list[StoredObject | None]]:
    """The stretch and the previews, read, drawn and stored by the cluster's workers (they
    open the rasters and the store themselves): only the limits and the stored objects' keys,
    checksums and sizes come back here."""
    [limits] = in_order(client, sample_limits, [sampled])
    batches = [jobs[i : i + CLUSTER_BATCH] for i in range(0, len(jobs), CLUSTER_BATCH)]
    spec = StoreSpec.of(lab)
    drawn = [
        stored
        for batch in in_order(client, draw_batch, batches, limits, max_side, spec)
        for stored in batch
    ]
    return limits, drawn


class _Locator:
    """Where rasterio reads an asset of the lab's store: a local file of a folder store, the
    store's public URL, or the store itself. Assets outside the store (a catalog imported with
    its assets left where they are) get no preview: nothing is fetched from elsewhere."""

    def __init__(self, lab: Lab, dataset_dir: Path) -> None:
        self.lab = lab
        self.dataset_dir = dataset_dir
        self.embedded = embedded_store_dir(lab)
        self.keys = StoreKeys(lab)

    @property
    def store(self) -> Any:
        return self.keys.store

    def __call__(self, href: str) -> Any:
        key = self.keys.key(href, self.dataset_dir)
        if key is None:
            return None
        parts = urllib.parse.urlsplit(href)
        relative = not parts.scheme and not href.startswith("/")
        if self.embedded is not None and relative:
            return str(self.embedded / key)
        public = self.store.href(key)
        if public.startswith("file://"):
            return urllib.parse.unquote(urllib.parse.urlsplit(public).path)
        if public.startswith(("http://", "https://")):
            return public
        return _StoreObject(StoreSpec.of(self.lab), key)


@dataclass(frozen=True)
class _StoreObject:
    """An object of a store without public URLs: opened through the store (by its spec, so a
    worker can open it too)."""

    spec: StoreSpec
    key: str

    def open(self) -> Any:
        return self.spec.open().open(self.key)


def _open_location(location: Any) -> Any:
    if isinstance(location, _StoreObject):
        return location.open()
    return location


def _try_read(location: Any, bands: list[int], side: int) -> Chip | None:
    try:
        return read_chip(_open_location(location), bands, side)
    except Exception:  # noqa: BLE001 - an unreadable chip is reported, not fatal
        return None


def _job(item: Mapping[str, Any], location: Any, bands: list[int], locate: _Locator) -> _Job:
    """What to draw over an item's chip, from its label extension fields and label asset."""
    props = item.get("properties") or {}
    classes = _classes(props)
    caption, index = "", 0
    tasks = [str(t) for t in props.get("label:tasks") or []]
    keys = [str(p) for p in props.get("label:properties") or []]
    if keys and ("classification" in tasks or not tasks) and keys[0] in props:
        caption = str(props[keys[0]])
        index = classes.index(caption) if caption in classes else 0
    mask = boxes = None
    values: tuple[int, ...] = ()
    for asset in (item.get("assets") or {}).values():
        roles = asset.get("roles") or []
        if "labels" not in roles and "label" not in roles:
            continue
        kind = str(asset.get("type") or "").lower()
        where = locate(str(asset.get("href") or ""))
        if where is None:
            continue
        if "geo+json" in kind or "json" in kind:
            boxes = where
        elif any(t in kind for t in _RASTER_TYPES) or "image" in kind:
            mask = where
            declared = asset.get("classification:classes") or []
            values = tuple(
                int(c["value"]) for c in declared if isinstance(c, dict) and "value" in c
            )
    if mask is not None or boxes is not None:
        caption = ""
    return _Job(
        str(item["id"]), location, bands, caption, index, mask, values, boxes, tuple(classes)
    )


def _classes(props: Mapping[str, Any]) -> list[str]:
    for entry in props.get("label:classes") or []:
        if isinstance(entry, dict):
            return [str(c) for c in entry.get("classes") or []]
    return []


def _draw(job: _Job, limits: list[list[float]], max_side: int, workdir: Path) -> Path | None:
    chip = _try_read(job.location, job.bands, max_side)
    if chip is None:
        return None
    shape = chip.valid.shape
    mask = None
    if job.mask is not None:
        try:
            raw = read_mask(_open_location(job.mask), shape)
        except Exception:  # noqa: BLE001 - the image is still worth showing
            raw = None
        if raw is not None:
            mask = raw
            if job.mask_values:
                lookup = {v: i for i, v in enumerate(job.mask_values)}
                mask = raw.copy()
                for value in set(raw.ravel().tolist()):
                    mask[raw == value] = lookup.get(int(value), -1)
    boxes = _boxes(job, chip) if job.boxes is not None else []
    png = render_png(
        chip, limits, mask=mask, boxes=boxes, caption=job.caption, caption_index=job.caption_index
    )
    name = hashlib.sha256(job.item_id.encode()).hexdigest()[:24]
    path = workdir / f"{name}.png"
    path.write_bytes(png)
    return path


def _boxes(job: _Job, chip: Chip) -> list[Box]:
    """Detection boxes of the item's GeoJSON labels, in the preview's pixels."""
    try:
        where = job.boxes
        if isinstance(where, _StoreObject):
            with where.open() as handle:
                data = canonical.loads(handle.read())
        elif isinstance(where, str) and where.startswith(("http://", "https://")):
            return []
        else:
            data = canonical.loads(Path(where).read_bytes())
    except (OSError, ValueError):
        return []
    height, width = chip.valid.shape
    sy, sx = height / chip.source_shape[0], width / chip.source_shape[1]
    boxes = []
    for feature in data.get("features") or [] if isinstance(data, dict) else []:
        props = feature.get("properties") or {}
        pixels = props.get("pixel_bbox")
        if not isinstance(pixels, list) or len(pixels) != 4:
            continue
        name = str(props.get("class", ""))
        index = job.classes.index(name) if name in job.classes else 0
        x0, y0, x1, y1 = (float(v) for v in pixels)
        boxes.append(Box((x0 * sx, y0 * sy, x1 * sx, y1 * sy), index))
    return boxes


def _asset(lab: Lab, dataset_dir: Path, stored: Any) -> dict[str, Any]:
    return {
        "href": asset_href(lab, dataset_dir, stored),
        "type": "image/png",
        "roles": [PREVIEW_KEY],
        "title": "Preview",
        "file:checksum": stored.checksum,
        "file:size": stored.size,
    }


def _with_assets(folder: DatasetFolder, assets: dict[str, dict[str, Any]]) -> Iterator[dict]:
    for item in folder.iter_items():
        asset = assets.get(str(item.get("id")))
        if asset is not None:
            item.setdefault("assets", {})[PREVIEW_KEY] = asset
            extensions = item.setdefault("stac_extensions", [])
            if FILE_EXT not in extensions:
                extensions.append(FILE_EXT)
        yield item


def lacks_previews(folder: DatasetFolder, sample: int = 50) -> bool:
    """Whether raster items of ``folder`` lack a preview (looks at the first ``sample``
    raster items only, so it costs nothing on a large dataset)."""
    if not folder.items_path.is_file():
        return False
    seen = 0
    for item in folder.iter_items():
        if raster_asset(item) is None:
            continue
        if not has_preview(item):
            return True
        seen += 1
        if seen >= sample:
            break
    return False


def ensure_previews(
    lab: Lab, folder: DatasetFolder, progress: Callable[[str], None] | None = None
) -> PreviewResult | None:
    """:func:`add_previews`, unless ``items.ndjson`` is unchanged since the last pass (None).

    ``eotdl previews`` calls it for every dataset it is given: a marker under
    ``.eotdl/previews/`` (size and mtime of the items file after the pass) keeps an unchanged
    dataset from being read again. (The site build never calls it: a build does not write
    the lab; previews are a change to commit, made at ingest or by ``eotdl previews``.)
    """
    if not folder.items_path.is_file():
        return None
    marker = lab.root / ".eotdl" / "previews" / f"{folder.name}.json"
    try:
        if marker.read_bytes() == _stamp(folder.items_path):
            return None
    except OSError:
        pass
    result = add_previews(lab, folder, progress=progress)
    if not result.problems:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_bytes(_stamp(folder.items_path))
    return result


def ensure_lab_previews(
    lab: Lab, names: Iterable[str] = (), progress: Callable[[str], None] | None = None
) -> Iterator[tuple[str, PreviewResult | None]]:
    """:func:`ensure_previews` for datasets ``names`` (default: every dataset of the lab), one
    at a time: yields each name with its result as it is done. A name that is no dataset of
    the lab is an InputError when its turn comes."""
    for name in list(names) or lab.dataset_names():
        folder = lab.dataset(name)
        if not folder.exists():
            raise InputError(f"no dataset {name!r} in {lab.root}")
        yield name, ensure_previews(lab, folder, progress)


def _stamp(path: Path) -> bytes:
    stat = path.stat()
    return canonical.dumps([stat.st_size, stat.st_mtime_ns])
