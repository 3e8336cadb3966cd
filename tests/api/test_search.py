"""The search engine and `eotdl search`: CQL2, three-valued logic, sorting, paging, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eotdl.api.cql2 import parse_filter, parse_text
from eotdl.api.search import ItemIndex, SearchQuery, parse_query
from eotdl.api.table import ItemTable
from eotdl.cli.main import cli
from eotdl.errors import InputError
from eotdl.read.parquet import items_to_table
from labs import make_lab, search_datasets
from searchdata import COLLECTIONS
from stacgen import item


@pytest.fixture(scope="module")
def search_lab(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("search")
    return make_lab(root, search_datasets(COLLECTIONS), title="Search test lab", build=True)


def _index(*items: dict) -> ItemIndex:
    return ItemIndex([ItemTable("ds", items_to_table(items))])


def _ids(index: ItemIndex, **params: object) -> list[str]:
    query = parse_query({k: v for k, v in params.items()}, "POST")
    query.limit = 1000
    return [i["id"] for i in index.search(query).items()]


SMALL = _index(
    item("a", cloud=1.0, kind="forest"),
    item("b", cloud=5.0, kind="water"),
    item("c", kind="forest"),  # no cloud: unknown in comparisons
    item("d", cloud=9.0, kind="urban"),
)


def test_text_parses_to_json():
    assert parse_text("cloud < 5 AND NOT kind = 'water'") == {
        "op": "and",
        "args": [
            {"op": "<", "args": [{"property": "cloud"}, 5]},
            {"op": "not", "args": [{"op": "=", "args": [{"property": "kind"}, "water"]}]},
        ],
    }
    assert parse_text('"odd name" IS NOT NULL') == {
        "op": "not",
        "args": [{"op": "isNull", "args": [{"property": "odd name"}]}],
    }
    assert parse_text("x BETWEEN 1 AND 2.5")["args"][1:] == [1, 2.5]
    assert parse_text("datetime >= TIMESTAMP('2020-01-01T00:00:00Z')")["args"][1] == {
        "timestamp": "2020-01-01T00:00:00Z"
    }
    geometry = parse_text("S_INTERSECTS(geometry, POINT(1 2))")["args"][1]
    assert geometry == {"type": "Point", "coordinates": [1.0, 2.0]}


@pytest.mark.parametrize(
    "text",
    ["", "x <", "x = 1 y", "x ~ 1", "(x = 1", "x IN ()", "S_INTERSECTS(geometry, POLYGON((1 2)))"],
)
def test_bad_text_is_an_input_error(text):
    with pytest.raises(InputError, match="invalid filter"):
        parse_filter(text, "cql2-text")


@pytest.mark.parametrize(
    "expression",
    [
        {"op": "=", "args": [{"property": "x"}]},
        {"op": "and", "args": [True]},
        {"op": "frobnicate", "args": []},
        {"op": "in", "args": [{"property": "x"}, 3]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Nope"}]},
        {"args": []},
        {"op": "<", "args": [{"property": "x"}, [1, 2]]},
    ],
)
def test_bad_json_is_an_input_error(expression):
    with pytest.raises(InputError, match="invalid filter"):
        parse_filter(expression)


def test_three_valued_logic_over_missing_values():
    assert _ids(SMALL, filter="cloud < 6") == ["a", "b"]
    assert _ids(SMALL, filter="NOT cloud < 6") == ["d"]  # c is unknown both ways
    assert _ids(SMALL, filter="cloud < 6 OR kind = 'forest'") == ["a", "b", "c"]
    assert _ids(SMALL, filter="cloud IS NULL") == ["c"]
    assert _ids(SMALL, filter="missing_property = 1") == []
    assert _ids(SMALL, filter="NOT missing_property = 1") == []
    assert _ids(SMALL, filter="kind IN ('water', 'urban')") == ["b", "d"]
    assert _ids(SMALL, filter="kind NOT LIKE 'f%'") == ["b", "d"]
    assert _ids(SMALL, filter="cloud BETWEEN 1 AND 5") == ["a", "b"]
    assert _ids(SMALL, filter="id = 'b' OR id = 'd'") == ["b", "d"]
    assert _ids(SMALL, filter={"op": "<>", "args": [3, 4]}) == ["a", "b", "c", "d"]


def test_type_mismatch_is_an_input_error():
    with pytest.raises(InputError, match="cannot compare property 'kind'"):
        _ids(SMALL, filter="kind > 3")
    with pytest.raises(InputError, match="like needs a text property"):
        _ids(SMALL, filter="cloud LIKE '1%'")


def test_sortby_nulls_last_and_stable():
    assert _ids(SMALL, sortby="-cloud") == ["d", "b", "a", "c"]
    assert _ids(SMALL, sortby=[{"field": "properties.cloud", "direction": "asc"}]) == [
        "a",
        "b",
        "d",
        "c",
    ]
    assert _ids(SMALL, sortby="kind,-id") == ["c", "a", "d", "b"]
    with pytest.raises(InputError, match="cannot sort by 'nope'"):
        _ids(SMALL, sortby="nope")


def test_paging_offsets():
    query = SearchQuery(limit=3)
    first = SMALL.search(query)
    assert first.matched == 4 and [t.ids[r] for t, r in first.rows] == ["a", "b", "c"]
    query.offset = 3
    assert [t.ids[r] for t, r in SMALL.search(query).rows] == ["d"]
    query.offset = 10
    assert SMALL.search(query).rows == []


def test_antimeridian_bbox():
    east = item("east")
    east["geometry"] = {"type": "Point", "coordinates": [179.5, 0.0]}
    east["bbox"] = [179.5, 0.0, 179.5, 0.0]
    west = item("west")
    west["geometry"] = {"type": "Point", "coordinates": [-179.5, 0.0]}
    west["bbox"] = [-179.5, 0.0, -179.5, 0.0]
    middle = item("middle")
    middle["geometry"] = {"type": "Point", "coordinates": [0.0, 0.0]}
    middle["bbox"] = [0.0, 0.0, 0.0, 0.0]
    index = _index(east, middle, west)
    assert _ids(index, bbox=[179, -1, -179, 1]) == ["east", "west"]
    assert _ids(index, bbox=[-1, -1, 1, 1]) == ["middle"]


def test_cli_search_formats(search_lab):
    runner = CliRunner()
    site = str(search_lab.site_dir)
    result = runner.invoke(
        cli,
        [
            "search",
            "--lab",
            site,
            "--collection",
            "beta",
            "--filter",
            "class = 'water'",
            "--sortby",
            "-eo:cloud_cover",
            "--limit",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    ids = result.stdout.split()
    assert ids and all(i.startswith("beta-") for i in ids)

    result = runner.invoke(
        cli, ["search", "--lab", site, "--bbox", "-10,34,-9,36", "--format", "geojson"]
    )
    assert result.exit_code == 0, result.output
    collection = json.loads(result.stdout)
    assert collection["type"] == "FeatureCollection" and collection["numberMatched"] > 0
    href = collection["features"][0]["assets"]["image"]["href"]
    assert Path(href).is_absolute()  # hrefs come back absolute

    result = runner.invoke(
        cli,
        [
            "search",
            "--lab",
            site,
            "--datetime",
            "2023-02-01/2023-02-28",
            "--format",
            "ndjson",
            "--limit",
            "5",
        ],
    )
    lines = result.stdout.strip().splitlines()
    assert result.exit_code == 0 and len(lines) == 5
    assert all(json.loads(line)["type"] == "Feature" for line in lines)

    # the lab folder itself (no build needed) gives the same ids
    from_lab = runner.invoke(
        cli,
        ["search", "--lab", str(search_lab.root), "--filter", "class = 'water'", "--limit", "0"],
    )
    from_site = runner.invoke(
        cli, ["search", "--lab", site, "--filter", "class = 'water'", "--limit", "0"]
    )
    assert from_lab.stdout == from_site.stdout


def test_cli_search_errors(search_lab, tmp_path: Path):
    runner = CliRunner()
    site = str(search_lab.site_dir)
    result = runner.invoke(cli, ["search", "--lab", site, "--collection", "gamma"])
    assert result.exit_code != 0 and "no collection 'gamma'" in str(result.exception)
    filter_file = tmp_path / "f.json"
    filter_file.write_text(json.dumps({"op": "=", "args": [{"property": "class"}, "urban"]}))
    result = runner.invoke(cli, ["search", "--lab", site, "--filter", f"@{filter_file}"])
    assert result.exit_code == 0 and result.stdout.strip()


@pytest.mark.parametrize("text", ["2023-02-30", "2023-13-45", "2023-02-30T00:00:00Z", "2023-1-1"])
def test_impossible_dates_are_one_input_error(text):
    for strict in (True, False):
        with pytest.raises(InputError, match="not a"):
            parse_query({"datetime": text}, "GET", strict=strict)
        with pytest.raises(InputError, match="not a"):
            parse_query({"datetime": f"{text}/.."}, "GET", strict=strict)


def test_the_api_takes_rfc3339_only_the_cli_also_dates():
    with pytest.raises(InputError, match="RFC 3339"):
        parse_query({"datetime": "2023-02-01"})
    with pytest.raises(InputError, match="RFC 3339"):
        parse_query({"datetime": "2023-02-01T00:00:00"})
    day = parse_query({"datetime": "2023-02-01"}, strict=False).interval
    assert day is not None and day[0].isoformat() == "2023-02-01T00:00:00+00:00"
    assert day[1] is not None and day[1].isoformat() == "2023-02-01T23:59:59.999999+00:00"
    moment = parse_query({"datetime": "2023-02-01T10:00:00.123456789+02:00"}).interval
    assert moment is not None and moment[0].isoformat() == "2023-02-01T08:00:00.123456+00:00"


def test_between_in_both_forms():
    three = {"op": "between", "args": [{"property": "cloud"}, 2, 9]}
    two = {"op": "between", "args": [{"property": "cloud"}, [2, 9]]}
    assert parse_filter(two) == parse_filter(three)
    assert _ids(SMALL, filter=two) == _ids(SMALL, filter=three) == ["b", "d"]
    assert parse_text("cloud BETWEEN 2 AND 9") == three


@pytest.mark.parametrize("command", ["search", "get"])
def test_cli_impossible_date_is_one_clear_error(search_lab, tmp_path: Path, command: str):
    import subprocess
    import sys

    args = ["--lab", str(search_lab.site_dir), "--datetime", "2023-02-30"]
    if command == "get":
        args = ["alpha", *args, "-o", str(tmp_path / "out")]
    result = subprocess.run(
        [sys.executable, "-m", "eotdl.cli.main", command, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "'2023-02-30' is not a date" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
