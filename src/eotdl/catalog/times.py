"""Times and time intervals, parsed in one place (ISO 8601 / RFC 3339, always UTC).

:func:`parse_utc` reads the times builders find in files; :func:`parse_instant` and
:func:`parse_interval` read what a user types (CLI, Python, the STAC API's ``datetime``, a
builder's ``--datetime``); :func:`item_times` and :func:`overlaps` match items to intervals.

Anything that is not a time in the range a ``datetime`` can hold, in UTC as in any offset
(``0001-01-01T00:00+14:00`` is before year 1 in UTC), is a ``ValueError``, so every caller's
``except ValueError`` turns it into a message naming the file and line; never an
``OverflowError`` or a ``TypeError`` from deep inside the standard library.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from eotdl.errors import InputError

#: An interval of UTC instants; None is open.
Interval = tuple[dt.datetime | None, dt.datetime | None]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_utc(text: Any) -> dt.datetime:
    """An ISO 8601 date or time as an aware UTC datetime: no offset means UTC, a date means
    midnight; ``Z`` and ``z`` are UTC."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text")
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(value)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not an ISO 8601 date or time") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    try:
        return when.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


def format_utc(when: dt.datetime, *, micros: bool = False) -> str:
    """``2023-05-01T10:30:00Z`` (four-digit year; fractions of a second with ``micros``)."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    text = (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
        f"T{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
    )
    if micros and when.microsecond:
        text += f".{when.microsecond:06d}"
    return text + "Z"


#: RFC 3339 date-time: date, T, time, optional fraction, zone (Z or ±hh:mm).
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)
_TIME_HINT = (
    "write an RFC 3339 date-time like 2020-01-01T00:00:00Z, or an interval A/B with .. for an"
    " open end"
)
_LENIENT_HINT = (
    "write e.g. 2020-01-01T00:00:00Z, a date like 2020-01-01, or an interval A/B with .. for"
    " an open end"
)


def parse_instant(text: str, end: bool = False, strict: bool = False) -> dt.datetime:
    """An RFC 3339 time in UTC; an impossible one (2023-02-30) is an InputError, never a crash.

    ``strict`` (the STAC API) takes RFC 3339 date-times only; otherwise (the CLI, Python,
    builders) a date, a month (``2023-05``) or a year (``2023``) means its first or, with
    ``end``, its last instant, and a time with no zone is UTC.
    """
    value = text.strip() if isinstance(text, str) else ""
    hint = _TIME_HINT if strict else _LENIENT_HINT
    if not strict and (_YEAR.match(value) or _MONTH.match(value)):
        year, _, month_text = value.partition("-")
        in_month = int(month_text) if month_text else None
        if int(year) < 1 or (in_month is not None and not 1 <= in_month <= 12):
            raise InputError(f"{text!r} is not a year or a month (YYYY, YYYY-MM)", hint=hint)
        if not end:
            return dt.datetime(int(year), in_month or 1, 1, tzinfo=dt.UTC)
        last_month = in_month or 12
        last_day = calendar.monthrange(int(year), last_month)[1]
        return dt.datetime(int(year), last_month, last_day, 23, 59, 59, 999999, tzinfo=dt.UTC)
    if not strict and _DATE.match(value):
        try:
            midnight = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        except ValueError as exc:
            raise InputError(f"{text!r} is not a date: {exc}", hint=hint) from None
        return midnight + dt.timedelta(days=1, microseconds=-1) if end else midnight
    match = _RFC3339.match(value)
    if match is None and not strict:
        match = _RFC3339.match(_lenient(value))
    if match is None:
        raise InputError(f"{text!r} is not an RFC 3339 date-time", hint=hint)
    year, month, day, hour, minute, second, fraction, zone = match.groups("")
    try:
        if zone in ("Z", "z"):
            tz = dt.UTC
        else:
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(f"time zone offset {zone} out of range")
            tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        leap = int(second) == 60  # a leap second: the last instant of its minute
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            59 if leap else int(second),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=tz,
        )
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"{text!r} is not a valid date-time: {exc}", hint=hint) from None


def _lenient(value: str) -> str:
    """What the CLI also accepts, rewritten as RFC 3339: a space for T, no seconds, no zone."""
    value = value.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", value) else value
    match = re.match(r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2})((?:[Zz]|[+-]\d{2}:\d{2})?)$", value)
    if match:
        value = f"{match.group(1)}:00{match.group(2)}"
    if re.match(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?$", value):
        value += "Z"
    return value


def parse_interval(value: str, strict: bool = False, name: str = "datetime") -> Interval:
    """``A``, ``A/B``, ``../B`` or ``A/..`` as a closed interval of UTC instants.

    ``name`` is what the user set (``datetime``, ``--datetime``), for the error messages.
    """
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string: A, A/B, ../B or A/..")
    text = value.strip()
    if not text:
        raise InputError(f"empty {name}", hint="write A, A/B, ../B or A/..")
    if "/" not in text:
        try:
            return parse_instant(text, strict=strict), parse_instant(text, end=True, strict=strict)
        except InputError as exc:
            raise InputError(f"{name} {value!r}: {exc.message}", hint=exc.hint) from None
    if text.count("/") != 1:
        raise InputError(f"{name} {value!r} has more than one '/'", hint="write A/B")
    first, second = (p.strip() for p in text.split("/"))
    try:
        start = None if first in ("", "..") else parse_instant(first, strict=strict)
        stop = None if second in ("", "..") else parse_instant(second, end=True, strict=strict)
    except InputError as exc:
        raise InputError(f"{name} {value!r}: {exc.message}", hint=exc.hint) from None
    if start is None and stop is None:
        raise InputError(f"{name} {value!r} is open at both ends", hint="give A or B")
    if start is not None and stop is not None and start > stop:
        raise InputError(f"{name} {value!r}: the start is after the end")
    return start, stop


def format_interval(interval: Interval) -> str:
    """(start, end) as ``2023-05-01T00:00:00Z/..`` (whole seconds)."""
    return "/".join(format_utc(t) if t else ".." for t in interval)


def item_times(properties: Mapping[str, Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An item's time span: ``start_datetime``/``end_datetime``, else ``datetime`` twice."""
    start = properties.get("start_datetime") or properties.get("datetime")
    end = properties.get("end_datetime") or properties.get("datetime")
    try:
        return (
            parse_instant(start) if isinstance(start, str) else None,
            parse_instant(end) if isinstance(end, str) else None,
        )
    except InputError:
        return None, None


def overlaps(span: tuple[dt.datetime | None, dt.datetime | None], interval: Interval) -> bool:
    """Whether an item's time span meets the interval (an item with no time never does)."""
    start, end = span
    if start is None or end is None:
        return False
    low, high = interval
    return (high is None or start <= high) and (low is None or end >= low)
