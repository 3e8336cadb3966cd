"""The README's table of recipes is generated from the builders' facts and must be fresh;
`eotdl builders list` shows the same facts."""

from __future__ import annotations

import json

import recipes_table
from click.testing import CliRunner

from eotdl.builders.recipes import RECIPES
from eotdl.cli.main import cli


def test_readme_table_is_up_to_date():
    text = recipes_table.README.read_text(encoding="utf-8")
    assert recipes_table.render(text) == text, "run scripts/recipes_table.py"
    assert recipes_table.main(["--check"]) == 0


def test_a_stale_table_is_caught(tmp_path, monkeypatch):
    stale = recipes_table.README.read_text(encoding="utf-8").replace("| `eurosat` |", "| x |")
    readme = tmp_path / "README.md"
    readme.write_text(stale, encoding="utf-8")
    monkeypatch.setattr(recipes_table, "README", readme)
    assert recipes_table.main(["--check"]) == 1
    assert recipes_table.main([]) == 0
    assert "| `eurosat` |" in readme.read_text(encoding="utf-8")


def test_builders_list_shows_the_recipes():
    result = CliRunner().invoke(cli, ["builders", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["kind"]: r for r in json.loads(result.output)}
    assert set(RECIPES) <= set(rows)
    assert rows["eurosat"]["recipe"]["license"] == "MIT"
    assert rows["sen12ms"]["recipe"]["task"] == "segmentation"
    assert "recipe" not in rows["rasters"]
    text = CliRunner().invoke(cli, ["builders", "list"]).output
    assert "Recipes" in text and "MIT" in text and "pastis" in text
