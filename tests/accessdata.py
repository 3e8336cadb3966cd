"""Labs, sites and a slow server for the access tests, made by the tests themselves (seeded).

A plain module (not conftest.py: every test folder's conftest is named ``conftest``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rasterio.warp import transform_geom

from eotdl.builders.ingest import ingest
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.tree import write_stac_tree
from rastergen import CRS, ORIGIN, write_mask, write_tif

CLASSES = ["Forest", "Pasture", "River"]


def make_chips(source: Path, per_class: int = 4, size: int = 16) -> Path:
    """A folder per class of small 3-band GeoTIFF chips."""
    for c, name in enumerate(CLASSES):
        for i in range(per_class):
            write_tif(
                source / name / f"{name}_{i}.tif",
                seed=10 * c + i,
                bands=3,
                size=size,
                offset=(10.0 * size * i, -10.0 * size * c),
            )
    return source


def chips_lab(
    root: Path,
    store_url: str | None = None,
    per_class: int = 4,
    endpoint_url: str | None = None,
    size: int = 16,
) -> Lab:
    """A lab with the classification dataset ``chips`` (stratified splits)."""
    lab = init_lab(root / "lab", store_url=store_url) if store_url else init_lab(root / "lab")
    if endpoint_url:
        config = lab.root / "eotdl.toml"
        setting = f'[store]\nendpoint_url = "{endpoint_url}"'
        config.write_text(re.sub(r"(?m)^\[store\]$", setting, config.read_text()))
        lab = Lab(lab.root)
    make_chips(root / "src", per_class, size)
    ingest(
        lab,
        "classification-folders",
        str(root / "src"),
        "chips",
        {"datetime": "2018-06-01"},
        split="stratified:0.5,0.25,0.25",
        progress=False,
    )
    return lab


def build_site(lab: Lab, parquet: bool = True) -> Path:
    write_stac_tree(lab, lab.site_dir, parquet=parquet)
    return lab.site_dir


def segmentation_lab(root: Path) -> Lab:
    lab = init_lab(root / "lab")
    source = root / "pairs"
    for i in range(4):
        offset = (i * 160.0, 0.0)
        write_tif(source / "images" / f"tile_{i}.tif", seed=i, bands=3, size=16, offset=offset)
        write_mask(source / "masks" / f"tile_{i}.tif", [0, 1, 2], seed=i, size=16, offset=offset)
    classes = root / "classes.yaml"
    classes.write_text("0: background\n1: water\n2: forest\n")
    ingest(
        lab,
        "segmentation-pairs",
        str(source),
        "tiles",
        {"classes": str(classes), "datetime": "2021-03-04"},
        split="random:0.5,0.25,0.25",
        progress=False,
    )
    return lab


def _box(offset: float, xmin: int, ymin: int, xmax: int, ymax: int) -> dict:
    x0, y0 = ORIGIN[0] + offset, ORIGIN[1]
    left, right, top, bottom = x0 + 10 * xmin, x0 + 10 * xmax, y0 - 10 * ymin, y0 - 10 * ymax
    ring = [[left, bottom], [right, bottom], [right, top], [left, top], [left, bottom]]
    return transform_geom(CRS, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]})


def detection_lab(root: Path) -> Lab:
    lab = init_lab(root / "lab")
    source = root / "images"
    features = []
    for i in range(4):
        offset = i * 200.0
        write_tif(source / f"scene_{i}.tif", seed=i, bands=3, size=16, offset=(offset, 0.0))
        for j in range(i):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"image": f"scene_{i}.tif", "class": ["car", "boat"][j % 2]},
                    "geometry": _box(offset, j, j, j + 4, j + 3),
                }
            )
    boxes = root / "boxes.geojson"
    boxes.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    ingest(
        lab,
        "detection",
        str(source),
        "boxes",
        {"boxes": str(boxes), "datetime": "2022-01-01"},
        split="random:0.5,0.25,0.25",
        progress=False,
    )
    return lab


# -- a deliberately slow HTTP server --------------------------------------------------------


@dataclass
class SlowServer:
    """Serves a folder on 127.0.0.1; ``delay`` seconds per ``chunk`` bytes sent (0: full speed).

    Records every request path with its Range header, and the bytes sent.
    """

    url: str
    root: Path
    delay: float = 0.0
    chunk: int = 4096
    bytes_sent: int = 0
    ranges: list[tuple[str, str | None]] | None = None

    def __post_init__(self) -> None:
        self.ranges = []
        self.lock = threading.Lock()


class _SlowHandler(SimpleHTTPRequestHandler):
    served: SlowServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        served = self.served
        header = self.headers.get("Range")
        with served.lock:
            assert served.ranges is not None
            served.ranges.append((self.path, header))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if header:
            start = int(header.split("=", 1)[1].split("-", 1)[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for offset in range(0, len(body), served.chunk):
            piece = body[offset : offset + served.chunk]
            try:
                self.wfile.write(piece)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            with served.lock:
                served.bytes_sent += len(piece)
            if served.delay:
                time.sleep(served.delay)


def start_slow_server(root: Path) -> tuple[ThreadingHTTPServer, SlowServer]:
    """Serve ``root`` slowly (see :class:`SlowServer`) in a background thread."""
    served = SlowServer(url="", root=root)
    handler = type("Handler", (_SlowHandler,), {"served": served})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=os.fspath(root))
    )
    server.daemon_threads = True
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, served
