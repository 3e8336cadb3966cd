"""Which scenes fill each chip of the ``stac-api`` builder (:mod:`eotdl.builders.chip_plans`)."""

from __future__ import annotations

import datetime as dt

from shapely.geometry import box

from eotdl.builders.chip_plans import area_tasks, by_overlap, nearest, point_groups
from eotdl.builders.chips import Grid, from_lonlat, utm_crs
from eotdl.builders.mosaic import Counts
from eotdl.builders.scenes import Scene

MAY = dt.datetime(2023, 5, 1, 10, 30, tzinfo=dt.UTC)


def _scene(name: str, footprint: tuple[float, ...], day: int, cloud: float | None) -> Scene:
    when = MAY + dt.timedelta(days=day)
    return Scene("s2", name, f"http://127.0.0.1/{name}", when, cloud, box(*footprint), {})


def test_area_cells_group_scenes_by_day_least_cloudy_first() -> None:
    area = box(3.0, 45.0, 3.01, 45.01)
    crs = utm_crs(*area.centroid.coords[0])
    area_xy = from_lonlat(area, crs)
    grid = Grid.covering(area_xy, crs, 10.0, 64)
    covering = (2.9, 44.9, 3.1, 45.1)
    scenes = [
        _scene("a", covering, 0, 40.0),
        _scene("b", covering, 2, 5.0),
        _scene("c", covering, 2, None),  # unknown cloud: counted as the worst
        _scene("far", (10.0, 10.0, 10.1, 10.1), 1, 0.0),  # touches no chip
    ]
    stats = Counts()
    tasks = area_tasks(grid, area_xy, scenes, pick="least-cloudy", stats=stats)
    assert len(tasks) == len(list(grid.cells(area_xy))) > 1
    for task in tasks:
        assert [[s.id for s in group] for group in task.groups] == [["b", "c"], ["a"]]
    every_day = area_tasks(grid, area_xy, scenes, pick="all", stats=stats)
    assert len(every_day) == 2 * len(tasks)
    assert {tuple(s.id for s in t.groups[0]) for t in every_day} == {("a",), ("b", "c")}
    assert not stats.counts["chips_without_scene"]
    area_tasks(grid, area_xy, scenes[3:], pick="all", stats=stats)
    assert stats.counts["chips_without_scene"] == len(tasks)


def test_the_scene_covering_most_of_the_chip_leads() -> None:
    chip = box(0.0, 0.0, 1.0, 1.0)
    half = _scene("half", (0.5, 0.0, 2.0, 1.0), 0, 0.0)
    whole = _scene("whole", (-1.0, -1.0, 2.0, 2.0), 0, 50.0)
    assert [s.id for s in by_overlap([half, whole], chip)] == ["whole", "half"]


def test_points_take_the_nearest_day_first() -> None:
    chip = box(0.0, 0.0, 1.0, 1.0)
    scenes = [_scene(f"d{day}", (-1.0, -1.0, 2.0, 2.0), day, 0.0) for day in (0, 3, 5)]
    groups = point_groups(scenes, chip, MAY + dt.timedelta(days=4))
    assert [g[0].id for g in groups] == ["d3", "d5", "d0"]
    assert point_groups([], chip, MAY) == ()


def test_other_collections_match_by_time_within_the_buffer() -> None:
    chip = box(0.0, 0.0, 1.0, 1.0)
    scenes = [_scene(f"d{day}", (-1.0, -1.0, 2.0, 2.0), day, 0.0) for day in (0, 2, 9)]
    scenes.append(_scene("elsewhere", (5.0, 5.0, 6.0, 6.0), 1, 0.0))
    found = nearest(scenes, chip, MAY + dt.timedelta(days=1), dt.timedelta(days=3))
    assert [s.id for s in found] == ["d0", "d2"]
