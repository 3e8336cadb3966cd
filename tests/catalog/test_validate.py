import json
import os
from pathlib import Path

import jsonschema
import pytest
import referencing
import referencing.exceptions

from eotdl.catalog import canonical
from eotdl.catalog.lab import init_lab
from eotdl.catalog.schemas import SchemaSource, sync
from eotdl.catalog.validate import Validator, validate_target
from eotdl.errors import InputError
from shareddata import EXAMPLES, needs_shared
from stacgen import collection, item

# ---------------------------------------------------------------- conformance with jsonschema


def _examples() -> list[Path]:
    if not EXAMPLES.exists():
        return []
    found = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".json", ".geojson"))
    return [p for p in found if '"stac_version"' in p.read_text()]  # label GeoJSON is not STAC


def _reference_verdict(obj: dict, mirror: Path) -> str:
    """The verdict of Python jsonschema with the same schemas: valid, invalid or unavailable."""
    version = obj["stac_version"]
    kind = obj.get("type")
    if kind not in ("Feature", "Collection", "Catalog"):
        kind = "Collection" if "extent" in obj else "Catalog"
    core = {
        "Feature": "item-spec/json-schema/item.json",
        "Collection": "collection-spec/json-schema/collection.json",
        "Catalog": "catalog-spec/json-schema/catalog.json",
    }[kind]
    urls = [f"https://schemas.stacspec.org/v{version}/{core}"]
    for ext in obj.get("stac_extensions", []):
        urls.append(
            ext
            if "://" in ext
            else f"https://schemas.stacspec.org/v{version}/extensions/{ext}/json-schema/schema.json"
        )

    def retrieve(uri: str):
        if "json-schema.org" in uri:
            from jsonschema_specifications import REGISTRY

            return REGISTRY.get_or_retrieve(uri.rstrip("#")).value
        path = mirror / uri.split("://", 1)[1].split("#")[0]
        if not path.is_file():
            raise FileNotFoundError(uri)
        return referencing.Resource.from_contents(json.loads(path.read_text()))

    registry = referencing.Registry(retrieve=retrieve)
    verdict = "valid"
    for url in urls:
        try:
            registry = registry.with_resource(url, retrieve(url))
            validator = jsonschema.Draft7Validator({"$ref": url}, registry=registry)
            if not validator.is_valid(obj):
                verdict = "invalid"
        except (FileNotFoundError, referencing.exceptions.Unresolvable):
            return "unavailable"
    return verdict


