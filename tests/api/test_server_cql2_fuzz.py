"""Property-based fuzzing of the CQL2 parser and evaluator behind `eotdl serve`/`search`.

Whatever a client sends as a filter (CQL2-text, CQL2-JSON as text or as a parsed object),
parsing and evaluating it returns items or raises the one user error (InputError: a 400 from
the server, a message from the CLI); never another exception, a RecursionError or a hang.
Seeded and bounded, so `make test` runs the same examples every time.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eotdl.api.cql2 import MAX_DEPTH, parse_filter
from eotdl.api.search import ItemIndex, SearchQuery, parse_query
from eotdl.api.table import ItemTable
from eotdl.errors import InputError
from eotdl.read.parquet import items_to_table
from stacgen import item

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

INDEX = ItemIndex(
    [
        ItemTable(
            "ds",
            items_to_table(
                [
                    item("a", cloud=1.0, kind="forest"),
                    item("b", cloud=5.0, kind="water"),
                    item("c", kind="forest"),
                ]
            ),
        )
    ]
)

WORDS = [
    "AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "TIMESTAMP",
    "DATE", "BBOX", "S_INTERSECTS", "POINT", "POLYGON", "cloud", "kind", "datetime", "id",
    "eo:cloud_cover", "(", ")", ",", "=", "<>", "<", "<=", ">", ">=", "'forest'", "'2020-02-30'",
    "'2020-01-01T00:00:00Z'", "1", "-2.5", "1e999", '"kind"', "'", '"', "%", "\\", "\x00",
]  # fmt: skip
OPS = ["and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "in", "between", "isNull"]
OPS += ["s_intersects", "nope", ""]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["forest", "2020-01-01", "2020-02-30", "%a_", "POINT(0 0)"]),
)
operands = st.one_of(
    scalars,
    st.builds(lambda p: {"property": p}, st.sampled_from(["cloud", "kind", "id", "datetime", "x"])),
    st.builds(lambda t: {"timestamp": t}, st.sampled_from(["2020-01-01T00:00:00Z", "nope"])),
    st.builds(lambda d: {"date": d}, st.sampled_from(["2020-01-01", "2020-13-45", "x"])),
    st.just({"type": "Point", "coordinates": [0, 0]}),
    st.just({"type": "Polygon", "coordinates": []}),
)


def _expressions(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    args = st.lists(st.one_of(children, operands, st.lists(operands, max_size=3)), max_size=4)
    return st.builds(lambda op, a: {"op": op, "args": a}, st.sampled_from(OPS), args)


expressions = st.recursive(st.one_of(operands, _expressions(operands)), _expressions, max_leaves=20)


def _evaluate(expression: dict[str, Any]) -> None:
    query = SearchQuery(filter=expression, limit=10)
    INDEX.search(query).items()


def _parse_and_evaluate(value: Any, lang: str | None = None) -> None:
    try:
        expression = parse_filter(value, lang)
    except InputError:
        return
    assert isinstance(expression, dict)
    try:
        _evaluate(expression)
    except InputError:
        return


@FUZZ
@given(st.lists(st.sampled_from(WORDS), max_size=25))
def test_cql2_text_of_tokens(words: list[str]) -> None:
    _parse_and_evaluate(" ".join(words), "cql2-text")


@FUZZ
@given(st.text(max_size=200))
def test_cql2_text_of_any_characters(text: str) -> None:
    _parse_and_evaluate(text, "cql2-text")
    _parse_and_evaluate(text, None)


@FUZZ
@given(expressions)
def test_cql2_json_objects(expression: Any) -> None:
    _parse_and_evaluate(expression)
    try:
        text = json.dumps(expression)
    except ValueError:
        return
    _parse_and_evaluate(text, "cql2-json")


@FUZZ
@given(st.integers(min_value=0, max_value=5000), st.sampled_from(["not", "(", "json"]))
def test_any_depth_is_an_answer_or_an_input_error(depth: int, kind: str) -> None:
    leaf = "kind = 'forest'"
    if kind == "not":
        value: Any = "NOT " * depth + leaf
    elif kind == "(":
        value = "(" * depth + leaf + ")" * depth
    else:
        value = '{"op": "not", "args": [' * depth + '{"op": "=", "args": [1, 1]}' + "]}" * depth
    try:
        parse_filter(value)
    except InputError:
        assert depth > MAX_DEPTH - 2
        return
    assert depth <= MAX_DEPTH + 1


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            ["bbox", "datetime", "intersects", "limit", "token", "sortby", "ids", "collections"]
        ),
        st.one_of(scalars, st.lists(scalars, max_size=6), expressions),
        max_size=4,
    ),
    st.sampled_from(["GET", "POST"]),
)
def test_search_parameters(params: dict[str, Any], method: str) -> None:
    try:
        query = parse_query(params, method)
    except InputError:
        return
    try:
        INDEX.search(query).items()
    except InputError:
        return
