"""Planted metadata defects: schema, card, datetime, splits. Each must be caught."""

from __future__ import annotations

import datetime as dt

import pytest
from qacases import NAME, by_code, codes, edit_card, edit_item, edit_items, items

from eotdl.qa import run_qa
from eotdl.qa.checks.metadata import license_problem, parse_datetime

pytest_plugins = ["qacases"]


def _run(lab, *checks):
    return run_qa(lab, NAME, checks=list(checks), eda=False)


def test_schema_error_is_caught_and_caps_the_level_at_q0(lab, shared_mirror):
    first = items(lab)[0]["id"]
    edit_item(lab, first, lambda item: item.update(bbox="not a bbox"))
    report = run_qa(lab, NAME, eda=False)
    found = by_code(report, "schema-invalid")
    assert found and found[0].object == f"item:{first}" and found[0].severity == "error"
    assert report.level == "Q0"
    assert report.level_reasons[0] == f"Q1: {len(found)} STAC schema error(s)"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"license": "TODO-SPDX-ID"}, "card-license"),
        ({"license": "CC-BY-4.2"}, "card-license"),
        ({"license": ""}, "card-license"),
        ({"description": ""}, "card-description"),
        ({"description": "TODO: describe the dataset."}, "card-description"),
        ({"title": ""}, "card-title"),
        ({"kind": "benchmark", "citation": ""}, "card-citation"),
    ],
)
def test_card_defects_are_errors(lab, fields, code):
    edit_card(lab, **fields)
    report = _run(lab, "card")
    assert [f.code for f in report.errors] == [code]


def test_missing_card(lab):
    lab.dataset(NAME).card_path.unlink()
    assert [f.code for f in _run(lab, "card").errors] == ["card-missing"]


def test_proprietary_license_is_a_warning_and_no_citation_a_note(lab):
    edit_card(lab, license="proprietary", citation="")
    report = _run(lab, "card")
    assert report.errors == []
    assert [(f.severity, f.code) for f in report.findings] == [
        ("warning", "card-license"),
        ("info", "card-citation"),
    ]


@pytest.mark.parametrize(
    ("license_id", "ok"),
    [
        ("CC-BY-4.0", True),
        ("cc-by-4.0", True),
        ("MIT OR Apache-2.0", True),
        ("Apache-2.0 WITH LLVM-exception", True),
        ("LicenseRef-my-terms", True),
        ("CC-BY-4.2", False),
        ("MIT AND", False),
    ],
)
def test_license_is_checked_against_the_offline_spdx_list(license_id, ok):
    problem = license_problem(license_id)
    assert (problem is None) == ok, problem


def test_license_mismatch_between_card_and_collection(lab):
    folder = lab.dataset(NAME)
    collection = folder.read_collection()
    collection["license"] = "MIT"
    folder.write_collection(collection)
    assert [f.code for f in _run(lab, "card").findings] == ["license-mismatch"]


@pytest.mark.parametrize(
    ("change", "code", "severity"),
    [
        ({"datetime": None}, "datetime-missing", "error"),
        ({"datetime": "yesterday"}, "datetime-invalid", "error"),
        ({"datetime": "2999-01-01T00:00:00Z"}, "datetime-future", "error"),
        ({"datetime": "1850-01-01T00:00:00Z"}, "datetime-implausible", "error"),
        ({"datetime": "1970-01-01T00:00:00Z"}, "datetime-epoch", "warning"),
        ({"datetime": "1965-06-01T00:00:00Z"}, "datetime-early", "warning"),
        (
            {
                "datetime": None,
                "start_datetime": "2023-02-01T00:00:00Z",
                "end_datetime": "2023-01-01T00:00:00Z",
            },
            "datetime-range",
            "error",
        ),
    ],
)
def test_datetime_defects(lab, change, code, severity):
    target = items(lab)[3]["id"]
    edit_item(lab, target, lambda item: item["properties"].update(change))
    report = _run(lab, "datetime")
    assert [(f.severity, f.code, f.object) for f in report.findings] == [
        (severity, code, f"item:{target}")
    ]


def test_a_start_end_range_is_a_datetime(lab):
    target = items(lab)[0]["id"]
    edit_item(
        lab,
        target,
        lambda item: item["properties"].update(
            datetime=None,
            start_datetime="2023-01-01T00:00:00Z",
            end_datetime="2023-01-31T00:00:00Z",
        ),
    )
    assert _run(lab, "datetime").findings == []


def test_parse_datetime():
    assert parse_datetime("2023-01-02T03:04:05Z") == dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert parse_datetime("2023-01-02T03:04:05+02:00").utcoffset() == dt.timedelta(hours=2)
    assert parse_datetime("2023-01-02") is not None
    assert parse_datetime("not a date") is None and parse_datetime(None) is None


def test_item_without_split_in_a_split_dataset(lab):
    target = items(lab)[5]["id"]
    edit_item(lab, target, lambda item: item["properties"].pop("ml-aoi:split"))
    report = _run(lab, "splits")
    assert [(f.code, f.object) for f in report.findings] == [("split-missing", f"item:{target}")]


def test_invalid_split_name(lab):
    target = items(lab)[5]["id"]
    edit_item(lab, target, lambda item: item["properties"].update({"ml-aoi:split": "training"}))
    assert [f.code for f in _run(lab, "splits").findings] == ["split-invalid"]


def test_every_item_in_one_split_is_a_warning(lab):
    def train(item):
        item["properties"]["ml-aoi:split"] = "train"
        return item

    edit_items(lab, train)
    report = _run(lab, "splits")
    assert report.errors == [] and codes(report) == {"split-single"}


def test_dataset_without_splits_needs_none(lab):
    def plain(item):
        del item["properties"]["ml-aoi:split"]
        item["stac_extensions"] = [e for e in item["stac_extensions"] if "ml-aoi" not in e]
        return item

    edit_items(lab, plain)
    folder = lab.dataset(NAME)
    collection = folder.read_collection()
    del collection["summaries"]["ml-aoi:split"]
    collection["stac_extensions"] = [e for e in collection["stac_extensions"] if "ml-aoi" not in e]
    folder.write_collection(collection)
    assert _run(lab, "splits").findings == []
