"""Plots of the EDA for the dataset page: class bars, a footprint map, a time histogram and
band histograms; each written as PNG and SVG (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from eotdl.qa.geo import CONTINENT_BOXES  # noqa: E402

#: Plot names, in the order of the report.
PLOTS = ("classes", "footprints", "time", "bands")
MAX_BARS = 40
MAX_BAND_PANELS = 16


def _save(figure: Figure, folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / f"{name}.png", dpi=100)
    figure.savefig(folder / f"{name}.svg")
    plt.close(figure)
    return f"plots/{name}.png"


def plot_classes(eda: dict[str, Any], folder: Path) -> str | None:
    """Bars of the class counts."""
    counts = eda.get("classes", {}).get("counts") or {}
    if not counts:
        return None
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])[:MAX_BARS]
    figure, axes = plt.subplots(
        figsize=(max(4, 0.35 * len(ordered) + 2), 3.2), layout="constrained"
    )
    axes.bar([k for k, _ in ordered], [v for _, v in ordered], color="#3a6ea5")
    axes.set_ylabel("count")
    axes.set_title("Class balance")
    axes.tick_params(axis="x", labelrotation=60 if len(ordered) > 6 else 0)
    return _save(figure, folder, "classes")


def plot_footprints(eda: dict[str, Any], folder: Path) -> str | None:
    """The footprint union over the coarse continent boxes, zoomed to the data."""
    spatial = eda.get("spatial") or {}
    union, bbox = spatial.get("union"), spatial.get("bbox")
    if not union or not bbox:
        return None
    figure, axes = plt.subplots(figsize=(5, 4), layout="constrained")
    for _name, west, south, east, north in CONTINENT_BOXES:
        axes.add_patch(
            Rectangle(
                (west, south), east - west, north - south, fill=False, lw=0.3, color="#bbbbbb"
            )
        )
    polygons = union["coordinates"] if union["type"] == "MultiPolygon" else [union["coordinates"]]
    if union["type"] in ("Polygon", "MultiPolygon"):
        for polygon in polygons:
            xs, ys = zip(*polygon[0], strict=True)
            axes.fill(xs, ys, color="#d95f02", alpha=0.6, lw=0.5)
    west, south, east, north = bbox
    cells = spatial.get("grid", {}).get("cells") or []
    if cells and max(east - west, north - south) >= 2:
        axes.scatter(
            [c["lon"] + 0.5 for c in cells],
            [c["lat"] + 0.5 for c in cells],
            s=[8 + 40 * c["count"] / cells[0]["count"] for c in cells],
            color="#1b9e77",
            alpha=0.5,
            label="items per 1° cell",
        )
        axes.legend(loc="lower left", fontsize=7)
    pad = max(east - west, north - south, 0.01) * 0.2
    axes.set_xlim(max(-180, west - pad), min(180, east + pad))
    axes.set_ylim(max(-90, south - pad), min(90, north + pad))
    axes.set_xlabel("longitude")
    axes.set_ylabel("latitude")
    axes.set_aspect("equal", adjustable="box")
    axes.set_title("Footprints")
    return _save(figure, folder, "footprints")


def plot_time(eda: dict[str, Any], folder: Path) -> str | None:
    """Items per month."""
    months = eda.get("temporal", {}).get("by_month") or {}
    if not months:
        return None
    keys = sorted(months)
    figure, axes = plt.subplots(figsize=(max(4, 0.25 * len(keys) + 2), 3), layout="constrained")
    axes.bar(range(len(keys)), [months[k] for k in keys], color="#7570b3")
    step = max(1, len(keys) // 12)
    axes.set_xticks(range(0, len(keys), step), keys[::step], rotation=45, ha="right")
    axes.set_ylabel("items")
    axes.set_title("Items per month")
    return _save(figure, folder, "time")


def plot_bands(eda: dict[str, Any], folder: Path) -> str | None:
    """One histogram per band (the first few)."""
    bands = [b for b in eda.get("bands") or [] if b.get("histogram")][:MAX_BAND_PANELS]
    if not bands:
        return None
    columns = min(2, len(bands))
    rows = (len(bands) + columns - 1) // columns
    figure, grid = plt.subplots(
        rows, columns, figsize=(4.5 * columns, 2.8 * rows), squeeze=False, layout="constrained"
    )
    for axes, band in zip(grid.flat, bands, strict=False):
        edges, counts = band["histogram"]["edges"], band["histogram"]["counts"]
        axes.stairs(counts, edges, fill=True, color="#66a61e")
        axes.set_title(f"{band['asset']} {band['name']}", fontsize=11)
        axes.set_ylabel("pixels", fontsize=9)
        axes.tick_params(labelsize=9)
    for axes in list(grid.flat)[len(bands) :]:
        axes.axis("off")
    return _save(figure, folder, "bands")


def write_plots(eda: dict[str, Any], folder: Path) -> dict[str, str | None]:
    """Every plot into ``folder/plots``; paths relative to ``folder`` (None: nothing to draw)."""
    target = folder / "plots"
    for name in PLOTS:  # a plot with nothing to draw this time must not linger from before
        for suffix in (".png", ".svg"):
            (target / f"{name}{suffix}").unlink(missing_ok=True)
    return {
        "classes": plot_classes(eda, target),
        "footprints": plot_footprints(eda, target),
        "time": plot_time(eda, target),
        "bands": plot_bands(eda, target),
    }
