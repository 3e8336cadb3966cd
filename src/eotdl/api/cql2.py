"""CQL2 filters: a checked subset of CQL2-JSON, and CQL2-text parsed into it.

Supported: ``and``, ``or``, ``not``; ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``; ``like``;
``in``; ``between``; ``isNull``; ``s_intersects`` on the geometry. Operands are properties
(``{"property": "eo:cloud_cover"}``), numbers, strings, booleans, ``{"timestamp": …}`` and
``{"date": …}``; geometries are GeoJSON (text: WKT or ``BBOX(…)``).
"""

from __future__ import annotations

import json
import re
import reprlib
from typing import Any

import orjson
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from eotdl.errors import InputError

LOGICAL = {"and", "or"}
COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
SPATIAL = {"s_intersects"}
OPERATORS = LOGICAL | COMPARISONS | SPATIAL | {"not", "like", "in", "between", "isNull"}
_HINT = (
    "supported: and, or, not, =, <>, <, <=, >, >=, like, in, between, isNull, s_intersects;"
    " e.g. eo:cloud_cover < 10 AND class = 'forest'"
)


#: How deep a filter may nest (operators inside operators); deeper is refused, not recursed.
MAX_DEPTH = 64


def bad(message: str) -> InputError:
    return InputError(f"invalid filter: {message}", hint=_HINT)


def parse_filter(value: str | dict[str, Any], lang: str | None = None) -> dict[str, Any]:
    """A checked CQL2-JSON expression from CQL2-JSON (a dict or JSON text) or CQL2-text."""
    if isinstance(value, dict):
        expression: Any = value
    elif not isinstance(value, str):
        raise bad(f"a filter is a CQL2-JSON object or CQL2-text, not {_short(value)}")
    else:
        text = value.strip()
        if lang not in (None, "cql2-json", "cql2-text"):
            raise InputError(f"unsupported filter-lang {lang!r}", hint="use cql2-json or cql2-text")
        if lang == "cql2-json" or (lang is None and text.startswith("{")):
            try:
                expression = orjson.loads(text)  # refuses nesting past 1024: no RecursionError
            except orjson.JSONDecodeError as exc:
                raise bad(f"not valid JSON: {exc}") from None
        else:
            expression = parse_text(text)
    expression = check(expression)
    if not isinstance(expression, dict):
        raise bad("the filter must be an expression object")
    return expression


def check(node: Any, path: str = "filter", depth: int = 0) -> Any:
    """``node`` as a checked boolean expression of the supported subset (``between`` in its
    ``[low, high]`` form rewritten with three arguments); InputError otherwise."""
    if depth > MAX_DEPTH:
        raise bad(f"{path}: nested more than {MAX_DEPTH} deep")
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict) or "op" not in node:
        raise bad(f"{path}: expected an expression {{'op': …, 'args': […]}}, got {_short(node)}")
    op, args = node.get("op"), node.get("args")
    if not isinstance(op, str) or op not in OPERATORS:
        raise bad(f"{path}: unsupported operator {_short(op)}")
    if not isinstance(args, list):
        raise bad(f"{path}: 'args' must be a list")
    if op in LOGICAL:
        if len(args) < 2:
            raise bad(f"{path}: {op} needs at least two arguments")
        args = [check(arg, f"{path}.args[{i}]", depth + 1) for i, arg in enumerate(args)]
    elif op == "not":
        _arity(op, args, 1, path)
        args = [check(args[0], f"{path}.args[0]", depth + 1)]
    elif op in COMPARISONS or op == "like":
        _arity(op, args, 2, path)
        for i, arg in enumerate(args):
            _scalar(arg, f"{path}.args[{i}]")
    elif op == "between":
        if len(args) == 2 and isinstance(args[1], list) and len(args[1]) == 2:
            args = [args[0], *args[1]]  # CQL2-JSON's form: [value, [low, high]]
        _arity(op, args, 3, path)
        for i, arg in enumerate(args):
            _scalar(arg, f"{path}.args[{i}]")
    elif op == "in":
        _arity(op, args, 2, path)
        _scalar(args[0], f"{path}.args[0]")
        if not isinstance(args[1], list):
            raise bad(f"{path}: in needs a list of values as its second argument")
        for i, arg in enumerate(args[1]):
            _scalar(arg, f"{path}.args[1][{i}]")
    elif op == "isNull":
        _arity(op, args, 1, path)
        _scalar(args[0], f"{path}.args[0]")
    else:  # s_intersects
        _arity(op, args, 2, path)
        if not any(_is_property(a) for a in args) or not any(_is_geometry(a) for a in args):
            raise bad(f"{path}: s_intersects needs a property and a GeoJSON geometry")
    return {"op": op, "args": args}


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


