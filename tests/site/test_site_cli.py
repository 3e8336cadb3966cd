"""The commands as a user types them: `eotdl build`, `eotdl publish` (and QA run by build)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sitelab import PUBLIC_URL, site_dataset

from eotdl.cli.main import cli
from labs import make_lab


def _run(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_build_then_publish(tmp_path: Path) -> None:
    # publishing --to elsewhere: readers need the store's URL
    lab = make_lab(
        tmp_path, [site_dataset("tiny", 6)], title="CLI lab", store={"public_url": PUBLIC_URL}
    )
    first = _run("build", "--lab", str(lab.root), "--no-qa", "--json")
    assert first["datasets"] == 1 and first["items"] == 6 and first["items_written"] == 6
    again = _run("build", "--lab", str(lab.root), "--no-qa", "--json")
    assert again["items_written"] == 0 and again["folders_reused"] == 1
    target = tmp_path / "www"
    published = _run(
        "publish", "--lab", str(lab.root), "--to", target.as_uri(), "--no-qa", "--json"
    )
    assert published["uploaded"] > 10 and published["failed"] == []
    assert (target / "datasets/tiny/index.html").is_file()


def test_build_runs_qa_and_shows_its_level(tmp_path: Path) -> None:
    """The real `eotdl.qa`: a report is made when missing, then reused while it is fresh."""
    import eotdl.qa

    if getattr(eotdl.qa, "run_qa", None) is None:
        pytest.skip("eotdl.qa has no run_qa yet (QA is another issue's)")
    lab = make_lab(tmp_path, [site_dataset("tiny", 4)], title="QA lab")
    result = _run("build", "--lab", str(lab.root), "--json")
    assert result["qa"] == {"tiny": "ok"}
    report = json.loads((lab.root / ".eotdl/qa/tiny/qa.json").read_text())
    page = (lab.site_dir / "datasets/tiny/index.html").read_text()
    assert f"{report['level']} · " in page
    assert (lab.site_dir / "datasets/tiny/qa/qa.json").is_file()
    for plot in (report.get("plots") or {}).values():
        if plot:
            assert (lab.site_dir / "datasets/tiny/qa" / plot).is_file(), plot
    again = _run("build", "--lab", str(lab.root), "--json")
    assert again["qa"] == {"tiny": "reused"} and again["folders_reused"] == 1


def test_build_without_the_qa_package_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(tmp_path, [site_dataset("tiny", 2)])
    monkeypatch.setitem(sys.modules, "eotdl.qa", None)  # `from eotdl.qa import …` fails
    result = _run("build", "--lab", str(lab.root), "--json")
    assert result["qa"] == {"tiny": "not-run"}
    assert "QA is not available here" in (lab.site_dir / "datasets/tiny/index.html").read_text()


def test_build_human_output(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, [site_dataset("tiny", 2)])
    result = CliRunner().invoke(cli, ["build", "--lab", str(lab.root), "--no-qa"])
    assert result.exit_code == 0, result.output
    assert "built 1 datasets, 0 models, 2 items" in result.output
    assert "eotdl preview" in result.output
