"""The report: qa.json is the product; Markdown and HTML are views that escape what they show."""

from __future__ import annotations

import dataclasses

import pytest

from eotdl.errors import InputError
from eotdl.qa.findings import Finding, error, info, item_ref, warning
from eotdl.qa.registry import CHECKS, check_names, select
from eotdl.qa.report import QAReport, render_html, render_markdown


def _report(**changes):
    report = QAReport(
        dataset="ds",
        version="1.0.0",
        generated_by="eotdl test",
        level="Q1",
        level_reasons=["Q2: 1 error(s) from check(s) card"],
        items=3,
        checks_run=["card"],
        findings=[
            error("card-license", "card", "license <script>alert(1)</script> | bad", "use MIT"),
            warning("cog-layout", item_ref("a", "image"), "not tiled"),
            info("card-citation", "card", "no citation"),
        ],
    )
    return dataclasses.replace(report, **changes)


def test_to_dict_counts_by_severity():
    data = _report().to_dict()
    assert data["summary"] == {
        "items": 3,
        "errors": 1,
        "warnings": 1,
        "infos": 1,
        "checks_run": ["card"],
    }
    assert data["findings"][1] == {
        "severity": "warning",
        "code": "cog-layout",
        "object": "item:a/asset:image",
        "message": "not tiled",
        "fix": "",
    }


def test_html_is_escaped():
    html = render_html(_report().to_dict())
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'data-level="Q1"' in html and "3 items" in html


def test_markdown_escapes_table_cells():
    text = render_markdown(_report().to_dict())
    assert "**Level Q1**" in text and "bad" in text and "\\| bad" in text
    assert "- Q2: 1 error(s) from check(s) card" in text


def test_findings_reject_unknown_severity():
    with pytest.raises(ValueError):
        Finding("fatal", "x", "y", "z")


def test_registry_selection():
    assert check_names()[0] == "schema" and len(CHECKS) == len(set(check_names(pull_request=True)))
    assert [c.name for c in select(["leakage", "schema"])] == ["schema", "leakage"]
    assert "schema" not in [c.name for c in select(skip=["schema"])]
    with pytest.raises(InputError, match="no QA check named 'nope'"):
        select(["nope"])


def test_the_pull_request_asset_check_is_registered_for_eotdl_check_only():
    assert "changed-assets" in check_names(pull_request=True)
    assert "changed-assets" not in check_names()  # `eotdl qa` re-hashes with "assets" instead
    assert "changed-assets" in [c.name for c in select(pull_request=True)]
    with pytest.raises(InputError, match="no QA check named 'changed-assets'"):
        select(["changed-assets"])
