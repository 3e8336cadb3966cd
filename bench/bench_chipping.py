"""Benchmark (issue #4): bytes read by ``stac-api`` chipping against the size of the sources.

A STAC API and Sentinel-like COGs (tiled, DEFLATE, with overviews, like Earth Search's) are
served on 127.0.0.1 by ``tests/stacapi_server.py``, which counts the bytes it sends. Each
scenario builds chips with the ``stac-api`` builder on a fresh server (nothing cached by GDAL)
and compares the bytes read with the size of the source files it touched (what a
download-then-cut workflow would fetch), and the time with downloading those files whole.

    python bench/bench_chipping.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]

from results import table, write_section  # noqa: E402

from eotdl.builders.stac_api import StacApiBuilder  # noqa: E402
from stacapi_server import (  # noqa: E402
    S1,
    S2,
    S2_ORIGIN,
    StacApi,
    s1_item,
    s2_item,
    start_stac_api,
    utm_polygon,
    utm_to_lonlat,
)


@dataclass
class Scenario:
    """One chipping job: a name and the builder options."""

    name: str
    options: dict[str, Any]


@dataclass
class Outcome:
    scenario: str
    chips: int
    bytes_read: int
    source_bytes: int
    requests: int
    seconds: float
    download_seconds: float

    @property
    def ratio(self) -> float:
        return self.bytes_read / self.source_bytes if self.source_bytes else 0.0


def make_world(root: Path, size: int, blocksize: int) -> StacApi:
    """Three Sentinel-2-like days (one cloudy) and two Sentinel-1-like days."""
    api = start_stac_api(root)
    s2_item(api, "s2-a", "2023-05-01T10:30:00Z", 5.0, seed=1, size=size, blocksize=blocksize)
    s2_item(api, "s2-b", "2023-05-11T10:30:00Z", 80.0, seed=2, size=size, blocksize=blocksize)
    s2_item(api, "s2-c", "2023-05-21T10:30:00Z", 10.0, seed=3, size=size, blocksize=blocksize)
    s1_item(api, "s1-a", "2023-05-02T06:00:00Z", day=2, size=size, blocksize=blocksize)
    s1_item(api, "s1-c", "2023-05-19T06:00:00Z", day=19, size=size, blocksize=blocksize)
    return api


def clone(api: StacApi) -> StacApi:
    """The same items and files on a new port, so GDAL's HTTP cache starts empty."""
    fresh = start_stac_api(api.root)
    fresh.items = [json.loads(json.dumps(i).replace(api.url, fresh.url)) for i in api.items]
    return fresh


def download_seconds(api: StacApi, paths: list[str]) -> float:
    """Time to GET the given files whole (the download-then-cut alternative)."""
    start = time.perf_counter()
    for path in paths:
        with urllib.request.urlopen(f"{api.url}/files/{path}") as response:
            while response.read(1 << 20):
                pass
    return time.perf_counter() - start


def run(base: StacApi, scenario: Scenario, work: Path) -> Outcome:
    api = clone(base)
    try:
        workdir = work / scenario.name
        builder = StacApiBuilder(api.url, "bench", workdir, **scenario.options)
        builder.progress = False
        start = time.perf_counter()
        chips = sum(1 for _ in builder.items())
        seconds = time.perf_counter() - start
        touched = sorted({r.split()[0] for r in api.file_requests})
        source = sum((api.root / p).stat().st_size for p in touched)
        outcome = Outcome(
            scenario.name,
            chips,
            api.file_bytes,
            source,
            len(api.file_requests),
            seconds,
            download_seconds(api, touched),
        )
        shutil.rmtree(workdir, ignore_errors=True)
        return outcome
    finally:
        api.close()


def scenarios(work: Path, size: int, chip: int) -> list[Scenario]:
    span = 10.0 * chip
    x0, y0 = S2_ORIGIN[0] + 10.0 * size / 4, S2_ORIGIN[1] - 10.0 * size / 4

    def area(cells: int) -> Path:
        path = work / f"aoi-{cells}.geojson"
        box = (x0 + 1, y0 - cells * span + 1, x0 + cells * span - 1, y0 - 1)
        path.write_text(json.dumps(utm_polygon(*box)))
        return path

    points = work / "points.geojson"
    features = []
    for index in range(10):
        x = x0 + (index % 5) * span * 0.9
        y = y0 - (index // 5) * span * 1.3
        lon, lat = utm_to_lonlat(x, y)
        features.append(
            {
                "type": "Feature",
                "id": f"site{index}",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"datetime": "2023-05-04T00:00:00Z", "value": index},
            }
        )
    points.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    common = {"chip_size": chip, "datetime": "2023-05-01/2023-05-31", "max_cloud": 30.0}
    return [
        Scenario("1 chip, 4 bands", {**common, "aoi": area(1)}),
        Scenario("2×2 chips, 4 bands", {**common, "aoi": area(2)}),
        Scenario("2×2 chips, every clear day", {**common, "aoi": area(2), "pick": "all"}),
        Scenario(
            "2×2 chips, S2 + S1 fused",
            {**common, "aoi": area(2), "collection": [S2, S1], "assets": ["red,nir"]},
        ),
        Scenario("10 points, nearest day", {**common, "points": points, "time_buffer": "5d"}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scenes (1024 px)")
    args = parser.parse_args()
    size, blocksize, chip = (1024, 256, 128) if args.quick else (4096, 512, 256)
    work = Path(tempfile.mkdtemp(prefix="eotdl-bench-chipping-"))
    try:
        print(f"writing scenes ({size}×{size} px, {blocksize} px tiles)…", flush=True)
        base = make_world(work / "www", size, blocksize)
        outcomes = []
        for scenario in scenarios(work, size, chip):
            outcome = run(base, scenario, work)
            print(
                f"{outcome.scenario}: {outcome.chips} chips, read {outcome.bytes_read:,} of"
                f" {outcome.source_bytes:,} bytes ({outcome.ratio:.1%}) in"
                f" {outcome.seconds:.2f} s",
                flush=True,
            )
            outcomes.append(outcome)
        base.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        [
            o.scenario,
            o.chips,
            f"{o.bytes_read / 1e6:.2f}",
            f"{o.source_bytes / 1e6:.1f}",
            f"{o.ratio:.1%}",
            o.requests,
            f"{o.seconds:.2f}",
            f"{o.download_seconds:.2f}",
        ]
        for o in outcomes
    ]
    body = (
        f"Sources: Sentinel-2-like scenes of {size}×{size} px (4 uint16 bands, one COG each,"
        f" {blocksize} px tiles, DEFLATE, overviews) and Sentinel-1-like scenes (float32,"
        " lon/lat grid), served on 127.0.0.1 with HTTP range support. Chips of"
        f" {chip} px at 10 m in UTM 31N, 4 worker threads. *Source MB* is the size of the"
        " files the job touched: what downloading them whole, then cutting, would fetch;"
        " *download s* is the time to fetch them whole over the same loopback server"
        " (a lower bound for that approach, before any cutting).\n\n"
        + table(
            [
                "scenario",
                "chips",
                "read MB",
                "source MB",
                "read / source",
                "range requests",
                "stac-api s",
                "download s",
            ],
            rows,
        )
    )
    command = "python bench/bench_chipping.py" + (" --quick" if args.quick else "")
    write_section("chipping", "stac-api chipping: bytes read vs source size", command, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
