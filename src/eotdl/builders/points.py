"""``points``: in-situ and reference observations (a place, a time, measured values).

SOURCE is a CSV file (``--lon``/``--lat``/``--time`` columns), a GeoJSON file of Point
features, or a GeoParquet file (WKB ``--geometry`` column, or lon/lat columns). Each row becomes
an Item with a Point geometry, its time as ``datetime`` and its measured values as properties
and label properties: numeric values (regression) unless listed in ``--categorical``
(classification). The whole table is attached to every Item as its ``observations`` asset
(stored once). Every row is checked before any Item is made: coordinates on Earth, a time,
values that parse; an error names the file and line (CSV), feature or row. Reading the
table: :mod:`eotdl.builders.point_tables`; this module checks its rows and makes the items.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from eotdl.builders.base import LABEL_EXT, STAC_VERSION, Builder, Labels, Option
from eotdl.builders.item_ids import safe_id
from eotdl.builders.point_tables import PointTable
from eotdl.catalog.card import Card
from eotdl.catalog.times import format_utc, parse_utc
from eotdl.catalog.vocabulary import ITEM_ASSETS_EXT
from eotdl.errors import InputError

MISSING = {"", "na", "n/a", "nan", "null", "none"}


@dataclass
class Observation:
    """One checked observation."""

    number: int
    where: str
    id: str
    lon: float
    lat: float
    time: str
    values: dict[str, Any]


@dataclass
class Survey:
    """What a first pass over the source found: columns, classes, ranges, count."""

    values: list[str]
    count: int = 0
    classes: dict[str, set[str]] = field(default_factory=dict)
    ranges: dict[str, list[float]] = field(default_factory=dict)


def _names(text: str | None) -> list[str]:
    return [p.strip() for p in str(text or "").split(",") if p.strip()]


def parse_units(text: str | None) -> dict[str, str]:
    """``"soil_moisture=m3/m3,t=degC"`` -> ``{"soil_moisture": "m3/m3", "t": "degC"}``."""
    units = {}
    for part in _names(text):
        name, sep, unit = part.partition("=")
        if not sep or not name.strip() or not unit.strip():
            raise InputError(
                f"--units {text!r}: {part!r} is not COLUMN=UNIT",
                hint="e.g. --units soil_moisture=m3/m3,temperature=degC",
            )
        units[name.strip()] = unit.strip()
    return units


def parse_time(value: Any, where: str, column: str) -> str:
    """An ISO 8601 UTC time (naive times are taken as UTC; dates as midnight)."""
    if isinstance(value, dt.datetime):
        text = value.isoformat()
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, str) and value.strip():
        text = value
    else:
        raise InputError(
            f"{where}: no time in column {column!r}",
            hint="every observation needs a time; pass --time COLUMN if it is another column",
        )
    try:
        return format_utc(parse_utc(text), micros=True)
    except ValueError as exc:
        raise InputError(
            f"{where}: time {value!r} in column {column!r}: {exc}",
            hint="write times like 2023-05-01 or 2023-05-01T10:30:00Z",
        ) from None


def _coordinate(value: Any, where: str, name: str, limit: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {name} {value!r} is not a number") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise InputError(
            f"{where}: {name} {value!r} is not a valid {name} (must be within ±{limit:g})",
            hint="coordinates are WGS84 degrees; check for swapped lon/lat columns",
        )
    return number


def _numeric(value: Any, where: str, column: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in MISSING):
        return None
    if isinstance(value, bool):
        raise InputError(f"{where}: value {value!r} of {column!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{where}: value {value!r} of {column!r} is not a number",
            hint=f"pass --categorical {column} if its values are classes, or fix the value"
            " (decimal point, not comma)",
        ) from None
    if math.isnan(number):
        return None
    if not math.isfinite(number):
        raise InputError(f"{where}: value {value!r} of {column!r} is not finite")
    return number


def _categorical(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text if text.lower() not in MISSING else None


class PointsBuilder(Builder):
    """One Item per observation: a Point, a time, the measured values."""

    name = "points"
    summary = "In-situ / reference observations (CSV, GeoJSON points, GeoParquet) → point items"
    options = (
        Option("lon", "Column of longitudes (CSV, or GeoParquet without geometry).", default="lon"),
        Option("lat", "Column of latitudes (CSV, or GeoParquet without geometry).", default="lat"),
        Option(
            "time",
            "Column (or GeoJSON property) of observation times (ISO 8601; naive = UTC).",
            default="time",
        ),
        Option(
            "values",
            "The measured value columns, comma separated (default: every other column).",
        ),
        Option(
            "categorical",
            "Value columns holding classes rather than numbers, comma separated.",
        ),
        Option("units", "Units of the value columns, e.g. soil_moisture=m3/m3,t=degC."),
        Option(
            "id",
            "Column of observation ids (default: the file name and the row number).",
        ),
        Option("geometry", "WKB geometry column of a GeoParquet file.", default="geometry"),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.units = parse_units(self.settings["units"])
        self.categorical = _names(self.settings["categorical"])
        self.table = PointTable(Path(self.source), geometry=self.settings["geometry"])
        self.path = self.table.path
        self.labels = Labels(
            type="vector",
            tasks=["classification"] if self.categorical else ["regression"],  # set by _survey
            properties=_names(self.settings["values"]) or None,
            description="in-situ observations",
            class_property=self.categorical[0] if self.categorical else "class",
        )

    # checking ----------------------------------------------------------------------------

    def _value_columns(self) -> list[str]:
        s = self.settings
        named = _names(s["values"])
        if named:
            return named
        taken = {s["lon"], s["lat"], s["time"], s["id"], s["geometry"]}
        return [c for c in self.table.columns() if c and c not in taken]

    def _check_columns(self, values: list[str]) -> None:
        s = self.settings
        if not values:
            raise InputError(f"{self.path}: no value columns", hint="pass --values COL1,COL2")
        for name in self.categorical:
            if name not in values:
                raise InputError(
                    f"--categorical {name!r} is not a value column ({', '.join(values)})"
                )
        for name in self.units:
            if name not in values:
                raise InputError(f"--units names {name!r}, not a value column")
        if self.table.format == ".geojson":
            return
        columns = set(self.table.columns())
        needed = [s["time"], *values] + ([s["id"]] if s["id"] else [])
        if self.table.format == ".csv" or s["geometry"] not in columns:
            needed += [s["lon"], s["lat"]]
        absent = [c for c in needed if c not in columns]
        if absent:
            raise InputError(
                f"{self.path}: no column(s) {', '.join(absent)}"
                f" (columns: {', '.join(sorted(columns))})",
                hint="name the right columns with --lon, --lat, --time, --values, --id",
            )

    def _observations(self, values: list[str]) -> Iterator[Observation]:
        s = self.settings
        stem = self.path.stem
        for number, row in enumerate(self.table.rows(), start=1):
            fields = row.fields
            lon_raw, lat_raw = row.lonlat or (fields.get(s["lon"]), fields.get(s["lat"]))
            lon = _coordinate(lon_raw, row.where, "longitude", 180)
            lat = _coordinate(lat_raw, row.where, "latitude", 90)
            when = parse_time(fields.get(s["time"]), row.where, s["time"])
            measured: dict[str, Any] = {}
            for column in values:
                raw = fields.get(column)
                if column in self.categorical:
                    measured[column] = _categorical(raw)
                else:
                    measured[column] = _numeric(raw, row.where, column)
            if all(v is None for v in measured.values()):
                raise InputError(
                    f"{row.where}: no measured value (all of {', '.join(values)} are empty)"
                )
            if s["id"]:
                raw_id = fields.get(s["id"])
                if raw_id is None or str(raw_id).strip() == "":
                    raise InputError(f"{row.where}: no id in column {s['id']!r}")
                item_id = safe_id(str(raw_id).strip())
            else:
                item_id = safe_id(stem, f"{number:06d}")
            yield Observation(number, row.where, item_id, lon, lat, when, measured)

    @cached_property
    def _survey(self) -> Survey:
        """A first pass: every row checked, classes and ranges found, ids unique."""
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such file")
        values = self._value_columns()
        self._check_columns(values)
        survey = Survey(values, classes={c: set() for c in self.categorical})
        seen: dict[str, str] = {}
        for obs in self._observations(values):
            survey.count += 1
            if obs.id in seen:
                raise InputError(
                    f"{obs.where}: id {obs.id!r} was already used at {seen[obs.id]}",
                    hint="ids must be unique; pass another --id column or none",
                )
            seen[obs.id] = obs.where
            for column, value in obs.values.items():
                if value is None:
                    continue
                if column in self.categorical:
                    survey.classes[column].add(value)
                else:
                    span = survey.ranges.setdefault(column, [value, value])
                    span[0], span[1] = min(span[0], value), max(span[1], value)
        if not survey.count:
            raise InputError(f"{self.path}: no observations")
        assert self.labels is not None
        numeric = [c for c in values if c not in self.categorical]
        self.labels.properties = values
        self.labels.tasks = (["regression"] if numeric else []) + (
            ["classification"] if self.categorical else []
        )
        self.labels.description = "in-situ observations: " + ", ".join(
            f"{c} ({self.units[c]})"
            if c in self.units
            else (f"{c} (classes)" if c in self.categorical else c)
            for c in values
        )
        return survey

    # output ------------------------------------------------------------------------------

    def card(self) -> Card:
        """The card, with the tasks the value columns give (regression, classification)."""
        _ = self._survey
        return super().card()

    def _label_fields(self) -> dict[str, Any]:
        assert self.labels is not None
        fields = self.labels.item_properties()
        fields.pop("label:classes", None)
        if self.categorical:
            fields["label:classes"] = [
                {"name": c, "classes": sorted(self._survey.classes[c])} for c in self.categorical
            ]
        return fields

    def items(self) -> Iterator[dict[str, Any]]:
        """One Item per observation, in file order."""
        survey = self._survey
        labels = self._label_fields()
        source = str(self.path.resolve())
        asset = {
            "href": source,
            "type": self.table.media_type,
            "roles": ["metadata"],
            "title": "all observations (the source table)",
        }
        for obs in self._observations(survey.values):
            yield {
                "type": "Feature",
                "stac_version": STAC_VERSION,
                "stac_extensions": [LABEL_EXT],
                "id": obs.id,
                "geometry": {"type": "Point", "coordinates": [obs.lon, obs.lat]},
                "bbox": [obs.lon, obs.lat, obs.lon, obs.lat],
                "properties": {"datetime": obs.time, **obs.values, **labels},
                "links": [],
                "assets": {"observations": dict(asset)},
            }

    def collection(self) -> dict[str, Any]:
        """Value ranges and classes in ``summaries``; units in the description."""
        survey = self._survey
        assert self.labels is not None
        base = super().collection()
        base["description"] += (
            f" {survey.count} observations; " + self.labels.description.split(": ", 1)[1] + "."
        )
        summaries: dict[str, Any] = {
            "label:properties": list(survey.values),
            "label:tasks": list(self.labels.tasks),
            "label:type": ["vector"],
        }
        if self.categorical:
            summaries["label:classes"] = self._label_fields()["label:classes"]
        for column in survey.values:
            if column in self.categorical:
                summaries[column] = sorted(survey.classes[column])
            elif column in survey.ranges:
                low, high = survey.ranges[column]
                summaries[column] = {"minimum": low, "maximum": high}
        base["summaries"] = summaries
        base["stac_extensions"] = [ITEM_ASSETS_EXT, LABEL_EXT]
        base["item_assets"] = {
            "observations": {
                "title": "all observations (the source table)",
                "roles": ["metadata"],
                "type": self.table.media_type,
            }
        }
        return base
