"""The clean dataset passes every check with no finding, reaches Q3, and its report is whole."""

from __future__ import annotations

import json

from qacases import NAME, edit_card, edit_items

from eotdl.qa import default_output, run_qa
from eotdl.qa.registry import check_names

pytest_plugins = ["qacases"]


def test_clean_dataset_has_no_findings_and_is_q3(lab, shared_mirror):
    report = run_qa(lab, NAME)
    assert [f.to_dict() for f in report.findings] == []
    assert report.level == "Q3" and report.level_reasons == []
    assert report.errors == [] and report.ok
    folder = default_output(lab, NAME)
    data = json.loads((folder / "qa.json").read_text())
    assert data == json.loads(json.dumps(report.to_dict()))
    assert list(data) == [
        "dataset",
        "version",
        "generated_by",
        "level",
        "level_reasons",
        "summary",
        "findings",
        "eda",
        "plots",
    ]
    assert data["summary"] == {
        "items": 8,
        "errors": 0,
        "warnings": 0,
        "infos": 0,
        "checks_run": check_names(),
    }
    assert data["eda"]["splits"] == {"test": 2, "train": 4, "validate": 2}
    for key, path in data["plots"].items():
        assert path == f"plots/{key}.png"
        assert (folder / path).stat().st_size > 1000
        assert (folder / path).with_suffix(".svg").exists()
    assert (folder / "qa.md").read_text().startswith(f"# QA: {NAME}")
    assert '<section class="eotdl-qa" data-level="Q3">' in (folder / "qa.html").read_text()


def test_without_review_the_level_is_q2(lab, shared_mirror):
    edit_card(lab, reviewed_by=None, reviewed_at=None)
    report = run_qa(lab, NAME, eda=False)
    assert report.level == "Q2"
    assert report.level_reasons == [
        "Q3: no maintainer review recorded in the card (reviewed_by, reviewed_at)"
    ]


def test_skipped_checks_cap_the_level_at_q1(lab, shared_mirror):
    report = run_qa(lab, NAME, skip=["assets"], eda=False)
    assert report.level == "Q1"
    assert "Q2: check(s) not run: assets" in report.level_reasons


def test_without_splits_the_level_is_q1(lab, shared_mirror):
    def drop_split(item):
        del item["properties"]["ml-aoi:split"]
        return item

    edit_items(lab, drop_split)
    report = run_qa(lab, NAME, eda=False)
    assert report.level == "Q1"
    assert "Q2: 8 label item(s) without an ml-aoi:split" in report.level_reasons
    assert {f.code for f in report.errors} == {"split-missing"}


def test_output_folder_can_be_chosen(lab, tmp_path, shared_mirror):
    report = run_qa(lab, NAME, checks=["card"], eda=False, output=tmp_path / "out")
    assert report.output == tmp_path / "out"
    data = json.loads((tmp_path / "out" / "qa.json").read_text())
    assert data["eda"] is None and data["plots"] == {}
    assert data["summary"]["checks_run"] == ["card"]
