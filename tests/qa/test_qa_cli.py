"""`eotdl qa` as a user meets it: a table, qa.json, --json, --checks/--skip, exit codes."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner
from qacases import NAME, edit_card

from eotdl.cli.main import cli, main

pytest_plugins = ["qacases"]


def test_qa_clean_dataset_exits_zero_from_inside_the_lab(lab, shared_mirror):
    cwd = os.getcwd()
    os.chdir(lab.root / "datasets")
    try:
        result = CliRunner().invoke(cli, ["qa", NAME, "--no-eda"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "level Q3" in result.output
    assert (lab.root / ".eotdl" / "qa" / NAME / "qa.json").exists()


def test_qa_errors_exit_non_zero_and_json_is_qa_json(lab):
    edit_card(lab, license="Not-A-Licence")
    result = CliRunner().invoke(
        cli, ["qa", NAME, "--lab", str(lab.root), "--json", "--checks", "card,datetime"]
    )
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["level"] == "Q0" and data["summary"]["checks_run"] == ["card", "datetime"]
    assert [f["code"] for f in data["findings"]] == ["card-license"]


def test_unknown_check_is_a_clear_error(lab, capsys):
    try:
        main(["qa", NAME, "--lab", str(lab.root), "--skip", "nope"])
    except SystemExit as exc:
        assert exc.code == 1
    assert "no QA check named 'nope'" in capsys.readouterr().err


def test_unknown_dataset_is_a_clear_error(lab, capsys):
    try:
        main(["qa", "missing", "--lab", str(lab.root)])
    except SystemExit as exc:
        assert exc.code == 1
    err = capsys.readouterr().err
    assert "no dataset 'missing'" in err and "chips" in err