@pytest.mark.parametrize("path", _examples(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_same_verdict_as_jsonschema(path: Path, shared_mirror: Path):
    obj = json.loads(path.read_text())
    expected = _reference_verdict(obj, shared_mirror)
    problems = Validator().validate_object(obj, str(path))
    if expected == "unavailable":
        assert problems and all(p.rule == "schema-unavailable" for p in problems[:1])
        assert "https://" in problems[0].message  # names the URL
    elif expected == "valid":
        assert problems == []
    else:
        assert problems and problems[0].rule != "schema-unavailable"


def test_examples_found():
    needs_shared(EXAMPLES)
    assert len(_examples()) > 100


# ---------------------------------------------------------------- error content


def test_errors_name_file_line_id_path_and_rule(tmp_path, shared_mirror):
    path = tmp_path / "items.ndjson"
    good, bad = item("good"), item("bad")
    bad["stac_extensions"] = ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"]
    bad["properties"]["eo:cloud_cover"] = "cloudy"
    path.write_bytes(canonical.dumps(good) + b"\n" + canonical.dumps(bad) + b"\n")
    report = validate_target(str(path))
    assert report.checked == 2 and report.invalid_objects == 1
    [problem] = report.problems
    assert problem.source == str(path) and problem.line == 2 and problem.object_id == "bad"
    assert problem.path == "/properties/eo:cloud_cover"
    assert problem.rule.startswith("https://stac-extensions.github.io/eo/v1.1.0/schema.json#")
    assert "not of type" in problem.message
    assert f"{path}:2: item 'bad': /properties/eo:cloud_cover" in problem.format()


def test_missing_required_field(shared_mirror):
    obj = item("x")
    del obj["properties"]["datetime"]
    problems = Validator().validate_object(obj, "x.json")
    assert any("datetime" in p.message for p in problems)


# ---------------------------------------------------------------- bad input


def _validate_file(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return validate_target(str(path))


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("a.json", b"{not json", "malformed JSON"),
        ("a.json", b"[1, 2]", "expected a JSON object, got an array"),
        ("a.json", json.dumps({**item("x"), "type": None}).encode(), "'type' is None"),
        ("a.json", b"\xff\xfe{}", "not UTF-8"),
        ("a.ndjson", b'{"type": "Collection", "stac_version": "1.0.0", "id": "c"}\n', "expected a"),
        ("a.ndjson", b"[]\n", "expected a JSON object"),
    ],
)
def test_bad_input_is_a_clear_problem(tmp_path, shared_mirror, name, data, message):
    report = _validate_file(tmp_path, name, data)
    assert not report.ok
    assert message in report.problems[0].message


def test_missing_type(shared_mirror):
    obj = item("x")
    del obj["type"]
    [problem] = Validator().validate_object(obj, "x.json")
    assert "missing 'type'" in problem.message and problem.hint


def test_unknown_stac_version(shared_mirror):
    [problem] = Validator().validate_object({**item("x"), "stac_version": "9.9.9"}, "x.json")
    assert problem.rule == "stac-version" and "9.9.9" in problem.message


def test_duplicate_ids_in_ndjson(tmp_path, shared_mirror):
    line = canonical.dumps(item("same")) + b"\n"
    report = _validate_file(tmp_path, "items.ndjson", line + line)
    assert [p.rule for p in report.problems] == ["duplicate-id"]
    assert report.problems[0].line == 2


def test_huge_single_line_file_refused_quickly(tmp_path, shared_mirror):
    path = tmp_path / "huge.ndjson"
    with path.open("wb") as handle:
        handle.write(b'{"type": "Feature", "id": "')
        handle.write(b"x" * (100 * 1024 * 1024))
    report = validate_target(str(path))  # how fast: bench/bench_fail_fast.py
    assert not report.ok and "longer than" in report.problems[0].message
    big = tmp_path / "huge.json"
    path.rename(big)
    report = validate_target(str(big))
    assert "larger than" in report.problems[0].message


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        validate_target(str(tmp_path / "nope.json"))


# ---------------------------------------------------------------- labs and catalogs


def test_lab_with_dataset(tmp_path, shared_mirror):
    lab = init_lab(tmp_path)
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    folder.write_items([item(f"i{n}") for n in range(5)])
    report = validate_target(str(tmp_path))
    assert report.ok and report.checked == 6
    broken = item("i9")
    broken["geometry"] = {"type": "Polygon", "coordinates": "nope"}
    folder.write_items([item("i0"), broken])
    report = validate_target(str(tmp_path))
    assert not report.ok and report.problems[0].object_id == "i9"
    assert report.problems[0].line == 2


def test_walks_a_catalog_over_http(http_dir, shared_mirror):
    root = http_dir.root
    (root / "col").mkdir()
    cat = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "c",
        "description": "d",
        "links": [{"rel": "child", "href": "./col/collection.json"}],
    }
    col = {**collection("ds"), "links": [{"rel": "item", "href": "./a.json"}]}
    (root / "catalog.json").write_text(json.dumps(cat))
    (root / "col" / "collection.json").write_text(json.dumps(col))
    (root / "col" / "a.json").write_text(json.dumps(item("a")))
    report = validate_target(f"{http_dir.url}/catalog.json")
    assert report.ok and report.checked == 3
    (root / "col" / "a.json").unlink()
    report = validate_target(f"{http_dir.url}/catalog.json")
    assert not report.ok and "HTTP 404" in report.problems[0].message


# ---------------------------------------------------------------- schema cache


def test_unknown_schema_offline_names_url_fast(tmp_path, shared_mirror):
    obj = {**item("x"), "stac_extensions": ["https://example.invalid/ext/v1.0.0/schema.json"]}
    problems = Validator().validate_object(obj, "x.json")  # how fast: bench/bench_fail_fast.py
    assert problems[0].rule == "schema-unavailable"
    assert "https://example.invalid/ext/v1.0.0/schema.json" in problems[0].message


