"""CQL2 filters: a checked subset of CQL2-JSON, and CQL2-text parsed into it.

Supported: ``and``, ``or``, ``not``; ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``; ``like``;
``in``; ``between``; ``isNull``; ``s_intersects`` on the geometry. Operands are properties
(``{"property": "eo:cloud_cover"}``), numbers, strings, booleans, ``{"timestamp": …}`` and
``{"date": …}``; geometries are GeoJSON (text: WKT or ``BBOX(…)``).
"""

from __future__ import annotations

import json
import re
from typing import Any

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


def bad(message: str) -> InputError:
    return InputError(f"invalid filter: {message}", hint=_HINT)


def parse_filter(value: str | dict[str, Any], lang: str | None = None) -> dict[str, Any]:
    """A checked CQL2-JSON expression from CQL2-JSON (a dict or JSON text) or CQL2-text."""
    if isinstance(value, dict):
        expression: Any = value
    else:
        text = value.strip()
        if lang not in (None, "cql2-json", "cql2-text"):
            raise InputError(f"unsupported filter-lang {lang!r}", hint="use cql2-json or cql2-text")
        if lang == "cql2-json" or (lang is None and text.startswith("{")):
            try:
                expression = json.loads(text)
            except json.JSONDecodeError as exc:
                raise bad(f"not valid JSON: {exc}") from None
        else:
            expression = parse_text(text)
    check(expression)
    if not isinstance(expression, dict):
        raise bad("the filter must be an expression object")
    return expression


def check(node: Any, path: str = "filter") -> None:
    """Raise InputError unless ``node`` is a boolean expression of the supported subset."""
    if isinstance(node, bool):
        return
    if not isinstance(node, dict) or "op" not in node:
        raise bad(f"{path}: expected an expression {{'op': …, 'args': […]}}, got {node!r}")
    op, args = node.get("op"), node.get("args")
    if op not in OPERATORS:
        raise bad(f"{path}: unsupported operator {op!r}")
    if not isinstance(args, list):
        raise bad(f"{path}: 'args' must be a list")
    if op in LOGICAL:
        if len(args) < 2:
            raise bad(f"{path}: {op} needs at least two arguments")
        for i, arg in enumerate(args):
            check(arg, f"{path}.args[{i}]")
    elif op == "not":
        _arity(op, args, 1, path)
        check(args[0], f"{path}.args[0]")
    elif op in COMPARISONS or op == "like":
        _arity(op, args, 2, path)
        for i, arg in enumerate(args):
            _scalar(arg, f"{path}.args[{i}]")
    elif op == "between":
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


def _arity(op: str, args: list[Any], count: int, path: str) -> None:
    if len(args) != count:
        raise bad(f"{path}: {op} takes {count} argument(s), not {len(args)}")


def _is_property(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("property"), str)


def _is_geometry(node: Any) -> bool:
    if not isinstance(node, dict) or "type" not in node:
        return False
    try:
        shapely.geometry.shape(node)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError):
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
    raise bad(f"{path}: expected a property, a number, a string or a timestamp, got {node!r}")


# -- CQL2-text ------------------------------------------------------------------------------

_WKT_TYPES = (
    "GEOMETRYCOLLECTION",
    "MULTIPOLYGON",
    "MULTILINESTRING",
    "MULTIPOINT",
    "POLYGON",
    "LINESTRING",
    "POINT",
)
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


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        upper = text[position:].lstrip().upper()
        wkt = next((t for t in _WKT_TYPES if upper.startswith(t)), None)
        if wkt is not None and _is_wkt_start(text, position, len(wkt)):
            start = len(text) - len(text[position:].lstrip())
            end = _balanced_end(text, start)
            tokens.append(("wkt", text[start:end]))
            position = end
            continue
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise bad(f"cannot read the filter at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _is_wkt_start(text: str, position: int, length: int) -> bool:
    rest = text[position:].lstrip()[length:].lstrip()
    return rest.startswith("(") or rest.upper().startswith(("Z", "M", "EMPTY"))


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
            return {"op": "not", "args": [self.negation()]}
        return self.predicate()

    def predicate(self) -> Any:
        if self.peek() == ("punct", "("):
            self.take()
            node = self.expression()
            self.take("punct", ")")
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
