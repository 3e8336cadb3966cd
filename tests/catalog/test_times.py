"""Times and intervals: one parser for the CLI, the STAC API and the builders."""

from __future__ import annotations

import datetime as dt

import pytest

from eotdl.catalog.times import format_interval, parse_instant, parse_interval
from eotdl.errors import InputError

UTC = dt.UTC
LAST = dt.time(23, 59, 59, 999999)


def test_years_months_and_days_cover_their_whole_span() -> None:
    assert parse_interval("2023") == (
        dt.datetime(2023, 1, 1, tzinfo=UTC),
        dt.datetime.combine(dt.date(2023, 12, 31), LAST, UTC),
    )
    assert parse_interval("2024-02/..") == (dt.datetime(2024, 2, 1, tzinfo=UTC), None)
    assert parse_interval("../2024-02")[1] == dt.datetime.combine(dt.date(2024, 2, 29), LAST, UTC)
    assert parse_instant("2023-05-01", end=True) == dt.datetime.combine(
        dt.date(2023, 5, 1), LAST, UTC
    )


def test_the_stac_api_takes_rfc3339_only() -> None:
    with pytest.raises(InputError):
        parse_interval("2023", strict=True)
    assert parse_interval("2023-05-01T10:00:00+02:00", strict=True)[0] == dt.datetime(
        2023, 5, 1, 8, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["May", "2023-13", "0000", "2023-02-30", "a/b/c", "../..", ""])
def test_bad_intervals_name_the_option(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_interval(text, name="--datetime")
    assert "--datetime" in caught.value.message


def test_format_interval_round_trips_whole_seconds() -> None:
    interval = parse_interval("2023-05-01/2023-05-31")
    assert format_interval(interval) == "2023-05-01T00:00:00Z/2023-05-31T23:59:59Z"
    assert format_interval((None, interval[1])) == "../2023-05-31T23:59:59Z"
