"""A tiny STAC API on 127.0.0.1 for tests, and the Sentinel-like scenes it serves.

:func:`start_stac_api` runs a real ``ThreadingHTTPServer``: a landing page that pystac-client
accepts (core + item-search + query conformance), ``/search`` (GET and POST, brute force over
the items it holds: collections, ids, bbox, intersects, datetime, ``query`` on
``eo:cloud_cover``, paging with ``next`` links), ``/collections/...``, and the COG files under
``/files/`` with HTTP Range support. It counts the bytes of files it sends, so a test can
check that a builder read windows, not whole files.

:func:`make_scenes` writes seeded Sentinel-2-like COGs (10 m, UTM 31N, uint16, one file per
band) and Sentinel-1-like COGs (float32 on a lon/lat grid, a different CRS and resolution,
values that are a linear function of lon/lat so a resampled value can be checked exactly).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from shapely.geometry import box, mapping, shape

CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0/collections",
]
S2 = "sentinel-2-l2a"
S1 = "sentinel-1-grd"
#: The Sentinel-2-like tile: UTM 31N, 10 m, top-left corner (near Toulouse).
S2_CRS = "EPSG:32631"
S2_ORIGIN = (370000.0, 4830000.0)
#: The Sentinel-1-like grid: lon/lat, 0.0002° pixels, top-left corner.
S1_ORIGIN = (1.37, 43.62)
S1_STEP = 0.0002
S2_BANDS = {
    "red": ("B04", 0.665),
    "green": ("B03", 0.56),
    "blue": ("B02", 0.49),
    "nir": ("B08", 0.842),
}


@dataclass
class StacApi:
    """A running test API: its URL, the items it serves and what it has sent."""

    url: str
    root: Path
    items: list[dict[str, Any]] = field(default_factory=list)
    file_bytes: int = 0
    file_requests: list[str] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        with self.lock:
            self.file_bytes = 0
            self.file_requests.clear()
            self.searches.clear()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def file_url(self, path: Path) -> str:
        return f"{self.url}/files/{path.relative_to(self.root).as_posix()}"


def start_stac_api(root: Path) -> StacApi:
    """Serve a STAC API (and the files under ``root``) on a free loopback port."""
    api = StacApi(url="", root=root)
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    api.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return api


class _Handler(BaseHTTPRequestHandler):
    api: StacApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._route(head=True)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._route()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if path == "/search":
            self._json(self._search(body, "POST"))
        else:
            self._json({"code": "NotFound"}, 404)

    def _route(self, head: bool = False) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        if path.startswith("/files/"):
            self._file(path[len("/files/") :], head)
            return
        query = dict(urllib.parse.parse_qsl(parts.query))
        api = self.api
        if path == "/":
            self._json(landing(api.url))
        elif path == "/conformance":
            self._json({"conformsTo": CONFORMS})
        elif path == "/search":
            params: dict[str, Any] = dict(query)
            for key in ("collections", "ids"):
                if key in params:
                    params[key] = params[key].split(",")
            if "bbox" in params:
                params["bbox"] = [float(v) for v in params["bbox"].split(",")]
            for key in ("intersects", "query"):
                if key in params:
                    params[key] = json.loads(params[key])
            self._json(self._search(params, "GET"))
        elif path == "/collections":
            ids = sorted({i["collection"] for i in api.items})
            self._json({"collections": [collection(api.url, c) for c in ids], "links": []})
        elif m := re.fullmatch(r"/collections/([^/]+)", path):
            self._json(collection(api.url, m.group(1)))
        elif m := re.fullmatch(r"/collections/([^/]+)/items/([^/]+)", path):
            found = [
                i for i in api.items if i["collection"] == m.group(1) and i["id"] == m.group(2)
            ]
            self._json(found[0] if found else {"code": "NotFound"}, 200 if found else 404)
        else:
            self._json({"code": "NotFound", "description": path}, 404)

    def _search(self, params: dict[str, Any], method: str) -> dict[str, Any]:
        api = self.api
        with api.lock:
            api.searches.append(dict(params))
        found = [i for i in api.items if matches(i, params)]
        found.sort(key=lambda i: (i["properties"]["datetime"], i["id"]), reverse=True)
        limit = int(params.get("limit") or 10)
        start = int(params.get("token") or 0)
        page = found[start : start + limit]
        links = [{"rel": "root", "href": api.url + "/"}]
        if start + limit < len(found):
            nxt = dict(params, token=str(start + limit))
            if method == "POST":
                links.append(
                    {"rel": "next", "href": api.url + "/search", "method": "POST", "body": nxt}
                )
            else:
                encoded = {
                    k: (
                        ",".join(map(str, v))
                        if isinstance(v, list)
                        else json.dumps(v)
                        if isinstance(v, dict)
                        else v
                    )
                    for k, v in nxt.items()
                }
                href = api.url + "/search?" + urllib.parse.urlencode(encoded)
                links.append({"rel": "next", "href": href, "method": "GET"})
        return {"type": "FeatureCollection", "features": page, "links": links}

    def _file(self, relative: str, head: bool) -> None:
        api = self.api
        path = (api.root / urllib.parse.unquote(relative)).resolve()
        if api.root.resolve() not in path.parents or not path.is_file():
            self._json({"code": "NotFound"}, 404)
            return
        size = path.stat().st_size
        header = self.headers.get("Range")
        start, end, status = 0, size - 1, 200
        if header:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
            if not match or not (match.group(1) or match.group(2)):
                self.send_error(416)
                return
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
            else:
                start = max(0, size - int(match.group(2)))
            if start > end:
                self.send_error(416)
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read(end - start + 1)
        self.wfile.write(data)
        with api.lock:
            api.file_bytes += len(data)
            api.file_requests.append(f"{relative} {header or 'all'}")

    def _json(self, value: Any, status: int = 200) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def landing(url: str) -> dict[str, Any]:
    """The API's landing page."""
    return {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "test-api",
        "title": "Test STAC API",
        "description": "A STAC API served by the tests on loopback",
        "conformsTo": CONFORMS,
        "links": [
            {"rel": "self", "href": url + "/", "type": "application/json"},
            {"rel": "root", "href": url + "/", "type": "application/json"},
            {"rel": "conformance", "href": url + "/conformance"},
            {"rel": "data", "href": url + "/collections", "type": "application/json"},
            {
                "rel": "search",
                "href": url + "/search",
                "type": "application/geo+json",
                "method": "GET",
            },
            {
                "rel": "search",
                "href": url + "/search",
                "type": "application/geo+json",
                "method": "POST",
            },
        ],
    }


