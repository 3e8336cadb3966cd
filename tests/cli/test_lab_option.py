"""``--lab`` means the same for every command: a folder in the lab, ``$EOTDL_LAB``, or here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eotdl.catalog.lab import LAB_ENV, Lab, init_lab
from eotdl.cli.main import cli


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.delenv(LAB_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return init_lab(tmp_path / "lab")


@pytest.mark.parametrize(
    "args",
    [
        ["storage", "ls", "--json"],
        ["build", "--json", "--no-qa"],
        ["search", "--format", "ids"],
        ["models", "list", "--json"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_folder_inside_the_lab_works_for_every_command(lab: Lab, args: list[str]):
    result = CliRunner().invoke(cli, [*args, "--lab", "lab/datasets"])
    assert result.exit_code == 0, result.output


def test_environment_names_the_lab_for_writers_and_readers(lab: Lab, monkeypatch):
    monkeypatch.setenv(LAB_ENV, str(lab.root / "models"))
    result = CliRunner().invoke(cli, ["storage", "du", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["store"] == lab.store_url
    result = CliRunner().invoke(cli, ["search"])
    assert result.exit_code == 0, result.output


def test_a_url_for_a_writer_is_one_clear_error(lab: Lab):
    result = CliRunner().invoke(cli, ["build", "--lab", "https://example.org/lab/"])
    assert result.exit_code != 0
    assert "is not a lab folder" in str(result.exception)
    assert "--lab DIR" in str(result.exception)


def test_no_lab_anywhere(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(LAB_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["storage", "ls"])
    assert result.exit_code != 0 and "no lab here" in str(result.exception)
