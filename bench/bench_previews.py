"""Benchmark (issue #14): preview quicklooks, per thousand chips, and bytes read vs file size.

Chips are Sentinel-2-like COGs (4 bands uint16, 512 px, tiled, DEFLATE, with overviews) and a
few larger scenes (2048 px). Each is previewed as ingest does it (:mod:`eotdl.catalog.quicklook`:
a decimated read at 256 px, a shared 2–98 % stretch, a PNG). Bytes read are counted by a file
opener handed to rasterio (every byte GDAL reads from the file), against the files' sizes. The
baseline is a full read of the same files, then a subsample to 256 px (a naive preview).

    python bench/bench_previews.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import from_origin

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]

from results import table, write_section  # noqa: E402

from eotdl.catalog.quicklook import Chip, read_chip, render_png, stretch_limits  # noqa: E402


def write_cog(path: Path, size: int, seed: int) -> None:
    """A tiled, compressed GeoTIFF with internal overviews (what ingest --cog writes)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(300, 3000, size=(4, size // 16, size // 16)).astype("uint16")
    data = np.repeat(np.repeat(base, 16, axis=1), 16, axis=2)
    data = data + rng.integers(0, 60, size=data.shape).astype("uint16")
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 4,
        "dtype": "uint16",
        "crs": "EPSG:32631",
        "transform": from_origin(370000.0, 4830000.0, 10.0, 10.0),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        factors = [f for f in (2, 4, 8, 16) if size // f >= 64]
        dst.build_overviews(factors, Resampling.average)


class CountingFile(io.FileIO):
    """A file that adds what is read from it to :data:`READ`."""

    def readinto(self, buffer: Any) -> int | None:
        n = super().readinto(buffer)
        READ[0] += n or 0
        return n


READ = [0]


def opener(path: str, mode: str = "rb") -> Any:
    return io.BufferedReader(CountingFile(path, "rb"), buffer_size=16384)


def preview(location: str, limits: list[list[float]]) -> int:
    chip = read_chip(location, [3, 2, 1], opener=opener)
    return len(render_png(chip, limits))


def full_read(location: str, limits: list[list[float]]) -> int:
    with rasterio.open(location, opener=opener) as src:
        data = src.read([3, 2, 1], masked=True)
    step = max(1, max(data.shape[1:]) // 256)
    small = data[:, ::step, ::step]
    chip = Chip(
        np.asarray(small.filled(0), dtype=np.float32),
        ~np.ma.getmaskarray(small).any(axis=0),
        data.shape[1:],
    )
    return len(render_png(chip, limits))


def run(files: list[Path], limits: list[list[float]], how: str) -> tuple[float, int]:
    """Seconds and bytes read to preview ``files``."""
    READ[0] = 0
    start = time.perf_counter()
    for path in files:
        (preview if how == "preview" else full_read)(str(path), limits)
    return time.perf_counter() - start, READ[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer chips (a smoke run)")
    args = parser.parse_args()
    chips, scenes = (40, 2) if args.quick else (200, 6)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        groups = {
            "chips 512 px": [root / f"chip{i}.tif" for i in range(chips)],
            "scenes 2048 px": [root / f"scene{i}.tif" for i in range(scenes)],
        }
        for i, path in enumerate(groups["chips 512 px"]):
            write_cog(path, 512, i)
        for i, path in enumerate(groups["scenes 2048 px"]):
            write_cog(path, 2048, 1000 + i)
        sample = [read_chip(str(p), [3, 2, 1], 64) for p in groups["chips 512 px"][:24]]
        limits = stretch_limits(sample)
        rows = []
        for name, files in groups.items():
            size = sum(p.stat().st_size for p in files)
            local, sent = run(files, limits, "preview")
            naive, sent_full = run(files, limits, "full")
            rows.append(
                [
                    name,
                    len(files),
                    f"{size / len(files) / 1e6:.2f} MB",
                    f"{len(files) / local:.0f}/s",
                    f"{1000 * local / len(files):.1f} s",
                    f"{1000 * naive / len(files):.1f} s",
                    f"{sent / 1e6:.2f} MB ({100 * sent / size:.1f} %)",
                    f"{sent_full / 1e6:.2f} MB ({100 * sent_full / size:.0f} %)",
                ]
            )
    body = table(
        [
            "files",
            "count",
            "file size",
            "previews",
            "per 1,000 (local)",
            "full read, per 1,000",
            "bytes read (of the files)",
            "full read: bytes",
        ],
        rows,
    )
    body += (
        "\n\nA preview reads the overview nearest 256 px (decimated `out_shape` read), so its"
        " cost does not grow with the file: a 2048 px scene costs about what a 512 px chip"
        " costs. Bytes are what GDAL read from the files (a counting opener)."
    )
    command = "python bench/bench_previews.py" + (" --quick" if args.quick else "")
    write_section("previews", "Previews: quicklooks per thousand chips (issue #14)", command, body)
    print(body)


if __name__ == "__main__":
    main()
