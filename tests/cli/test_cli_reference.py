"""The README's command reference is generated from the commands and cannot go stale."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cli_reference  # scripts/ is on the tests' path
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    return cli_reference


def test_readme_reference_is_current(reference: ModuleType):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert reference.START in text and reference.END in text
    assert reference.update(text, reference.render()) == text, (
        "README.md's command reference is stale: run `python scripts/cli_reference.py`"
    )


def test_every_command_has_usage_help_and_options(reference: ModuleType):
    rendered = reference.render()
    for path, command in reference.commands():
        assert f"#### `{path}`" in rendered
        assert reference.usage(path, command).startswith(path)
        assert reference.one_line(command), f"`{path}` has no help"
    assert "--lab DIR" in rendered and "--lab URL" in rendered
    assert "eotdl storage verify [OPTIONS]" in rendered  # a group's subcommand
    assert "#### `eotdl ingest rasters`" in rendered  # a builder, from the registry


def test_check_fails_when_stale_and_the_script_fixes_it(reference: ModuleType, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# A project\n\nIntro.\n\n## Development\n\nRun tests.\n")
    assert reference.main(["--check", "--readme", str(readme)]) == 1
    assert "stale" in capsys.readouterr().err
    assert reference.main(["--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.index(reference.END) < text.index("## Development")  # placed before it
    assert reference.main(["--check", "--readme", str(readme)]) == 0
    readme.write_text(text.replace("Download a dataset", "Fetch a dataset"))  # hand-edited
    assert reference.main(["--check", "--readme", str(readme)]) == 1
    assert reference.main(["--readme", str(readme)]) == 0
    assert readme.read_text() == text  # regenerated in place, the rest kept