def test_unreachable_schema_with_network_allowed_fails_fast(tmp_path):
    source = SchemaSource(mirrors=(), cache=tmp_path, allow_network=True)
    url = "http://127.0.0.1:9/schemas/item.json"  # discard port: nothing listens
    # how fast: bench/bench_fail_fast.py
    problems = Validator(source).validate_object({**item("x"), "stac_extensions": [url]}, "x.json")
    assert any(url in p.message for p in problems)


def test_sync_fetches_schemas_and_their_references(http_dir, tmp_path):
    (http_dir.root / "ext").mkdir()
    (http_dir.root / "ext" / "schema.json").write_text(
        json.dumps(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "allOf": [{"$ref": "common.json"}],
            }
        )
    )
    (http_dir.root / "ext" / "common.json").write_text(json.dumps({"type": "object"}))
    cache = tmp_path / "cache"
    source = SchemaSource(mirrors=(), cache=cache, allow_network=True)
    status = sync([f"{http_dir.url}/ext/schema.json"], source)
    assert set(status.values()) == {"ok"} and len(status) == 2
    host = http_dir.url.split("://")[1].replace(":", "_")
    assert (cache / host / "ext" / "common.json").is_file()
    # now offline, from the cache alone
    offline = SchemaSource(mirrors=(), cache=cache, allow_network=False)
    assert offline.load(f"{http_dir.url}/ext/common.json") == {"type": "object"}


