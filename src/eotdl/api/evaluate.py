"""Evaluating CQL2-JSON over an Item table, with CQL2's three-valued logic.

Comparisons with a literal run on NumPy views of the columns (:mod:`.columns`): numbers and
times directly, text on its dictionary of distinct values; anything else (two properties,
lists) falls back to pyarrow compute. Spatial tests pre-filter on the bbox arrays and run
shapely only on what is left. Everything can be restricted to candidate rows, so a filter after
a selective bbox or datetime costs little.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from eotdl.api.columns import Column
from eotdl.api.table import ItemTable
from eotdl.catalog.times import parse_instant
from eotdl.errors import InputError
from eotdl.read.filters import BBox, bbox_geometry

_NUMPY: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARROW = {
    "=": pc.equal,
    "<>": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Truth:
    """A three-valued (true, false, unknown) column: CQL2's logic over missing values."""

    def __init__(self, true: np.ndarray, unknown: np.ndarray) -> None:
        self.true = true
        self.unknown = unknown

    @classmethod
    def of(cls, value: pa.Array | pa.ChunkedArray) -> Truth:
        if isinstance(value, pa.ChunkedArray):
            value = value.combine_chunks()
        true = np.asarray(pc.fill_null(value, False).to_numpy(zero_copy_only=False), dtype=bool)
        unknown = np.asarray(value.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        return cls(true, unknown)

    @classmethod
    def constant(cls, n: int, value: bool | None) -> Truth:
        if value is None:
            return cls(np.zeros(n, bool), np.ones(n, bool))
        return cls(np.full(n, value, bool), np.zeros(n, bool))

    @property
    def false(self) -> np.ndarray:
        return ~self.true & ~self.unknown

    def __and__(self, other: Truth) -> Truth:
        true = self.true & other.true
        false = self.false | other.false
        return Truth(true, ~true & ~false)

    def __or__(self, other: Truth) -> Truth:
        true = self.true | other.true
        false = self.false & other.false
        return Truth(true, ~true & ~false)

    def __invert__(self) -> Truth:
        return Truth(self.false, self.unknown)


def column_name(name: str) -> str:
    """The table column of a property or field name (``properties.x`` is ``x``)."""
    return name.removeprefix("properties.")


def micros(moment: dt.datetime) -> int:
    """Microseconds since 1970 (UTC)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Evaluator:
    """Evaluates one CQL2-JSON expression over a table, or over some of its rows."""

    def __init__(self, table: ItemTable, rows: np.ndarray | None = None) -> None:
        self.table = table
        self.rows = rows
        self.n = len(rows) if rows is not None else len(table)

    def truth(self, node: Any) -> Truth:
        if isinstance(node, bool):
            return Truth.constant(self.n, node)
        op, args = node["op"], node["args"]
        if op in ("and", "or"):
            result = self.truth(args[0])
            for arg in args[1:]:
                result = (result & self.truth(arg)) if op == "and" else (result | self.truth(arg))
            return result
        if op == "not":
            return ~self.truth(args[0])
        if op == "isNull":
            if _is_property(args[0]):
                column = self.column(args[0]["property"])
                null = np.ones(self.n, bool) if column is None else column.null
                return Truth(null.copy(), np.zeros(self.n, bool))
            return Truth.constant(self.n, self.literal(args[0]) is None)
        if op == "s_intersects":
            geometry = shape(next(a for a in args if not _is_property(a)))
            return Truth(spatial_mask(self.table, geometry, self.rows), np.zeros(self.n, bool))
        if op == "between":
            return self.compare(">=", args[0], args[1]) & self.compare("<=", args[0], args[2])
        if op == "in":
            return self.member(args[0], args[1])
        if op == "like":
            return self.like(args[0], args[1])
        return self.compare(op, args[0], args[1])

    # -- operands ---------------------------------------------------------------------------

    def column(self, name: str) -> Column | None:
        found = self.table.column(column_name(name))
        if found is None or self.rows is None:
            return found
        return found.take(self.rows)

    def literal(self, node: Any) -> Any:
        """A literal's Python value (timestamps and dates as aware datetimes)."""
        if isinstance(node, dict) and "timestamp" in node:
            return parse_instant(node["timestamp"])
        if isinstance(node, dict) and "date" in node:
            return parse_instant(node["date"])
        return node

    def arrow(self, node: Any) -> pa.Array:
        """A property as an Arrow array of the chosen rows (for the pyarrow fallback)."""
        column = self.table.arrow_column(column_name(node["property"]))
        if column is None:
            return pa.nulls(self.n)
        if self.rows is not None:
            column = column.take(pa.array(self.rows, pa.int64()))
        return column

    # -- operators --------------------------------------------------------------------------

    def compare(self, op: str, left: Any, right: Any) -> Truth:
        if not _is_property(left) and _is_property(right):
            left, right, op = right, left, _FLIPPED[op]
        if not _is_property(left):
            return Truth.constant(
                self.n, _python_compare(op, self.literal(left), self.literal(right))
            )
        if _is_property(right):
            return self._compare_arrays(op, left, right)
        column = self.column(left["property"])
        value = self.literal(right)
        if column is None or column.kind == "null" or value is None:
            return Truth.constant(self.n, None)  # a missing property: unknown for every item
        if column.kind == "other":
            return self._compare_arrays(op, left, right)
        result = self._compare_column(column, op, value, left, right)
        return Truth(result & ~column.null, column.null.copy())

    def _compare_column(
        self, column: Column, op: str, value: Any, left: Any, right: Any
    ) -> np.ndarray:
        kind = column.kind
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return np.asarray(_NUMPY[op](column.values, value), dtype=bool)
        if kind == "time" and isinstance(value, dt.datetime | str):
            moment = value if isinstance(value, dt.datetime) else parse_instant(value)
            return np.asarray(_NUMPY[op](column.values, micros(moment)), dtype=bool)
        if kind == "bool" and isinstance(value, bool):
            return np.asarray(_NUMPY[op](column.values, value), dtype=bool)
        if kind == "text" and isinstance(value, str | dt.datetime):
            text = value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")
            per_value = _ARROW[op](self._dictionary(column), pa.scalar(text))
            return column.lookup(_bools(per_value))
        raise InputError(
            f"cannot compare {_describe(left)} ({column.type_name}) with {_describe(right)}"
            f" ({type(value).__name__})"
        )

    def _dictionary(self, column: Column) -> pa.Array:
        return column.dictionary if column.dictionary is not None else pa.array([], pa.string())

    def _compare_arrays(self, op: str, left: Any, right: Any) -> Truth:
        a = self.arrow(left)
        b = self.arrow(right) if _is_property(right) else self.literal(right)
        if pa.types.is_null(a.type) or (isinstance(b, pa.Array) and pa.types.is_null(b.type)):
            return Truth.constant(self.n, None)
        try:
            return Truth.of(_ARROW[op](a, b if isinstance(b, pa.Array) else pa.scalar(b)))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
            raise InputError(
                f"cannot compare {_describe(left)} ({a.type}) with {_describe(right)}"
            ) from None

    def member(self, left: Any, values: list[Any]) -> Truth:
        literals = [self.literal(v) for v in values]
        if not _is_property(left):
            return Truth.constant(self.n, self.literal(left) in literals)
        column = self.column(left["property"])
        if column is None or column.kind == "null":
            return Truth.constant(self.n, None)
        present = [v for v in literals if v is not None]
        array = column.values if column.values is not None else np.zeros(self.n)
        if column.kind == "text" and all(isinstance(v, str) for v in present):
            found = pc.is_in(self._dictionary(column), value_set=pa.array(present, pa.string()))
            result = column.lookup(_bools(found))
        elif column.kind == "number" and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in present
        ):
            result = np.isin(array, np.asarray(present, dtype=float))
        elif column.kind == "time" and all(isinstance(v, dt.datetime | str) for v in present):
            moments = [v if isinstance(v, dt.datetime) else parse_instant(v) for v in present]
            result = np.isin(array, [micros(m) for m in moments])
        else:
            raise InputError(
                f"cannot compare {_describe(left)} ({column.type_name}) with {values!r}"
            )
        return Truth(result & ~column.null, column.null.copy())

    def like(self, left: Any, pattern: Any) -> Truth:
        if not isinstance(pattern, str):
            raise InputError(f"like needs a string pattern, not {pattern!r}")
        if not _is_property(left):
            text = pa.array([str(self.literal(left))], pa.string())
            return Truth.constant(self.n, bool(pc.match_like(text, pattern)[0].as_py()))
        column = self.column(left["property"])
        if column is None or column.kind == "null":
            return Truth.constant(self.n, None)
        if column.kind != "text":
            raise InputError(f"like needs a text property; {_describe(left)} is {column.type_name}")
        result = column.lookup(_bools(pc.match_like(self._dictionary(column), pattern)))
        return Truth(result & ~column.null, column.null.copy())


