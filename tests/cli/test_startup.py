"""The command line starts light: help and version import none of the heavy libraries.

Each case runs the real entry point in a fresh interpreter and lists what got imported
(imports, not time: timings live in bench/bench_startup.py). The tables that let
``eotdl --help`` list commands without importing them are checked against the commands.
"""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from eotdl.cli.main import COMMANDS, SUMMARIES, cli

HEAVY = ("numpy", "rasterio", "pyarrow", "dask", "torch", "matplotlib", "boto3")

#: Runs ``eotdl ARGS`` in this interpreter, then prints the heavy modules it imported.
PROBE = """
import sys
from eotdl.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
else:
    code = 0
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def _cases() -> list[tuple[str, ...]]:
    """--help, --version, and --help of every command and of every subcommand of a group
    (except ``ingest KIND``, whose options come from the builder class itself)."""
    cases: list[tuple[str, ...]] = [("--help",), ("--version",)]
    ctx = click.Context(cli)
    for name in sorted(COMMANDS):
        cases.append((name, "--help"))
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group) and name != "ingest":
            for sub in command.list_commands(ctx):
                cases.append((name, sub, "--help"))
    return cases


def _imported_heavy(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    probe = f"HEAVY = {HEAVY!r}\n" + PROBE
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    marker = [line for line in done.stderr.splitlines() if line.startswith("HEAVY=")]
    assert marker, done.stderr
    found = marker[-1].removeprefix("HEAVY=")
    return done, [name for name in found.split(",") if name]


@pytest.mark.parametrize("args", _cases(), ids=" ".join)
def test_help_and_version_import_nothing_heavy(args):
    done, heavy = _imported_heavy(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert heavy == [], f"`eotdl {' '.join(args)}` imported {', '.join(heavy)}"


def test_the_probe_sees_a_heavy_import():
    """The check can fail: a command that needs numpy to run shows it."""
    done, heavy = _imported_heavy("validate", "--help")
    assert heavy == []
    probe = f"HEAVY = {HEAVY!r}\nimport numpy\n" + PROBE
    done = subprocess.run(
        [sys.executable, "-c", probe, "--version"], capture_output=True, text=True, check=False
    )
    assert "HEAVY=numpy" in done.stderr


def test_summaries_match_the_commands():
    ctx = click.Context(cli)
    assert set(SUMMARIES) == set(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert SUMMARIES[name] == command.get_short_help_str(1000), name


def test_lazy_help_lists_what_the_commands_say():
    """`eotdl --help` from the table is the listing click makes from the commands."""
    ctx = click.Context(cli)
    real = click.Group(commands={n: cli.get_command(ctx, n) for n in COMMANDS})  # type: ignore[misc]
    expected = click.HelpFormatter()
    real.format_commands(ctx, expected)
    lazy = click.HelpFormatter()
    cli.format_commands(ctx, lazy)
    assert lazy.getvalue() == expected.getvalue()
    assert "validate" in lazy.getvalue()


def test_check_names_match_the_registry():
    from eotdl.cli.qa import CHECK_NAMES
    from eotdl.qa.registry import check_names

    assert list(CHECK_NAMES) == check_names()


def test_builder_summaries_match_the_builders():
    from eotdl.builders import registry
    from eotdl.cli.ingest import BUILTIN_SUMMARIES

    assert set(BUILTIN_SUMMARIES) == set(registry.BUILTIN)
    for kind, summary in BUILTIN_SUMMARIES.items():
        assert registry.load(kind).summary == summary, kind


def test_version_is_the_package_version():
    import importlib.metadata

    import eotdl

    assert eotdl.__version__ == importlib.metadata.version("eotdl")
