"""Bias measures and the coarse geography they rest on."""

from __future__ import annotations

import math

import pytest

from eotdl.qa.bias import compute_bias, imbalance_ratio, normalised_entropy, top_share
from eotdl.qa.geo import area_m2, continent, grid_cell, season


def test_imbalance_and_entropy():
    assert imbalance_ratio({"a": 100, "b": 10, "c": 0}) == 10
    assert imbalance_ratio({"a": 5}) is None
    assert normalised_entropy({"a": 1, "b": 1, "c": 1}) == pytest.approx(1.0)
    assert normalised_entropy({"a": 1, "b": 0}) == 0
    assert normalised_entropy({"a": 3, "b": 1}) == pytest.approx(0.8113, abs=1e-4)


def test_top_share():
    cells = {i: 1 for i in range(20)} | {"big": 80}
    assert top_share(cells) == pytest.approx((80 + 1 + 1) / 100)  # top 3 of 21 cells
    assert top_share({}) is None


def test_flags_carry_value_threshold_and_explanation():
    bias = compute_bias(
        {"a": 1000, "b": 10},
        {(float(i), 0.0): (100 if i == 0 else 1) for i in range(12)},
        {"Africa": 111},
        {"summer": 100, "winter": 11},
        {"2020": 111},
    )
    flags = {f["code"]: f for f in bias["flags"]}
    assert set(flags) == {
        "class-imbalance",
        "class-entropy",
        "geo-concentration",
        "geo-one-continent",
        "season-concentration",
        "year-concentration",
    }
    assert flags["class-imbalance"]["value"] == 100 and flags["class-imbalance"]["threshold"] == 10
    assert flags["geo-concentration"]["value"] == pytest.approx(101 / 111, abs=1e-4)
    assert all(f["explanation"] for f in flags.values())
    assert bias["seasons"] == {"winter": 11, "spring": 0, "summer": 100, "autumn": 0}


def test_balanced_dataset_has_no_flags():
    bias = compute_bias(
        {"a": 10, "b": 12},
        {(float(i), 0.0): 1 for i in range(30)},
        {"Africa": 10, "Europe": 10, "Asia": 10},
        {"winter": 7, "spring": 8, "summer": 8, "autumn": 7},
        {"2020": 10, "2021": 10, "2022": 10},
    )
    assert bias["flags"] == []


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (1.4, 43.6, "Europe"),  # Toulouse
        (36.8, -1.3, "Africa"),  # Nairobi
        (139.7, 35.7, "Asia"),  # Tokyo
        (-74.0, 40.7, "North America"),  # New York
        (-47.9, -15.8, "South America"),  # Brasília
        (151.2, -33.9, "Oceania"),  # Sydney
        (0.0, -80.0, "Antarctica"),
        (-40.0, 72.0, "North America"),  # Greenland
        (-30.0, 0.0, "other"),  # the middle of the Atlantic
    ],
)
def test_coarse_continents(lon, lat, expected):
    assert continent(lon, lat) == expected


def test_seasons_flip_in_the_south():
    assert season(1, 45.0) == "winter" and season(1, -33.0) == "summer"
    assert season(4, 10.0) == "spring" and season(10, -10.0) == "spring"


def test_grid_and_area():
    assert grid_cell(1.4, 43.6) == (1.0, 43.0)
    assert grid_cell(-0.5, -0.5) == (-1.0, -1.0)
    assert grid_cell(10.0, 90.0) == (10.0, 89.0)
    import shapely

    degree = shapely.box(0, 0, 1, 1)
    assert area_m2(degree) == pytest.approx(
        111_319.5 * 110_574 * math.cos(math.radians(0.5)), rel=0.01
    )
    assert area_m2(shapely.Point(0, 0)) == 0
