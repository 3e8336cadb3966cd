"""The command line as a user meets it: help everywhere, clear errors, JSON output."""

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from eotdl import __version__
from eotdl.catalog.lab import init_lab
from eotdl.cli.main import COMMANDS, LazyGroup, cli
from stacgen import collection, item

README = Path(__file__).resolve().parents[2] / "README.md"


def eotdl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `eotdl` entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "eotdl.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def _all_commands() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    ctx = click.Context(cli)

    def visit(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            found.append((*prefix, name))
            if isinstance(command, click.Group):
                visit(command, (*prefix, name))

    visit(cli, ())
    return found


def test_registered_commands_import():
    assert isinstance(cli, LazyGroup)
    assert set(COMMANDS) <= {c[0] for c in _all_commands()}


@pytest.mark.parametrize("command", _all_commands(), ids=" ".join)
def test_every_command_has_help(command):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


@pytest.mark.parametrize("command", _all_commands(), ids=" ".join)
def test_every_command_is_documented_in_readme(command):
    assert f"eotdl {' '.join(command)}" in README.read_text(), (
        f"document `eotdl {' '.join(command)}`"
    )


def test_version():
    result = eotdl("--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_user_error_is_one_message_without_traceback(tmp_path):
    result = eotdl("build", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no lab here")
    assert "Traceback" not in result.stderr
    assert "hint: run `eotdl init DIR`" in result.stderr


def test_debug_shows_traceback(tmp_path):
    result = eotdl("--debug", "build", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_init_validate_build_json(tmp_path, shared_mirror):
    lab_dir = tmp_path / "lab"
    result = eotdl("init", str(lab_dir), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["lab"] == str(lab_dir.resolve())
    lab = init_lab.__globals__["Lab"](lab_dir)
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    folder.write_items([item("a"), item("b")])

    result = eotdl("validate", ".", "--json", cwd=lab_dir)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] and report["checked"] == 3

    result = eotdl("build", "--json", cwd=lab_dir)
    assert result.returncode == 0 and json.loads(result.stdout)["items"] == 2

    (lab_dir / "datasets/ds/items.ndjson").write_text("{oops\n")
    result = eotdl("validate", str(lab_dir))
    assert result.returncode == 1
    assert "items.ndjson:1: malformed JSON" in result.stdout
    assert "INVALID" in result.stdout and "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error():
    result = eotdl("frobnicate")
    assert result.returncode == 2 and "No such command" in result.stderr