def _short(value: Any) -> str:
    return _REPR.repr(value)


def _arity(op: str, args: list[Any], count: int, path: str) -> None:
    if len(args) != count:
        raise bad(f"{path}: {op} takes {count} argument(s), not {len(args)}")


#: What shapely raises on a malformed GeoJSON geometry (a client's mistake, never a 500).
GEOMETRY_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
    shapely.errors.ShapelyError,
)


def _is_property(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("property"), str)


def _is_geometry(node: Any) -> bool:
    if not isinstance(node, dict) or "type" not in node:
        return False
    try:
        shapely.geometry.shape(node)
    except GEOMETRY_ERRORS:
        return False
    return True


def _scalar(node: Any, path: str) -> None:
    if node is None or isinstance(node, bool | int | float | str):
        return
    if isinstance(node, dict):
        if _is_property(node):
            return
        if set(node) == {"timestamp"} and isinstance(node["timestamp"], str):
            return
        if set(node) == {"date"} and isinstance(node["date"], str):
            return
    raise bad(f"{path}: expected a property, a number, a string or a timestamp, got {_short(node)}")


# -- CQL2-text ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|-?\.\d+(?:[eE][-+]?\d+)?)
      | (?P<string>'(?:[^']|'')*')
      | (?P<quoted>"(?:[^"]|"")*")
      | (?P<op><>|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_:.\-]*)
    )""",
    re.X,
)


_SPACE = re.compile(r"\s*")
_WKT_START = re.compile(
    r"(?:GEOMETRYCOLLECTION|MULTIPOLYGON|MULTILINESTRING|MULTIPOINT|POLYGON|LINESTRING|POINT)"
    r"\s*(?=\(|Z|M|EMPTY)",
    re.IGNORECASE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    """The tokens of CQL2-text, in one linear pass."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while True:
        position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
        if position >= len(text):
            break
        if _WKT_START.match(text, position):
            end = _balanced_end(text, position)
            tokens.append(("wkt", text[position:end]))
            position = end
            continue
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise bad(f"cannot read the filter at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _balanced_end(text: str, start: int) -> int:
    depth = 0
    seen = False
    for index in range(start, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
            seen = True
        elif char == ")":
            depth -= 1
            if depth == 0 and seen:
                return index + 1
    raise bad("unbalanced parentheses in a geometry")


class _Parser:
    """Recursive descent over CQL2-text tokens."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise bad(f"nested more than {MAX_DEPTH} deep")

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        token = self.peek(offset)
        return token[1].upper() if token and token[0] == "word" else ""

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise bad("the filter ends too early")
        if kind and token[0] != kind or value and token[1].upper() != value:
            raise bad(f"expected {value or kind}, found {token[1]!r}")
        self.index += 1
        return token

    def parse(self) -> dict[str, Any]:
        node = self.expression()
        extra = self.peek()
        if extra is not None:
            raise bad(f"unexpected {extra[1]!r}")
        if not isinstance(node, dict):
            raise bad("the filter must be a condition")
        return node

    def expression(self) -> Any:
        args = [self.conjunction()]
        while self.word() == "OR":
            self.take()
            args.append(self.conjunction())
        return args[0] if len(args) == 1 else {"op": "or", "args": args}

    def conjunction(self) -> Any:
        args = [self.negation()]
        while self.word() == "AND":
            self.take()
            args.append(self.negation())
        return args[0] if len(args) == 1 else {"op": "and", "args": args}

    def negation(self) -> Any:
        if self.word() == "NOT":
            self.take()
            self.deeper()
            node = {"op": "not", "args": [self.negation()]}
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Any:
        if self.peek() == ("punct", "("):
            self.take()
            self.deeper()
            node = self.expression()
            self.take("punct", ")")
            self.depth -= 1
            return node
        if self.word() in ("S_INTERSECTS", "INTERSECTS"):
            self.take()
            self.take("punct", "(")
            first = self.operand()
            self.take("punct", ",")
            second = self.operand()
            self.take("punct", ")")
            return {"op": "s_intersects", "args": [first, second]}
        if self.word() in ("TRUE", "FALSE") and self._ends_condition(1):
            return self.take()[1].upper() == "TRUE"
        left = self.operand()
        return self.comparison(left)

    def _ends_condition(self, offset: int) -> bool:
        """Whether the token at ``offset`` ends a condition (a lone TRUE or FALSE)."""
        token = self.peek(offset)
        return token is None or token == ("punct", ")") or self.word(offset) in ("AND", "OR")

    def comparison(self, left: Any) -> dict[str, Any]:
        token = self.peek()
        if token is not None and token[0] == "op":
            self.take()
            return {"op": token[1], "args": [left, self.operand()]}
        negate = False
        if self.word() == "NOT":
            self.take()
            negate = True
        word = self.word()
        node: dict[str, Any]
        if word == "LIKE":
            self.take()
            node = {"op": "like", "args": [left, self.operand()]}
        elif word == "IN":
            self.take()
            self.take("punct", "(")
            values = [self.operand()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.operand())
            self.take("punct", ")")
            node = {"op": "in", "args": [left, values]}
        elif word == "BETWEEN":
            self.take()
            low = self.operand()
            self.take("word", "AND")
            node = {"op": "between", "args": [left, low, self.operand()]}
        elif word == "IS" and not negate:
            self.take()
            if self.word() == "NOT":
                self.take()
                negate = True
            self.take("word", "NULL")
            node = {"op": "isNull", "args": [left]}
        else:
            found = self.peek()
            where = repr(found[1]) if found else "the end"
            raise bad(f"expected a comparison after {left!r}, found {where}")
        return {"op": "not", "args": [node]} if negate else node

    def operand(self) -> Any:
        kind, value = self.take()
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() and re.fullmatch(r"-?\d+", value) else number
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "quoted":
            return {"property": value[1:-1].replace('""', '"')}
        if kind == "wkt":
            try:
                return _geojson(shapely.from_wkt(value))
            except shapely.errors.ShapelyError as exc:
                raise bad(f"not a WKT geometry: {value!r}: {exc}") from None
        if kind == "word":
            upper = value.upper()
            if upper in ("TIMESTAMP", "DATE") and self.peek() == ("punct", "("):
                self.take()
                literal = self.take("string")[1][1:-1]
                self.take("punct", ")")
                return {upper.lower(): literal}
            if upper == "BBOX" and self.peek() == ("punct", "("):
                self.take()
                numbers = [float(self.take("number")[1])]
                while self.peek() == ("punct", ","):
                    self.take()
                    numbers.append(float(self.take("number")[1]))
                self.take("punct", ")")
                if len(numbers) == 6:
                    numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
                if len(numbers) != 4:
                    raise bad("BBOX takes 4 (or 6) numbers")
                return _geojson(box(*numbers))
            if upper in ("TRUE", "FALSE"):
                return upper == "TRUE"
            if upper == "NULL":
                return None
            return {"property": value}
        raise bad(f"unexpected {value!r}")


def _geojson(geometry: BaseGeometry) -> dict[str, Any]:
    value = json.loads(shapely.to_geojson(geometry))
    assert isinstance(value, dict)
    return value


def parse_text(text: str) -> dict[str, Any]:
    """CQL2-text (the supported subset) as CQL2-JSON."""
    if not text.strip():
        raise bad("empty filter")
    return _Parser(text).parse()
