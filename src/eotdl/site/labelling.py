"""The labelling page: label, correct and review a dataset's chips in the browser, no server.

``write_label_page`` lays out ``datasets/<name>/label/`` in the built site: ``index.html`` with
the tasks embedded as JSON (the chips in queue order, their current labels, why each is
flagged, the pixel -> WGS84 mapping of each chip), one PNG per chip under ``chips/``, and the
page's script and style. The page keeps labels in the browser (localStorage, keyed by lab,
dataset, version and task) and exports them as a GeoJSON file for ``eotdl labels apply``;
nothing is sent anywhere.
"""

from __future__ import annotations

import io
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.hrefkeys import StoreKeys
from eotdl.catalog.lab import Lab
from eotdl.catalog.labelfile import chip_size, label_target
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError
from eotdl.qa.agreement_store import DISAGREEMENTS, labels_folder
from eotdl.qa.review import review_flags, review_order
from eotdl.site.qareport import QA_JSON, qa_folder

QUEUES = ("all", "unlabelled", "flagged", "disagreements")
CHIP_PIXELS = 256
STATIC = ("label.js", "label.css")


@dataclass
class LabelPage:
    """A labelling page written into the site."""

    folder: Path
    url_path: str
    chips: int
    flagged: int


def label_page(
    lab: Lab,
    name: str,
    *,
    task: str | None = None,
    queue: str = "all",
    disagreements: Path | None = None,
    limit: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> LabelPage:
    """:func:`write_label_page` into the lab's site, building the site first (without QA)
    when it has not been built yet; ``progress`` is told when that happens."""
    if not (lab.site_dir / "index.html").is_file():
        from eotdl.site.build import build_site

        if progress is not None:
            progress("building the site first (eotdl build --no-qa)…")
        build_site(lab, qa=False)
    return write_label_page(
        lab, name, task=task, queue=queue, disagreements=disagreements, limit=limit
    )


def write_label_page(
    lab: Lab,
    name: str,
    *,
    task: str | None = None,
    queue: str = "all",
    disagreements: Path | None = None,
    site_dir: Path | None = None,
    limit: int | None = None,
) -> LabelPage:
    """Write the labelling page of dataset ``name`` into the site; return where it is."""
    if queue not in QUEUES:
        raise InputError(f"unknown queue {queue!r}", hint=f"one of {', '.join(QUEUES)}")
    folder = lab.dataset(name)
    if not folder.exists():
        raise InputError(f"no dataset {name!r} in {lab.root}")
    target = label_target(folder)
    task = task or target.task
    if task != target.task:
        raise InputError(f"dataset {name!r} is a {target.task} dataset, not {task}")
    items = {str(i["id"]): i for i in folder.iter_items()}
    findings = _qa_findings(lab, name)
    flags = review_flags(items.values(), target.class_property, findings)
    order = review_order(items, flags)
    if queue == "flagged":
        order = [i for i in order if i in flags]
    elif queue == "unlabelled":
        order = [i for i in order if not _has_label(items[i], task, target.class_property)]
    elif queue == "disagreements":
        order, reasons = _disagreement_queue(
            disagreements or labels_folder(lab, name) / DISAGREEMENTS
        )
        unknown = [i for i in order if i not in items]
        if unknown:
            raise InputError(f"the disagreements queue names unknown items: {unknown[:5]}")
        for item_id, reason in reasons.items():
            flags.setdefault(item_id, []).insert(0, reason)
    if limit is not None:
        order = order[:limit]
    if not order:
        raise InputError(f"the {queue!r} queue of dataset {name!r} is empty")
    out = (site_dir or lab.site_dir) / "datasets" / name / "label"
    staging = out.with_name(".label-staging")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "chips").mkdir(parents=True)
    try:
        renderer = _ChipRenderer(lab, folder, list(items.values()))
        chips = []
        for n, item_id in enumerate(order):
            item = items[item_id]
            image = f"chips/{n:06d}.png"
            (staging / image).write_bytes(renderer.png(item))
            chips.append(_chip(item, image, task, target.class_property, flags, renderer))
        collection = folder.read_collection()
        tasks = {
            "lab": lab.config.title or lab.root.name,
            "dataset": name,
            "version": str(collection.get("version") or ""),
            "task": task,
            "classes": list(target.classes),
            "queue": queue,
            "chips": chips,
        }
        page = (
            _template()
            .replace("__TITLE__", _escape(f"Label {name}"))
            .replace("__TASKS__", _script_json(tasks))
        )
        (staging / "index.html").write_text(page, encoding="utf-8")
        for static in STATIC:
            source = resources.files("eotdl.site").joinpath("static", static)
            (staging / static).write_bytes(source.read_bytes())
        shutil.rmtree(out, ignore_errors=True)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return LabelPage(
        out, f"datasets/{name}/label/", len(chips), sum(1 for i in order if i in flags)
    )


