"""The one parser of times that builders read from files and options (ISO 8601 / RFC 3339).

Anything that is not a time in the range a ``datetime`` can hold, in UTC as in any offset
(``0001-01-01T00:00+14:00`` is before year 1 in UTC), is a ``ValueError``, so every caller's
``except ValueError`` turns it into a message naming the file and line; never an
``OverflowError`` or a ``TypeError`` from deep inside the standard library.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


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