def collection(url: str, collection_id: str) -> dict[str, Any]:
    """A minimal collection document."""
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "description": collection_id,
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [[None, None]]},
        },
        "links": [{"rel": "self", "href": f"{url}/collections/{collection_id}"}],
    }


def matches(item: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether ``item`` answers the search ``params`` (the subset the builder uses)."""
    collections = params.get("collections")
    if collections and item["collection"] not in collections:
        return False
    ids = params.get("ids")
    if ids and item["id"] not in ids:
        return False
    footprint = shape(item["geometry"])
    if params.get("bbox") and not footprint.intersects(box(*params["bbox"])):
        return False
    if params.get("intersects") and not footprint.intersects(shape(params["intersects"])):
        return False
    if params.get("datetime"):
        when = _time(item["properties"]["datetime"])
        start_text, slash, end_text = str(params["datetime"]).partition("/")
        if not slash:
            end_text = start_text
        if start_text not in ("", "..") and when < _time(start_text):
            return False
        if end_text not in ("", "..") and when > _time(end_text):
            return False
    ops = {"lt": np.less, "lte": np.less_equal, "gt": np.greater, "gte": np.greater_equal}
    for name, tests in (params.get("query") or {}).items():
        value = item["properties"].get(name)
        for op, limit in tests.items():
            if op == "eq":
                if value != limit:
                    return False
            elif value is None or not ops[op](value, limit):
                return False
    return True


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- scenes ---------------------------------------------------------------------------------


def write_cog(
    path: Path,
    data: np.ndarray,
    crs: str,
    transform: Any,
    nodata: float | None,
    blocksize: int = 128,
) -> Path:
    """A tiled, compressed COG with overviews (GDAL's COG driver)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": data.shape[-1],
        "height": data.shape[-2],
        "count": 1 if data.ndim == 2 else data.shape[0],
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    with MemoryFile() as memory, memory.open(**profile) as staged:
        staged.write(data if data.ndim == 3 else data[np.newaxis])
        rasterio.shutil.copy(
            staged, str(path), driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=str(blocksize)
        )
    return path


def s1_value(band: str, lon: float | np.ndarray, lat: float | np.ndarray, day: int) -> Any:
    """The Sentinel-1-like backscatter: linear in lon/lat (bilinear resampling keeps it)."""
    a, b = (2.0, 3.0) if band == "vv" else (0.5, -1.0)
    return 0.1 * day + a * (np.asarray(lon) - S1_ORIGIN[0]) + b * (np.asarray(lat) - 43.5)


def s2_item(
    api: StacApi,
    item_id: str,
    when: str,
    cloud: float,
    *,
    seed: int,
    size: int = 512,
    nodata_cols: int = 0,
    blocksize: int = 128,
    missing: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A Sentinel-2-like scene: one uint16 COG per band (``nodata_cols`` left columns = 0)."""
    rng = np.random.default_rng(seed)
    transform = from_origin(*S2_ORIGIN, 10.0, 10.0)
    assets = {}
    for key, (name, wavelength) in S2_BANDS.items():
        data = rng.integers(1, 10000, size=(size, size)).astype("uint16")
        data[:, :nodata_cols] = 0
        path = api.root / S2 / item_id / f"{name}.tif"
        write_cog(path, data, S2_CRS, transform, 0, blocksize)
        if key in missing:
            path.unlink()
        assets[key] = {
            "href": api.file_url(path),
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "eo:bands": [{"name": name, "common_name": key, "center_wavelength": wavelength}],
            "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}],
        }
    bounds = (
        S2_ORIGIN[0],
        S2_ORIGIN[1] - 10.0 * size,
        S2_ORIGIN[0] + 10.0 * size,
        S2_ORIGIN[1],
    )
    return _item(api, S2, item_id, when, bounds, S2_CRS, assets, {"eo:cloud_cover": cloud})


def s1_item(
    api: StacApi, item_id: str, when: str, *, day: int, size: int = 512, blocksize: int = 128
) -> dict[str, Any]:
    """A Sentinel-1-like scene: float32 vv/vh COGs on a lon/lat grid of 0.0002° pixels."""
    transform = from_origin(*S1_ORIGIN, S1_STEP, S1_STEP)
    cols, rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    lon = S1_ORIGIN[0] + cols * S1_STEP
    lat = S1_ORIGIN[1] - rows * S1_STEP
    assets = {}
    for key in ("vv", "vh"):
        data = s1_value(key, lon, lat, day).astype("float32")
        path = api.root / S1 / item_id / f"{key}.tif"
        write_cog(path, data, "EPSG:4326", transform, float("nan"), blocksize)
        assets[key] = {
            "href": api.file_url(path),
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
        }
    bounds = (
        S1_ORIGIN[0],
        S1_ORIGIN[1] - S1_STEP * size,
        S1_ORIGIN[0] + S1_STEP * size,
        S1_ORIGIN[1],
    )
    props = {"sar:polarizations": ["VV", "VH"], "platform": "sentinel-1a"}
    return _item(api, S1, item_id, when, bounds, "EPSG:4326", assets, props)


def _item(
    api: StacApi,
    collection_id: str,
    item_id: str,
    when: str,
    bounds: tuple[float, float, float, float],
    crs: str,
    assets: dict[str, Any],
    props: dict[str, Any],
) -> dict[str, Any]:
    from rasterio.warp import transform_geom

    geometry = transform_geom(crs, "EPSG:4326", mapping(box(*bounds)))
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": item_id,
        "collection": collection_id,
        "geometry": geometry,
        "bbox": list(shape(geometry).bounds),
        "properties": {"datetime": when, **props},
        "links": [
            {"rel": "self", "href": f"{api.url}/collections/{collection_id}/items/{item_id}"},
            {"rel": "collection", "href": f"{api.url}/collections/{collection_id}"},
        ],
        "assets": assets,
    }
    api.items.append(item)
    return item


def make_scenes(api: StacApi, *, size: int = 512, blocksize: int = 128) -> dict[str, dict]:
    """The standard scenes: three Sentinel-2 days (one cloudy, one half empty) and three S1.

    S2 ``s2-a`` 2023-05-01 (5 % cloud), ``s2-b`` 2023-05-11 (80 %), ``s2-c`` 2023-05-21 (10 %,
    its left 200 columns are nodata). S1 ``s1-a`` 2023-05-02, ``s1-b`` 2023-05-09, ``s1-c``
    2023-05-19.
    """
    made = {
        "s2-a": s2_item(
            api, "s2-a", "2023-05-01T10:30:00Z", 5.0, seed=1, size=size, blocksize=blocksize
        ),
        "s2-b": s2_item(
            api, "s2-b", "2023-05-11T10:30:00Z", 80.0, seed=2, size=size, blocksize=blocksize
        ),
        "s2-c": s2_item(
            api,
            "s2-c",
            "2023-05-21T10:30:00Z",
            10.0,
            seed=3,
            size=size,
            blocksize=blocksize,
            nodata_cols=size * 200 // 512,
        ),
        "s1-a": s1_item(api, "s1-a", "2023-05-02T06:00:00Z", day=2, size=size, blocksize=blocksize),
        "s1-b": s1_item(api, "s1-b", "2023-05-09T06:00:00Z", day=9, size=size, blocksize=blocksize),
        "s1-c": s1_item(
            api, "s1-c", "2023-05-19T06:00:00Z", day=19, size=size, blocksize=blocksize
        ),
    }
    return made


def utm_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """A UTM 31N point in longitude/latitude."""
    from pyproj import Transformer

    return Transformer.from_crs(S2_CRS, "EPSG:4326", always_xy=True).transform(x, y)


def utm_polygon(minx: float, miny: float, maxx: float, maxy: float) -> dict[str, Any]:
    """A UTM 31N rectangle as a densified lon/lat GeoJSON polygon."""
    import shapely
    from pyproj import Transformer

    rect = shapely.segmentize(box(minx, miny, maxx, maxy), 10.0)
    to_ll = Transformer.from_crs(S2_CRS, "EPSG:4326", always_xy=True)
    return mapping(shapely.transform(rect, lambda c: np.column_stack(to_ll.transform(*c.T))))
