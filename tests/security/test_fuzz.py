"""Property-based fuzzing of the readers of untrusted text: ndjson, JSON and the card.

Whatever the input, a reader returns data or raises the one user error (InputError, shown
as a message with no traceback); it never hangs and writes nothing. Seeded and bounded, so
`make test` runs it the same way every time.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eotdl.catalog import jsonfile, ndjson
from eotdl.catalog.card import parse_card, render_card
from eotdl.errors import InputError

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
#: Lines that look like Items, broken in the ways real files break.
item_lines = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["type", "id", "assets", "links"]), json_values).map(
        lambda d: json.dumps({"type": "Feature", **d}).encode()
    ),
)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@FUZZ
@given(st.lists(item_lines, max_size=6))
def test_ndjson_reader_never_crashes(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "items.ndjson"
        path.write_bytes(b"\n".join(lines))
        before = _listing(folder)
        try:
            for obj in ndjson.iter_items(path, folder):
                assert isinstance(obj, dict) and obj["type"] == "Feature"
        except InputError as exc:
            assert exc.message.startswith(str(path))
        assert _listing(folder) == before


@FUZZ
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_json_reader_never_crashes(data: bytes) -> None:
    try:
        assert isinstance(jsonfile.parse_json_object(data, "x.json"), dict)
    except InputError as exc:
        assert exc.message.startswith("x.json")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "collection.json"
        path.write_bytes(data)
        try:
            assert isinstance(jsonfile.read_json_object(path, tmp), dict)
        except InputError:
            pass
        assert os.listdir(tmp) == ["collection.json"]


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
front_matter = st.dictionaries(
    st.sampled_from(
        ["title", "description", "license", "tasks", "kind", "tags", "authors", "doi", "x"]
    ),
    yaml_values,
    max_size=6,
).map(lambda d: yaml.safe_dump(d, allow_unicode=True))


def _check_card(text: str) -> None:
    try:
        card = parse_card(text, "README.md")
    except InputError as exc:
        assert exc.message.startswith("README.md")
        return
    for name in ("tasks", "tags", "authors"):
        assert all(isinstance(v, str) for v in getattr(card, name))
    for name in ("title", "description", "license", "kind", "citation", "doi"):
        assert isinstance(getattr(card, name), str)
    card.problems()
    parse_card(render_card(card), "README.md")  # what we write, we read back


@FUZZ
@given(front_matter, st.text(max_size=50))
def test_card_parser_never_crashes_on_fields(front: str, body: str) -> None:
    _check_card(f"---\n{front}---\n{body}")


@FUZZ
@given(st.text(max_size=300))
def test_card_parser_never_crashes_on_text(text: str) -> None:
    _check_card(text)
    _check_card("---\n" + text + "\n---\n")


#: Typed YAML scalars that construct Python values (dates, numbers, bytes), often invalid.
typed_lines = st.tuples(
    st.sampled_from(["title", "doi", "tasks", "x"]),
    st.sampled_from(["", "!!timestamp ", "!!int ", "!!float ", "!!binary ", "!!bool ", "!!str "]),
    st.one_of(
        st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?\Z"),
        st.from_regex(r"\A0x[0-9A-Za-z]{1,4}\Z"),
        st.text(alphabet="0123456789.eE+-_:abcxyz", max_size=12),
    ),
).map(lambda t: f"{t[0]}: {t[1]}{t[2]}")


@FUZZ
@given(st.lists(typed_lines, min_size=1, max_size=4))
def test_card_parser_never_crashes_on_typed_values(lines: list[str]) -> None:
    _check_card("---\n" + "\n".join(lines) + "\n---\n")
