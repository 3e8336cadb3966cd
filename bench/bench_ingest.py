"""`eotdl ingest rasters` on 1,000 generated 256×256×4 GeoTIFFs vs a plain rio-stac loop.

eotdl describes the rasters in parallel threads, uploads them to the lab's store
(content-addressed, hashed) and writes the dataset; the plain loop only calls
``rio_stac.create_stac_item`` on each file, one after the other, and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from results import table, write_section  # noqa: E402

EOTDL = str(Path(sys.executable).with_name("eotdl"))
LOOP = """
import sys, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from rio_stac import create_stac_item
files = sorted(Path(sys.argv[1]).glob("*.tif"))
start = time.perf_counter()
for f in files:
    create_stac_item(str(f), with_proj=True, with_raster=True, with_eo=True).to_dict()
print(time.perf_counter() - start)
"""


def make_rasters(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        data = rng.integers(1, 4000, size=(4, 256, 256), dtype="uint16")
        transform = from_origin(360000 + (i % 40) * 2560, 4830000 - (i // 40) * 2560, 10, 10)
        with rasterio.open(
            folder / f"chip{i:04d}_20230601.tif",
            "w",
            driver="GTiff",
            width=256,
            height=256,
            count=4,
            dtype="uint16",
            crs="EPSG:32631",
            transform=transform,
            nodata=0,
        ) as dst:
            dst.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 rasters instead of 1,000")
    args = parser.parse_args()
    count = 200 if args.quick else 1000
    work = HERE / "_work" / "ingest"
    shutil.rmtree(work, ignore_errors=True)
    source = work / "tifs"
    make_rasters(source, count)
    subprocess.run([EOTDL, "init", str(work / "lab")], check=True, capture_output=True)

    start = time.perf_counter()
    loop = subprocess.run(
        [sys.executable, "-c", LOOP, str(source)], check=True, capture_output=True, text=True
    )
    loop_wall = time.perf_counter() - start
    loop_s = float(loop.stdout.strip())

    start = time.perf_counter()
    subprocess.run(
        [EOTDL, "ingest", "rasters", str(source), "--dataset", "bench", "--no-progress"],
        cwd=work / "lab",
        check=True,
        capture_output=True,
    )
    eotdl_s = time.perf_counter() - start

    rows = [
        [
            "plain loop of `rio_stac.create_stac_item` (describe only)",
            f"{loop_s:.2f}",
            f"{count / loop_s:.0f}",
            "1.00×",
        ],
        [
            "`eotdl ingest rasters` (describe in parallel + hash + upload + write; whole CLI)",
            f"{eotdl_s:.2f}",
            f"{count / eotdl_s:.0f}",
            f"{loop_s / eotdl_s:.2f}×",
        ],
    ]
    load = os.getloadavg()[0]
    body = (
        f"{count} generated 256×256×4 uint16 GeoTIFFs (UTM 31N). The loop's time excludes its"
        f" start-up ({loop_wall - loop_s:.1f} s of imports); eotdl's is the whole command,"
        " start-up, hashing, upload to the embedded store and writing the dataset included."
        "\n\n"
        + table(["case", "seconds", "items/s", "vs loop"], rows)
        + f"\n\n- Target ≥ 1.5× with both cores: {loop_s / eotdl_s:.2f}×"
        f" ({'met' if loop_s / eotdl_s >= 1.5 else 'MISSED'})."
        f"\n- Load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs."
    )
    write_section(
        "ingest",
        "Ingesting rasters (issue #4)",
        f"python bench/bench_ingest.py{' --quick' if args.quick else ''}",
        body,
    )
    print(body)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
