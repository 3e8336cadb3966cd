"""Planted leaks between splits (same bytes, overlapping ground) and duplicates."""

from __future__ import annotations

from qacases import NAME, edit_item, items, replace_asset, stored_path, write_tif

from eotdl.catalog import ndjson
from eotdl.qa import run_qa

pytest_plugins = ["qacases"]


def _run(lab, *checks):
    return run_qa(lab, NAME, checks=list(checks), eda=False)


def _by_split(lab):
    found: dict[str, list[dict]] = {}
    for item in items(lab):
        found.setdefault(item["properties"]["ml-aoi:split"], []).append(item)
    return found


def test_same_bytes_in_train_and_test_is_a_leak(lab):
    splits = _by_split(lab)
    train, test = splits["train"][0], splits["test"][0]
    replace_asset(lab, test["id"], "image", stored_path(lab, train, "image"))
    report = _run(lab, "leakage", "duplicates")
    assert [(f.severity, f.code, f.object) for f in report.findings] == [
        ("error", "leak-bytes", f"item:{test['id']}")
    ]
    assert train["id"] in report.findings[0].message


def test_overlapping_footprints_across_splits_are_a_leak(lab, tmp_path):
    splits = _by_split(lab)
    train, test = splits["train"][1], splits["test"][1]
    train_x = int(train["id"][1]) * 1000.0
    # a different image of mostly the same ground: 200 m east of the train chip
    overlapping = write_tif(tmp_path / "o.tif", seed=99, offset=(train_x + 200.0, 0.0))
    replace_asset(lab, test["id"], "image", overlapping, move_geometry=True)
    report = _run(lab, "leakage")
    assert [(f.severity, f.code, f.object) for f in report.findings] == [
        ("error", "leak-overlap", f"item:{test['id']}")
    ]
    assert "by 69%" in report.findings[0].message


def test_leak_between_train_and_validate_is_a_warning(lab):
    splits = _by_split(lab)
    train, validate = splits["train"][0], splits["validate"][0]
    replace_asset(lab, validate["id"], "image", stored_path(lab, train, "image"))
    report = _run(lab, "leakage")
    assert {(f.severity, f.code) for f in report.findings} == {("warning", "leak-bytes")}


def test_touching_chips_do_not_leak(lab, tmp_path):
    splits = _by_split(lab)
    train, test = splits["train"][0], splits["test"][1]
    assert train["id"].startswith("t0")  # the westernmost chip: nothing else to its west
    beside = write_tif(tmp_path / "b.tif", seed=98, offset=(-640.0, 0.0))
    replace_asset(lab, test["id"], "image", beside, move_geometry=True)
    assert _run(lab, "leakage").findings == []


def test_duplicate_imagery_in_one_split(lab):
    first, second = _by_split(lab)["train"][:2]
    replace_asset(lab, second["id"], "image", stored_path(lab, first, "image"))
    report = _run(lab, "duplicates", "leakage")
    assert [(f.severity, f.code, f.object) for f in report.findings] == [
        ("warning", "duplicate-asset", f"item:{second['id']}/asset:image")
    ]


def test_duplicate_ids(lab):
    path = lab.dataset(NAME).items_path
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines, lines[0]]))
    first = next(iter(ndjson.iter_items(path)))["id"]
    report = _run(lab, "duplicates")
    assert [(f.code, f.object) for f in report.errors] == [("duplicate-id", f"item:{first}")]


def test_item_geometry_of_a_single_item_changes_nothing(lab):
    edit_item(lab, items(lab)[0]["id"], lambda item: item["properties"].update(note="x"))
    assert _run(lab, "leakage", "duplicates").findings == []
