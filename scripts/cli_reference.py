"""Write the README's command reference from the click commands themselves.

    python scripts/cli_reference.py          # rewrite the marked section of README.md
    python scripts/cli_reference.py --check  # exit 1 if it is stale (tests/cli runs this check)

Every command and subcommand gets its usage line, its one-line help and its options, between
the ``<!-- cli-reference:start -->`` and ``<!-- cli-reference:end -->`` markers, so the
reference cannot drift from the code (like datasette's ``cog --check``). Only the built-in
builders are listed under ``eotdl ingest``: a third-party builder installed here is not part
of eotdl's documentation.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import click

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"
HEADING = "## Command reference"
#: Wide enough that no option's help wraps differently on another terminal.
WIDTH = 100


def commands() -> Iterator[tuple[str, click.Command]]:
    """``(path, command)`` for every command and subcommand, in the order ``--help`` lists."""
    from eotdl.builders import registry
    from eotdl.cli.main import cli

    ctx = click.Context(cli, info_name="eotdl")

    def visit(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name in group.list_commands(ctx):
            if prefix == "eotdl ingest" and name not in registry.BUILTIN:
                continue
            command = group.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            path = f"{prefix} {name}"
            yield path, command
            if isinstance(command, click.Group):
                yield from visit(command, path)

    yield from visit(cli, "eotdl")


def one_line(command: click.Command) -> str:
    """The first paragraph of the command's help, on one line."""
    text = inspect.cleandoc(command.help or "")
    return " ".join(text.split("\n\n")[0].split())


def usage(path: str, command: click.Command) -> str:
    ctx = click.Context(command, info_name=path)
    return f"{path} {' '.join(command.collect_usage_pieces(ctx))}".rstrip()


def options(path: str, command: click.Command) -> str:
    """The options as ``--help`` shows them (``--help`` itself left out)."""
    ctx = click.Context(command, info_name=path)
    records = [
        record
        for param in command.get_params(ctx)
        if isinstance(param, click.Option) and "--help" not in param.opts
        if (record := param.get_help_record(ctx)) is not None
    ]
    if not records:
        return ""
    formatter = click.HelpFormatter(width=WIDTH, max_width=WIDTH)
    formatter.write_dl(records)
    return formatter.getvalue().rstrip()


def render() -> str:
    """The reference, markers included."""
    parts = [
        START,
        HEADING,
        "",
        "Generated from the commands by `python scripts/cli_reference.py`;"
        " `tests/cli/test_cli_reference.py` fails when it is stale.",
    ]
    for path, command in commands():
        parts += ["", f"#### `{path}`", "", one_line(command), "", "```text", usage(path, command)]
        shown = options(path, command)
        if shown:
            parts += ["", shown]
        parts.append("```")
    parts.append(END)
    return "\n".join(parts) + "\n"


def update(text: str, reference: str) -> str:
    """``text`` (the README) with its marked section replaced by ``reference``.

    With no markers yet, the section goes before ``## Development`` (or at the end).
    """
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        return head + reference + tail.removeprefix("\n")
    anchor = text.find("\n## Development")
    if anchor < 0:
        return text.rstrip("\n") + "\n\n" + reference
    return text[: anchor + 1] + reference + "\n" + text[anchor + 1 :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    wanted = update(text, render())
    if args.check:
        if wanted != text:
            print(
                f"{args.readme}: the command reference is stale;"
                " run `python scripts/cli_reference.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    if wanted != text:
        args.readme.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
