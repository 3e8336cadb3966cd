"""Geography for the EDA: geodesic areas, a coarse grid, and a coarse continent lookup.

The continent of a point is found in a short list of lon/lat boxes, tried in order: no
network and no boundary data, so coasts, islands and borders are approximate (Turkey counts
as Europe west of 40°E, New Guinea as Asia, the oceans as whatever box they fall in).
"""

from __future__ import annotations

import math

from pyproj import Geod
from shapely.geometry.base import BaseGeometry

#: Grid cell size in degrees for coverage counts and geographic concentration.
GRID_DEG = 1.0
_GEOD = Geod(ellps="WGS84")

#: (continent, west, south, east, north), tried in this order; the first box that holds the
#: point wins.
CONTINENT_BOXES: tuple[tuple[str, float, float, float, float], ...] = (
    ("Antarctica", -180, -90, 180, -60),
    ("South America", -82, -56, -34, 13),
    ("North America", -170, 7, -50, 84),
    ("North America", -75, 59, -10, 84),  # Greenland
    ("Europe", -25, 36, 40, 72),
    ("Africa", -18, -35, 52, 37.5),
    ("Oceania", 110, -48, 180, -10),
    ("Asia", 26, -11, 180, 82),
    ("Oceania", -180, -30, -120, 30),  # the Pacific islands
)


def continent(lon: float, lat: float) -> str:
    """The continent a point falls in (coarse boxes), or "other" (open ocean)."""
    for name, west, south, east, north in CONTINENT_BOXES:
        if west <= lon <= east and south <= lat <= north:
            return name
    return "other"


def area_m2(geometry: BaseGeometry) -> float:
    """Geodesic area of a lon/lat geometry in square metres (0 for points and lines)."""
    if geometry.is_empty or geometry.area == 0:
        return 0.0
    area, _ = _GEOD.geometry_area_perimeter(geometry)
    return abs(float(area))


def grid_cell(lon: float, lat: float, size: float = GRID_DEG) -> tuple[float, float]:
    """The south-west corner of the grid cell holding a point."""
    return (
        math.floor(lon / size) * size,
        math.floor(max(-90.0, min(lat, 89.999999)) / size) * size,
    )


def season(month: int, lat: float) -> str:
    """Meteorological season of a month, flipped in the southern hemisphere."""
    names = ("winter", "spring", "summer", "autumn")
    index = (month % 12) // 3
    if lat < 0:
        index = (index + 2) % 4
    return names[index]
