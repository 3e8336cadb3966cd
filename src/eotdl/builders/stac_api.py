"""``stac-api``: training chips cut from a STAC API's COGs (issue #4, the "Sentinel helper").

SOURCE is the API's URL (e.g. Earth Search). The builder searches it with pystac-client for
scenes of one or more collections over an area (``--bbox``/``--aoi``) and a time range, lays a
grid of chips over the area in one CRS (the UTM zone of its centre), and reads only each chip's
window of each remote COG (HTTP range requests through GDAL), resampled onto the chip's grid.
Several collections are stacked onto that one grid (Sentinel-1 next to Sentinel-2: data
fusion). ``--points`` cuts one chip around each in-situ observation instead, from the scene
nearest in time. Optional label polygons are rasterised onto every chip.

Every chip is a deterministic COG in ``workdir``; its item records the scenes it came from as
``derived_from`` links and the acquisition time of the scene used.

This module holds the builder: its options, the chips it plans (area grid or points) and its
metadata. Searching the API is :mod:`~eotdl.builders.scene_search`, filling a chip from scenes
:mod:`~eotdl.builders.mosaic`, describing a chip :mod:`~eotdl.builders.chip_items`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from shapely.geometry import Point

from eotdl.builders.base import Builder, Labels, Option
from eotdl.builders.chip_items import chip_item
from eotdl.builders.chip_plans import AreaTask, area_tasks, nearest, point_groups
from eotdl.builders.chips import Frame, Grid, from_lonlat, point_frame, utm_crs
from eotdl.builders.geoinputs import LabelShapes, Observation, parse_area, read_points
from eotdl.builders.mosaic import Band, ChipReader, Counts, Layer, output_band
from eotdl.builders.parallel import ordered_map
from eotdl.builders.scene_search import DEFAULT_API, SceneSearch
from eotdl.builders.scenes import DEFAULT_ASSETS, Scene, iso, parse_duration, widen
from eotdl.catalog.card import Card
from eotdl.catalog.times import parse_interval
from eotdl.errors import InputError

log = logging.getLogger(__name__)

T = TypeVar("T")


class StacApiBuilder(Builder):
    name = "stac-api"
    summary = "chips of Sentinel-1/2 (any STAC API COGs) over an area or around points, fused"
    version = "1"
    options = (
        Option(
            "collection",
            "Collection to read (repeat to stack several onto one grid; the first leads).",
            multiple=True,
            default=("sentinel-2-l2a",),
        ),
        Option("bbox", "Area of interest as W,S,E,N in degrees."),
        Option("aoi", "Area of interest: a GeoJSON file of polygons.", type=Path),
        Option("datetime", "Time range A/B (ISO dates or times, '..' for open)."),
        Option(
            "max_cloud",
            "Keep scenes of the first collection with eo:cloud_cover below N (%).",
            type=float,
        ),
        Option(
            "assets",
            "Assets to stack: red,nir (first collection) or sentinel-1-grd:vv,vh (repeat).",
            multiple=True,
        ),
        Option("chip_size", "Chip width and height in pixels.", type=int, default=256),
        Option(
            "resolution",
            "Pixel size of the chips (metres; units of --crs).",
            type=float,
            default=10.0,
        ),
        Option("crs", "CRS of the chip grid (default: the UTM zone of the area or point)."),
        Option(
            "pick",
            "Per chip, the least cloudy day or one chip for every day with data.",
            choices=("least-cloudy", "all"),
            default="least-cloudy",
        ),
        Option(
            "time_buffer",
            "Time window around each point, and for matching the other collections (3d, 12h).",
            default="3d",
        ),
        Option("labels", "GeoJSON polygons rasterised into a mask per chip.", type=Path),
        Option(
            "class_property", "Property holding the class of labels or points.", default="class"
        ),
        Option("points", "GeoJSON points with a time and values: one chip around each.", type=Path),
        Option("time_property", "Property holding each point's time.", default="datetime"),
        Option("max_scenes", "Most scenes taken from one search.", type=int, default=500),
        Option("workers", "Chips read in parallel.", type=int, default=4),
        Option(
            "skip_broken",
            "Skip scenes whose assets are missing or unreadable instead of failing.",
            flag=True,
            default=False,
        ),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        s = self.settings
        self.api = (source or DEFAULT_API).rstrip("/")
        if not self.api.startswith(("http://", "https://")):
            raise InputError(
                f"stac-api: SOURCE must be the URL of a STAC API, not {source!r}",
                hint=f"e.g. {DEFAULT_API} (Earth Search)",
            )
        self.collections = _as_list(s["collection"]) or ["sentinel-2-l2a"]
        if len(set(self.collections)) != len(self.collections):
            raise InputError(f"--collection lists a collection twice: {self.collections}")
        self.wanted = _parse_assets(_as_list(s["assets"]), self.collections)
        self.size = int(s["chip_size"])
        self.resolution = float(s["resolution"])
        if self.size < 1 or self.size > 10_000 or not self.resolution > 0:
            raise InputError(
                f"--chip-size {self.size} / --resolution {self.resolution}: need 1..10000 pixels"
                " and a positive resolution"
            )
        self.buffer = parse_duration(str(s["time_buffer"]))
        self.interval = (
            parse_interval(s["datetime"], name="--datetime") if s["datetime"] else (None, None)
        )
        self.max_cloud = None if s["max_cloud"] is None else float(s["max_cloud"])
        self.workers = max(1, int(s["workers"]))
        self.crs = _crs(s["crs"]) if s["crs"] else None
        self.area = parse_area(s["bbox"], s["aoi"])
        self.points = (
            read_points(Path(s["points"]), str(s["time_property"])) if s["points"] else None
        )
        if self.area is None and self.points is None:
            raise InputError(
                "stac-api needs an area (--bbox W,S,E,N or --aoi FILE) or --points FILE"
            )
        self.shapes = (
            LabelShapes.load(Path(s["labels"]), str(s["class_property"])) if s["labels"] else None
        )
        self.bands: list[Band] = []
        self.stats = Counts()
        self.progress = sys.stderr.isatty()
        self.reader = ChipReader(self.bands, self.stats, skip_broken=bool(s["skip_broken"]))
        self.search = SceneSearch(
            self.api,
            wanted=self.wanted,
            max_cloud=self.max_cloud,
            max_scenes=int(s["max_scenes"]),
            skip_broken=bool(s["skip_broken"]),
            stats=self.stats,
        )
        self._others: dict[str, list[Scene]] = {}
        self._width = 1
        self.labels = self._labels()
        self.steps = self._steps()

    # -- STAC metadata ---------------------------------------------------------------------

    def _labels(self) -> Labels | None:
        if self.shapes is not None:
            names = self.shapes.names
            legend = ", ".join(f"{code}={names[code]}" for code in sorted(names))
            return Labels(
                type="raster",
                tasks=["segmentation"],
                classes=self.shapes.classes,
                description=f"class mask rasterised from {Path(self.settings['labels']).name}"
                + (f" ({legend}; 0=background)" if legend else " (0=background)"),
                class_property=str(self.settings["class_property"]),
            )
        if self.points is not None:
            keys = sorted({k for p in self.points for k in p.values})
            return Labels(
                type="vector",
                tasks=["regression"],
                properties=keys or None,
                description="in-situ observation at the chip's centre pixel",
                class_property=str(self.settings["class_property"]),
            )
        return None

    def _steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = [
            {
                "step": "search",
                "api": self.api,
                "collections": list(self.collections),
                "datetime": self.settings["datetime"],
                "max_cloud": self.max_cloud,
            },
            {
                "step": "chip",
                "size": self.size,
                "resolution": self.resolution,
                "crs": self.settings["crs"] or "UTM zone of the area (or point)",
                "resampling": "bilinear (nearest for classes)",
                "pick": "nearest in time" if self.points else self.settings["pick"],
            },
        ]
        if self.shapes is not None:
            steps.append({"step": "rasterize-labels", "class_property": self.labels_property})
        return steps

    @property
    def labels_property(self) -> str:
        return str(self.settings["class_property"])

    def collection(self) -> dict[str, Any]:
        if self.points is not None or self.area is None:
            where = f"around {len(self.points or [])} points"
        else:
            where = "over " + ", ".join(f"{v:.4f}" for v in self.area.bounds)
        when = f", {self.settings['datetime']}" if self.settings["datetime"] else ""
        host = urlsplit(self.api).netloc or self.api
        return {
            "title": self.dataset.replace("-", " ").replace("_", " ").capitalize(),
            "description": (
                f"Chips of {self.size}×{self.size} pixels at {self.resolution:g} m from"
                f" {', '.join(self.collections)} ({self.api}) {where}{when}, made with the"
                " eotdl `stac-api` builder."
            ),
            "license": "other",
            "keywords": ["earth observation", *self.collections],
            "providers": [{"name": host, "roles": ["host"], "url": self.api}],
        }

    def card(self) -> Card:
        card = super().card()
        card.body += (
            f"\nChips read from {', '.join(self.collections)} through the STAC API {self.api}."
            ' For Copernicus Sentinel data, cite: "Contains modified Copernicus Sentinel data'
            ' [year]".\n'
        )
        return card

    # -- building --------------------------------------------------------------------------

    def items(self) -> Iterator[dict[str, Any]]:
        self.search.client()  # an unreachable API or no STAC API: said before anything else
        results: Generator[dict[str, Any] | None, None, None]
        if self.points is not None:
            self._resolve_bands_from_points()
            point_tasks = self._point_tasks()
            total = len(point_tasks) if self.progress else None
            results = self._map(self._point_item, point_tasks, total)
        else:
            area_tasks = self._area_tasks()
            total = len(area_tasks) if self.progress else None
            results = self._map(self._area_item, area_tasks, total)
        written = 0
        try:
            for item in results:
                if item is not None:
                    written += 1
                    yield item
        finally:
            results.close()  # stops the threads before their open files are closed
            self.reader.close()
        counts = self.stats.counts
        log.info("stac-api: %d chips written; %s", written, dict(sorted(counts.items())))
        if written == 0:
            raise InputError(
                f"stac-api: no chip had data ({self._summary()})",
                hint="widen --datetime or --time-buffer, raise --max-cloud, or check the area",
            )

    def _map(
        self, fn: Callable[[T], dict[str, Any] | None], tasks: list[T], total: int | None
    ) -> Generator[dict[str, Any] | None, None, None]:
        """``fn`` over ``tasks`` on the chip threads, in order, at most 2×workers in flight."""
        return ordered_map(
            fn,
            tasks,
            workers=self.workers,
            window=2 * self.workers,
            total=total,
            what="chips",
            thread_name_prefix="eotdl-chip",
        )

    def _summary(self) -> str:
        counts = self.stats.counts
        parts = [f"{n} {key.replace('_', ' ')}" for key, n in sorted(counts.items()) if n]
        return ", ".join(parts) or "nothing matched"

    # area mode

    def _area_tasks(self) -> list[AreaTask]:
        assert self.area is not None
        crs = self.crs or utm_crs(*self.area.centroid.coords[0])
        area_xy = from_lonlat(self.area, crs)
        grid = Grid.covering(area_xy, crs, self.resolution, self.size)
        primary = self.search.scenes(self.collections[0], self.area, self.interval, True)
        self._resolve_bands(primary)
        self._others = {
            c: self.search.scenes(c, self.area, widen(self.interval, self.buffer), False)
            for c in self.collections[1:]
        }
        for c, found in self._others.items():
            self._resolve_bands(found)
            self.stats.add(f"scenes_{c}", len(found))
        self.stats.add(f"scenes_{self.collections[0]}", len(primary))
        width = len(str(max(grid.rows, grid.cols) - 1))
        self._width = width
        return area_tasks(grid, area_xy, primary, pick=str(self.settings["pick"]), stats=self.stats)

    def _area_item(self, task: AreaTask) -> dict[str, Any] | None:
        footprint = task.frame.footprint()

        def others(when: dt.datetime) -> dict[str, list[Scene]]:
            return {
                c: nearest(scenes, footprint, when, self.buffer)
                for c, scenes in self._others.items()
            }

        found = self.reader.compose(task.frame, task.groups, others)
        if found is None:
            return None
        layers, day = found
        w = self._width
        item_id = f"{self.dataset}-{task.row:0{w}d}-{task.col:0{w}d}-{day}"
        return self._item(item_id, task.frame, layers)

    # point mode

    def _point_tasks(self) -> list[Observation]:
        assert self.points is not None
        tasks = []
        start, end = self.interval
        for task in self.points:
            if self.area is not None and not self.area.intersects(Point(task.lon, task.lat)):
                self.stats.add("points_outside_area")
                continue
            if (start and task.when < start) or (end and task.when > end):
                self.stats.add("points_outside_datetime")
                continue
            tasks.append(task)
        return tasks

    def _resolve_bands_from_points(self) -> None:
        """Fix the band list from the first scene of each collection around the first points."""
        assert self.points is not None
        for collection in self.collections:
            for task in self.points[:20]:
                window = (task.when - 2 * self.buffer, task.when + 2 * self.buffer)
                spot = Point(task.lon, task.lat)
                scenes = self.search.scenes(
                    collection, spot, window, collection == self.collections[0], False
                )
                if scenes:
                    self._resolve_bands(scenes)
                    break
            else:
                self._resolve_bands([], collection)

    def _point_item(self, task: Observation) -> dict[str, Any] | None:
        crs = self.crs or utm_crs(task.lon, task.lat)
        x, y = from_lonlat(Point(task.lon, task.lat), crs).coords[0]
        frame = point_frame(x, y, crs, self.resolution, self.size)
        footprint = frame.footprint()
        spot = Point(task.lon, task.lat)
        window = (task.when - self.buffer, task.when + self.buffer)
        primary = self.search.scenes(self.collections[0], spot, window, True, False)
        groups = point_groups(primary, footprint, task.when)
        if not groups:
            self.stats.add("points_without_scene")
            return None
        wide = (task.when - 2 * self.buffer, task.when + 2 * self.buffer)
        others_found = {
            c: self.search.scenes(c, spot, wide, False, False) for c in self.collections[1:]
        }

        def others(when: dt.datetime) -> dict[str, list[Scene]]:
            return {
                c: nearest(scenes, footprint, when, self.buffer)
                for c, scenes in others_found.items()
            }

        found = self.reader.compose(frame, groups, others)
        if found is None:
            return None
        layers, day = found
        item = self._item(f"{self.dataset}-{task.id}-{day}", frame, layers)
        for key, value in task.values.items():
            item["properties"].setdefault(key, value)
        if self.shapes is None:
            item["properties"]["label:description"] = (
                f"in-situ observation of {iso(task.when)} at the chip's centre pixel"
            )
        labels = self.workdir / "chips" / f"{item['id']}-point.geojson"
        _write_json(labels, {"type": "FeatureCollection", "features": [task.feature]})
        item["assets"]["observation"] = {
            "href": str(labels),
            "type": "application/geo+json",
            "title": "the in-situ observation",
            "roles": ["labels", "labels-vector"] if self.shapes is None else ["metadata"],
        }
        return item

    # shared

    def _item(self, item_id: str, frame: Frame, layers: list[Layer]) -> dict[str, Any]:
        """Write the chip (and mask) and describe them as one item."""
        return chip_item(
            item_id,
            frame,
            layers,
            self.bands,
            self.workdir / "chips",
            labels=self.labels,
            shapes=self.shapes,
            class_property=self.labels_property,
        )

    # -- bands ------------------------------------------------------------------------------

    def _resolve_bands(self, scenes: list[Scene], collection: str | None = None) -> None:
        """The output bands of a collection, named ``collection:asset``, from its first scene."""
        if scenes:
            collection = scenes[0].collection
        assert collection is not None
        if any(b.collection == collection for b in self.bands):
            return
        names = self.search.wanted.get(collection) or list(DEFAULT_ASSETS.get(collection, ()))
        if not names:
            raise InputError(
                f"no scenes of {collection} found to learn its assets",
                hint=f"name them with --assets {collection}:A,B",
            )
        first = scenes[0].assets if scenes else {}
        for name in names:
            self.bands.append(
                output_band(collection, name, first[name].eo if name in first else {})
            )
        self.bands.sort(key=lambda b: self.collections.index(b.collection))


# -- helpers -------------------------------------------------------------------------------


def _crs(text: str) -> str:
    """A CRS given by the user, checked and written as ``EPSG:NNNN`` (or WKT)."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        crs = CRS.from_user_input(text)
    except (CRSError, ValueError):
        raise InputError(f"--crs {text!r}: not a CRS", hint="e.g. EPSG:32631") from None
    return crs.to_string()


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _parse_assets(values: list[str], collections: list[str]) -> dict[str, list[str]]:
    """``red,nir`` (first collection) and ``COLLECTION:vv,vh`` → {collection: [assets]}."""
    out: dict[str, list[str]] = {}
    for value in values:
        head, colon, tail = value.rpartition(":")
        collection = head if colon else collections[0]
        names = [n.strip() for n in (tail if colon else value).split(",") if n.strip()]
        if collection not in collections:
            raise InputError(
                f"--assets {value!r}: {collection!r} is not one of the --collection values",
                hint=f"collections: {', '.join(collections)}",
            )
        if not names:
            raise InputError(f"--assets {value!r}: name at least one asset")
        out.setdefault(collection, []).extend(n for n in names if n not in out.get(collection, []))
    return out


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, sort_keys=True, separators=(",", ":")), encoding="utf-8")
