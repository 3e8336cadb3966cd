"""Which scenes each chip of the ``stac-api`` builder is filled from, in which order.

Over an area, each cell of the chip grid gets the primary collection's scenes that touch it,
grouped by day: the least cloudy day first (``--pick least-cloudy``) or one chip per day
(``--pick all``). Around a point, the days nearest the observation come first. Within a day,
the scene covering most of the chip leads (:func:`by_overlap`); another collection is matched
by the scenes nearest in time (:func:`nearest`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from eotdl.builders.chips import Frame, Grid
from eotdl.builders.mosaic import Counts
from eotdl.builders.scenes import Scene


@dataclass(frozen=True)
class AreaTask:
    """A chip of the area grid and the primary scenes to try, one day's group after another."""

    row: int
    col: int
    frame: Frame
    groups: tuple[tuple[Scene, ...], ...]


def area_tasks(
    grid: Grid, area_xy: BaseGeometry, primary: list[Scene], *, pick: str, stats: Counts
) -> list[AreaTask]:
    """The chips of ``grid`` over ``area_xy`` that some scene of ``primary`` touches, each with
    its scenes grouped by day (cells no scene touches are counted as ``chips_without_scene``)."""
    tree = STRtree([scene.footprint for scene in primary])
    tasks = []
    for row, col in grid.cells(area_xy):
        frame = grid.frame(row, col)
        footprint = frame.footprint()
        days: dict[str, list[Scene]] = {}
        for index in sorted(tree.query(footprint, predicate="intersects")):
            scene = primary[int(index)]
            days.setdefault(scene.day, []).append(scene)
        if not days:
            stats.add("chips_without_scene")
            continue
        groups = [by_overlap(scenes, footprint) for _, scenes in sorted(days.items())]
        if pick == "all":
            tasks += [AreaTask(row, col, frame, (group,)) for group in groups]
        else:
            groups.sort(key=lambda g: (min(cloud(s) for s in g), g[0].day))
            tasks.append(AreaTask(row, col, frame, tuple(groups)))
    return tasks


def point_groups(
    scenes: Iterable[Scene], footprint: BaseGeometry, when: dt.datetime
) -> tuple[tuple[Scene, ...], ...]:
    """``scenes`` grouped by day, the day nearest ``when`` first (empty when none)."""
    days: dict[str, list[Scene]] = {}
    for scene in scenes:
        days.setdefault(scene.day, []).append(scene)
    return tuple(
        sorted(
            (by_overlap(g, footprint) for g in days.values()),
            key=lambda g: (min(abs(s.when - when) for s in g), g[0].day),
        )
    )


def cloud(scene: Scene) -> float:
    """A scene's cloud cover, unknown counted as the worst."""
    return math.inf if scene.cloud is None else scene.cloud


def by_overlap(scenes: Iterable[Scene], footprint: BaseGeometry) -> tuple[Scene, ...]:
    """Scenes ordered by how much of the chip they cover, then cloud, then id."""
    return tuple(
        sorted(
            scenes,
            key=lambda s: (-round(s.footprint.intersection(footprint).area, 12), cloud(s), s.id),
        )
    )


def nearest(
    scenes: Iterable[Scene], footprint: BaseGeometry, when: dt.datetime, buffer: dt.timedelta
) -> list[Scene]:
    """Scenes over the chip within ``buffer`` of ``when``, nearest first."""
    near = [s for s in scenes if abs(s.when - when) <= buffer and s.footprint.intersects(footprint)]
    return sorted(near, key=lambda s: (abs(s.when - when), s.id))
