"""A small SVG picture of where a dataset's items are: its card's thumbnail on the home page.

The footprints are drawn in their own extent (a heat grid when there are many), with a world
locator in the corner. Numbers only go into the SVG; nothing of the user's text does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

WIDTH, HEIGHT = 320, 180
Projection = Callable[[float, float], tuple[float, float]]
_MAX_BOXES = 600
_GRID = (32, 18)


def thumbnail_svg(boxes: Sequence[Sequence[float]], seed: str = "") -> str:
    """An SVG of ``boxes`` (``[w, s, e, n]`` in degrees) in their extent, with a locator."""
    hue = sum(map(ord, seed)) % 360 if seed else 205
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img">',
        "<defs><linearGradient id='g' x1='0' y1='0' x2='1' y2='1'>"
        f"<stop offset='0' stop-color='hsl({hue},45%,96%)'/>"
        f"<stop offset='1' stop-color='hsl({(hue + 40) % 360},40%,88%)'/>"
        "</linearGradient></defs>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#g)"/>',
    ]
    valid = [b for b in boxes if len(b) >= 4 and all(math.isfinite(v) for v in b[:4])]
    if not valid:
        parts.append(_graticule_lines(0, 0, WIDTH, HEIGHT, 8, 5, hue))
        parts.append("</svg>")
        return "".join(parts)
    west = min(b[0] for b in valid)
    south = min(b[1] for b in valid)
    east = max(b[2] for b in valid)
    north = max(b[3] for b in valid)
    project = _projection(west, south, east, north)
    parts.append(_graticule(west, south, east, north, project, hue))
    if len(valid) <= _MAX_BOXES:
        parts.append(f'<g fill="hsl({hue},70%,45%)" fill-opacity=".35" ')
        parts.append(f'stroke="hsl({hue},75%,32%)" stroke-width=".8">')
        for box in valid:
            x0, y0 = project(box[0], box[3])
            x1, y1 = project(box[2], box[1])
            w, h = max(x1 - x0, 1.6), max(y1 - y0, 1.6)
            parts.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}"/>')
        parts.append("</g>")
    else:
        parts.append(_heat(valid, project, hue))
    parts.append(_locator(west, south, east, north, hue))
    parts.append("</svg>")
    return "".join(parts)


def _projection(west: float, south: float, east: float, north: float) -> Projection:
    """Equirectangular, scaled (with cos(lat) for longitudes) to fit the frame with a margin."""
    pad = 14
    mid = math.radians(max(-80.0, min(80.0, (south + north) / 2)))
    kx = max(math.cos(mid), 0.05)
    span_x = max((east - west) * kx, 1e-6)
    span_y = max(north - south, 1e-6)
    scale = min((WIDTH - 2 * pad) / span_x, (HEIGHT - 2 * pad) / span_y)
    off_x = (WIDTH - span_x * scale) / 2
    off_y = (HEIGHT - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return off_x + (lon - west) * kx * scale, off_y + (north - lat) * scale

    return project


def _graticule(
    west: float, south: float, east: float, north: float, project: Projection, hue: int
) -> str:
    span = max(east - west, north - south, 1e-6)
    step = 10 ** math.floor(math.log10(span / 2))
    lines = [f'<g stroke="hsl({hue},30%,70%)" stroke-width=".5" stroke-dasharray="2 3">']
    lon = math.floor(west / step) * step
    while lon <= east + step:
        x, _ = project(lon, 0)
        if 0 <= x <= WIDTH:
            lines.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{HEIGHT}"/>')
        lon += step
    lat = math.floor(south / step) * step
    while lat <= north + step:
        _, y = project(0, lat)
        if 0 <= y <= HEIGHT:
            lines.append(f'<line x1="0" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}"/>')
        lat += step
    lines.append("</g>")
    return "".join(lines)


def _graticule_lines(x: float, y: float, w: float, h: float, nx: int, ny: int, hue: int) -> str:
    lines = [f'<g stroke="hsl({hue},30%,75%)" stroke-width=".5">']
    for i in range(1, nx):
        lines.append(
            f'<line x1="{x + w * i / nx:.1f}" y1="{y}" x2="{x + w * i / nx:.1f}" y2="{y + h}"/>'
        )
    for j in range(1, ny):
        lines.append(
            f'<line x1="{x}" y1="{y + h * j / ny:.1f}" x2="{x + w}" y2="{y + h * j / ny:.1f}"/>'
        )
    lines.append("</g>")
    return "".join(lines)


def _heat(boxes: list[Sequence[float]], project: Projection, hue: int) -> str:
    nx, ny = _GRID
    counts: dict[tuple[int, int], int] = {}
    for box in boxes:
        x, y = project((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        cell = (min(nx - 1, max(0, int(x / WIDTH * nx))), min(ny - 1, max(0, int(y / HEIGHT * ny))))
        counts[cell] = counts.get(cell, 0) + 1
    top = max(counts.values())
    cw, ch = WIDTH / nx, HEIGHT / ny
    parts = [f'<g fill="hsl({hue},70%,42%)">']
    for (cx, cy), count in sorted(counts.items()):
        opacity = 0.15 + 0.8 * math.log1p(count) / math.log1p(top)
        parts.append(
            f'<rect x="{cx * cw:.1f}" y="{cy * ch:.1f}" width="{cw - 1:.1f}" '
            f'height="{ch - 1:.1f}" rx="1.5" fill-opacity="{opacity:.2f}"/>'
        )
    parts.append("</g>")
    return "".join(parts)


def _locator(west: float, south: float, east: float, north: float, hue: int) -> str:
    """A 64×32 world in the bottom-right corner with the extent marked."""
    w, h = 64, 32
    x0, y0 = WIDTH - w - 6, HEIGHT - h - 6
    bx = x0 + (west + 180) / 360 * w
    by = y0 + (90 - north) / 180 * h
    bw = max((east - west) / 360 * w, 2.5)
    bh = max((north - south) / 180 * h, 2.5)
    return (
        f'<g><rect x="{x0}" y="{y0}" width="{w}" height="{h}" rx="3" fill="#fff" '
        f'fill-opacity=".85" stroke="hsl({hue},25%,60%)" stroke-width=".6"/>'
        + _graticule_lines(x0, y0, w, h, 4, 2, hue)
        + f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
        f'fill="hsl({(hue + 180) % 360},80%,48%)"/></g>'
    )