def _qa_findings(lab: Lab, name: str) -> list[dict[str, Any]]:
    path = qa_folder(lab, name) / QA_JSON
    try:
        report = orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return []
    findings = report.get("findings") if isinstance(report, dict) else None
    return [f for f in findings or [] if isinstance(f, dict)]


def _disagreement_queue(path: Path) -> tuple[list[str], dict[str, str]]:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(
            f"{path}: no disagreements queue",
            hint="run `eotdl labels agree FILE FILE … --dataset NAME` first",
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a disagreements queue ({exc})") from None
    entries = data.get("items") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{path}: not a disagreements queue (no 'items' list)")
    order: list[str] = []
    reasons: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("item_id"), str):
            order.append(entry["item_id"])
            score = entry.get("score")
            reasons[entry["item_id"]] = (
                f"annotators disagree (agreement {score})" if score is not None else "disagreement"
            )
    return order, reasons


def _has_label(item: dict[str, Any], task: str, class_property: str | None) -> bool:
    if task == "classification":
        return isinstance((item.get("properties") or {}).get(class_property or "class"), str)
    return "labels" in (item.get("assets") or {})


def _chip(
    item: dict[str, Any],
    image: str,
    task: str,
    class_property: str | None,
    flags: dict[str, list[str]],
    renderer: _ChipRenderer,
) -> dict[str, Any]:
    size = chip_size(item) or renderer.size_of(item)
    properties = item.get("properties") or {}
    chip: dict[str, Any] = {
        "id": str(item["id"]),
        "img": image,
        "w": size[0],
        "h": size[1],
        "split": properties.get(SPLIT),
        "flags": flags.get(str(item["id"]), []),
        "footprint": item.get("geometry"),
        "crs": _crs(properties),
        "geo": _pixel_to_wgs84(properties),
        "label": properties.get(class_property or "class") if task == "classification" else None,
        "boxes": renderer.boxes(item) if task == "detection" else [],
    }
    return chip


def _crs(properties: dict[str, Any]) -> str | None:
    if properties.get("proj:code"):
        return str(properties["proj:code"])
    if properties.get("proj:epsg"):
        return f"EPSG:{properties['proj:epsg']}"
    return None


def _pixel_to_wgs84(properties: dict[str, Any]) -> list[float] | None:
    """An affine (a, b, c, d, e, f): lon = a·x + b·y + c, lat = d·x + e·y + f, fitted on the
    chip's corners (exact enough for a chip; the pixels stay the exact record)."""
    transform = properties.get("proj:transform")
    crs = _crs(properties)
    shape = properties.get("proj:shape")
    if not (isinstance(transform, list) and len(transform) >= 6 and crs and shape):
        return None
    from pyproj import Transformer

    a, b, c, d, e, f = (float(v) for v in transform[:6])
    height, width = int(shape[0]), int(shape[1])
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    corners = [(0.0, 0.0), (float(width), 0.0), (0.0, float(height))]
    lonlat = [to_wgs84.transform(a * x + b * y + c, d * x + e * y + f) for x, y in corners]
    (lon0, lat0), (lon1, lat1), (lon2, lat2) = lonlat
    values = [
        (lon1 - lon0) / width,
        (lon2 - lon0) / height,
        lon0,
        (lat1 - lat0) / width,
        (lat2 - lat0) / height,
        lat0,
    ]
    return values if all(math.isfinite(v) for v in values) else None