@pytest.mark.parametrize("path", _examples()[::4], ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_same_verdict_on_broken_examples(path: Path, shared_mirror: Path):
    obj = json.loads(path.read_text())
    obj["id"] = 42
    obj["links"] = {"not": "a list"}
    expected = _reference_verdict(obj, shared_mirror)
    problems = Validator().validate_object(obj, str(path))
    if expected == "unavailable":
        assert problems[0].rule == "schema-unavailable"
    else:
        assert expected == "invalid"
        assert any(p.path in ("/id", "/links") for p in problems)


# ---------------------------------------------------------------- one process or several


def _mixed_ndjson(path: Path) -> Path:
    """Valid and invalid items, bad JSON, blank and CRLF lines, and duplicate ids far apart."""
    eo = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
    lines: list[bytes] = []
    for index in range(400):
        obj = item(f"i{index:04d}", **{"eo:cloud_cover": 10})
        obj["stac_extensions"] = [eo]
        if index % 37 == 5:
            obj["properties"]["eo:cloud_cover"] = 500  # schema error
        if index % 53 == 7:
            obj["id"] = "i0001"  # a duplicate of an early id
        if index % 61 == 3:
            obj["stac_extensions"] = ["https://example.invalid/nope/v1.0.0/schema.json"]
        line = canonical.dumps(obj)
        if index % 71 == 9:
            line = line[:-5]  # malformed JSON
        if index % 83 == 11:
            line = b"[1, 2]"  # not an object
        if index % 89 == 13:
            line = canonical.dumps({**obj, "stac_version": "9.9"})
        if index % 97 == 17:
            line = canonical.dumps({**obj, "stac_extensions": [{"a": 1}]})  # unhashable
        lines.append(line + (b"\r\n" if index % 7 == 0 else b"\n"))
        if index % 29 == 0:
            lines.append(b"   \n")
    path.write_bytes(b"".join(lines))
    return path


def _without_time(report) -> dict:
    found = report.to_dict()
    found.pop("seconds")
    return found


def test_processes_give_the_same_report_as_one(tmp_path, shared_mirror, monkeypatch):
    from eotdl.catalog import validate as module

    path = _mixed_ndjson(tmp_path / "items.ndjson")
    one = module.validate_ndjson(path, Validator(processes=1))
    assert one.checked == 400 and 20 < one.invalid_objects < 100
    rules = {p.rule for p in one.problems}
    assert {"duplicate-id", "json", "schema-unavailable", "stac-version"} <= rules
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(module, "CHUNK_BYTES", 4096)  # about 30 ranges, lines cut at edges
    monkeypatch.setattr(module.os, "fork", counting_fork)
    # other tests of the session may leave a server thread behind; fork anyway here
    monkeypatch.setattr(module.threading, "active_count", lambda: 1)
    several = module.validate_ndjson(path, Validator(processes=3))
    assert len(forks) == 2
    assert _without_time(several) == _without_time(one)
    assert [p.line for p in several.problems] == sorted(p.line or 0 for p in several.problems)


def test_processes_and_a_line_too_long(tmp_path, shared_mirror, monkeypatch):
    from eotdl.catalog import ndjson
    from eotdl.catalog import validate as module

    monkeypatch.setattr(ndjson, "MAX_LINE_BYTES", 2000)
    good = canonical.dumps(item("a")) + b"\n"
    path = tmp_path / "items.ndjson"
    path.write_bytes(good * 30 + b'{"id": "' + b"x" * 5000 + b'"}\n' + good * 30)
    one = module.validate_ndjson(path, Validator(processes=1))
    monkeypatch.setattr(module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(module, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(module.threading, "active_count", lambda: 1)
    several = module.validate_ndjson(path, Validator(processes=2))
    assert _without_time(several) == _without_time(one)
    assert "longer than" in one.problems[-1].message and ":31:" in one.problems[-1].message


def test_lookahead_free_patterns_match_the_same_names():
    import itertools
    import re

    from eotdl.catalog.validate import _plain_not_prefix

    for prefix in ("eo:", "proj:", "ml-aoi:", "classification:"):
        original = re.compile(f"^(?!{re.escape(prefix)})")
        plain = re.compile(_plain_not_prefix(f"^(?!{prefix})"))
        assert "(?!" not in plain.pattern
        names = {"", "\n", "x", prefix, prefix + "x", "x" + prefix, prefix.upper()}
        names |= {prefix[:cut] for cut in range(len(prefix))}
        names |= {
            prefix[:cut] + other + prefix[cut + 1 :]
            for cut in range(len(prefix))
            for other in ("x", "\n")
        }
        names |= {"".join(t) for t in itertools.product(prefix[:3] + "z", repeat=3)}
        for name in names:
            assert bool(original.search(name)) == bool(plain.search(name)), (prefix, name)
    assert _plain_not_prefix("^[a-z]+$") == "^[a-z]+$"


def _walk_refs(node):
    """Every non-local ``$ref`` string, found by walking the dicts."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                if not value.startswith("#"):
                    yield value
            else:
                yield from _walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value)


def test_refs_found_in_serialised_schemas_are_those_of_a_walk(shared_mirror):
    from eotdl.catalog.schemas import external_refs as _external_refs

    checked = 0
    for path in sorted(shared_mirror.rglob("*.json")):
        try:
            schema = json.loads(path.read_text())
        except ValueError:
            continue  # a few mirrored files are not strict JSON
        assert sorted(_external_refs(schema)) == sorted(_walk_refs(schema)), path
        checked += 1
    assert checked > 50
    tricky = {"a": {"$ref": "x.json#/d"}, "b": [{"$ref": "#/local"}], "c": 'say "$ref":"y"'}
    tricky["d"] = {"$ref": {"$ref": "z.json"}}
    assert sorted(_external_refs(tricky)) == ["x.json#/d", "z.json"]


def test_validate_targets_adds_up_the_reports(tmp_path, shared_mirror):
    from eotdl.catalog.validate import validate_targets

    good, bad = tmp_path / "good.ndjson", tmp_path / "bad.ndjson"
    good.write_bytes(canonical.dumps(item("a")) + b"\n" + canonical.dumps(item("b")) + b"\n")
    broken = item("c")
    del broken["properties"]["datetime"]
    bad.write_bytes(canonical.dumps(broken) + b"\n")
    report = validate_targets([str(good), str(bad)])
    assert report.checked == 3 and report.invalid_objects == 1
    assert {p.object_id for p in report.problems} == {"c"}
    assert validate_targets([str(good)]).ok
    with pytest.raises(InputError, match="no such file"):
        validate_targets([str(good), str(tmp_path / "missing.json")])