def _bools(value: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(value, False).to_numpy(zero_copy_only=False), dtype=bool)


def _is_property(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("property"), str)


def _describe(node: Any) -> str:
    if _is_property(node):
        return f"property {node['property']!r}"
    return repr(node)


def _python_compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    try:
        return bool(_NUMPY[op](a, b))
    except TypeError:
        raise InputError(f"cannot compare {a!r} with {b!r}") from None


# -- space ----------------------------------------------------------------------------------


def _subset(table: ItemTable, rows: np.ndarray | None) -> tuple[np.ndarray, ...]:
    if rows is None:
        return table.xmin, table.ymin, table.xmax, table.ymax
    return table.xmin[rows], table.ymin[rows], table.xmax[rows], table.ymax[rows]


def _exact(
    table: ItemTable, geometry: BaseGeometry, rows: np.ndarray | None, candidates: np.ndarray
) -> np.ndarray:
    """Of ``candidates`` (positions within ``rows``), which truly intersect ``geometry``."""
    shapely.prepare(geometry)
    positions = candidates if rows is None else rows[candidates]
    return np.asarray(shapely.intersects(geometry, table.geometries_at(positions)), dtype=bool)


def spatial_mask(
    table: ItemTable, geometry: BaseGeometry, rows: np.ndarray | None = None
) -> np.ndarray:
    """Which rows (all, or ``rows``) have a geometry intersecting ``geometry``."""
    xmin, ymin, xmax, ymax = _subset(table, rows)
    minx, miny, maxx, maxy = geometry.bounds
    close = (xmin <= maxx) & (xmax >= minx) & (ymin <= maxy) & (ymax >= miny)
    close |= xmin > xmax  # items crossing the antimeridian: always test exactly
    mask = np.zeros(len(xmin), dtype=bool)
    candidates = np.flatnonzero(close)
    if len(candidates):
        mask[candidates[_exact(table, geometry, rows, candidates)]] = True
    return mask


def bbox_mask(table: ItemTable, bbox: BBox, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows intersecting a bbox; those whose own bbox lies inside it need no exact test."""
    minx, miny, maxx, maxy = bbox
    if minx > maxx:
        return spatial_mask(table, bbox_geometry(bbox), rows)
    xmin, ymin, xmax, ymax = _subset(table, rows)
    inside = (xmin >= minx) & (xmax <= maxx) & (ymin >= miny) & (ymax <= maxy) & (xmin <= xmax)
    partly = (xmin <= maxx) & (xmax >= minx) & (ymin <= maxy) & (ymax >= miny) & ~inside
    partly |= xmin > xmax
    mask = inside.copy()
    candidates = np.flatnonzero(partly)
    if len(candidates):
        mask[candidates[_exact(table, bbox_geometry(bbox), rows, candidates)]] = True
    return mask