class _ChipRenderer:
    """PNG quicklooks of chips: the thumbnail asset when there is one, else a rendering of
    the data asset (RGB by common name, else the first three bands, else one band), stretched
    alike for the whole dataset so chips compare."""

    def __init__(self, lab: Lab, folder: DatasetFolder, items: list[dict[str, Any]]) -> None:
        self.lab = lab
        self.folder = folder
        self.keys = StoreKeys(lab)
        self.store = self.keys.store
        self.stretch = _dataset_stretch(items)
        self._sizes: dict[str, tuple[int, int]] = {}

    def _read(self, href: str) -> bytes:
        key = self.keys.key(href, self.folder.path)
        if key is None:
            raise InputError(f"{self.folder.name}: asset {href!r} is not in the lab's store")
        with self.store.open(key) as handle:
            return handle.read()

    def size_of(self, item: dict[str, Any]) -> tuple[int, int]:
        return self._sizes.get(str(item["id"]), (CHIP_PIXELS, CHIP_PIXELS))

    def png(self, item: dict[str, Any]) -> bytes:
        assets = item.get("assets") or {}
        for asset in assets.values():
            if isinstance(asset, dict) and "thumbnail" in (asset.get("roles") or []):
                return self._read(str(asset["href"]))
        data = next(
            (
                a
                for a in assets.values()
                if isinstance(a, dict) and "data" in (a.get("roles") or []) and a.get("href")
            ),
            None,
        )
        if data is None:
            raise InputError(f"item {item['id']!r} has no data asset to show")
        return self._render(item, data)

    def _render(self, item: dict[str, Any], asset: dict[str, Any]) -> bytes:
        import numpy as np
        from PIL import Image
        from rasterio.io import MemoryFile

        with MemoryFile(self._read(str(asset["href"]))) as memory, memory.open() as src:
            self._sizes[str(item["id"])] = (src.width, src.height)
            bands = _display_bands(asset, src.count)
            scale = min(1.0, CHIP_PIXELS / max(src.width, src.height))
            shape = (max(1, round(src.height * scale)), max(1, round(src.width * scale)))
            array = src.read([b + 1 for b in bands], out_shape=(len(bands), *shape)).astype(
                "float64"
            )
            valid = src.read_masks(1, out_shape=shape) > 0
        channels = []
        for i, band in enumerate(bands):
            low, high = self.stretch.get(band) or _percentiles(array[i][valid])
            span = high - low if high > low else 1.0
            channels.append(np.clip((array[i] - low) / span * 255, 0, 255).astype("uint8"))
        if len(channels) == 1:
            channels = channels * 3
        rgba = np.dstack([*channels, np.where(valid, 255, 0).astype("uint8")])
        out = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(out, format="PNG", optimize=False)
        return out.getvalue()

    def boxes(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        asset = (item.get("assets") or {}).get("labels")
        if not isinstance(asset, dict) or "geo+json" not in str(asset.get("type", "")):
            return []
        try:
            data = orjson.loads(self._read(str(asset["href"])))
        except (ValueError, OSError):
            return []
        boxes = []
        for feature in data.get("features") or []:
            properties = (feature or {}).get("properties") or {}
            bbox = properties.get("pixel_bbox")
            if isinstance(bbox, list) and len(bbox) == 4:
                boxes.append({"class": str(properties.get("class")), "bbox": bbox})
        return boxes


def _display_bands(asset: dict[str, Any], count: int) -> list[int]:
    names = [str((b or {}).get("common_name", "")) for b in asset.get("eo:bands") or []]
    if all(c in names for c in ("red", "green", "blue")):
        return [names.index(c) for c in ("red", "green", "blue")]
    return [0, 1, 2] if count >= 3 else [0]


def _dataset_stretch(items: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    """band -> (low, high): mean of the chips' means ± 2 mean standard deviations."""
    sums: dict[int, list[float]] = {}
    for item in items:
        for asset in (item.get("assets") or {}).values():
            if not isinstance(asset, dict) or "data" not in (asset.get("roles") or []):
                continue
            for b, band in enumerate(asset.get("raster:bands") or []):
                stats = (band or {}).get("statistics") or {}
                mean, std = stats.get("mean"), stats.get("stddev")
                if isinstance(mean, int | float) and isinstance(std, int | float):
                    entry = sums.setdefault(b, [0.0, 0.0, 0.0])
                    entry[0] += mean
                    entry[1] += std
                    entry[2] += 1
    stretch = {}
    for b, (mean_sum, std_sum, n) in sums.items():
        mean, std = mean_sum / n, std_sum / n
        stretch[b] = (mean - 2 * std, mean + 2 * std)
    return stretch


def _percentiles(values: Any) -> tuple[float, float]:
    import numpy as np

    if values.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(values, [2, 98])
    return float(low), float(high)


def _template() -> str:
    return resources.files("eotdl.site").joinpath("templates", "label.html").read_text("utf-8")


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can close or open markup."""
    text = orjson.dumps(data).decode("utf-8")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
