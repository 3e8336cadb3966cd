"""The ``eotdl`` command: a click group whose subcommands are imported only when used.

Each command lives in ``eotdl.cli.<group>``; the table below is the one place a command is
registered. User errors (:class:`eotdl.errors.EotdlError`) become one clear message and a
non-zero exit; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from eotdl import __version__
from eotdl.errors import EotdlError

#: command name -> "module:attribute"; imported lazily so ``eotdl --help`` stays fast.
COMMANDS: dict[str, str] = {
    "init": "eotdl.cli.lab:init",
    "validate": "eotdl.cli.validate:validate",
    "schemas": "eotdl.cli.validate:schemas",
    "build": "eotdl.cli.build:build",
    "preview": "eotdl.cli.site:preview",
    "publish": "eotdl.cli.site:publish",
    "storage": "eotdl.cli.storage:storage",
    "ingest": "eotdl.cli.ingest:ingest_group",
    "rebuild": "eotdl.cli.ingest:rebuild_command",
    "builders": "eotdl.cli.ingest:builders",
    "qa": "eotdl.cli.qa:qa",
    "diff": "eotdl.cli.diff:diff",
    "get": "eotdl.cli.access:get",
    "search": "eotdl.cli.access:search",
    "serve": "eotdl.cli.access:serve",
    "credits": "eotdl.cli.credits:credits",
    "check": "eotdl.cli.check:check",
    "versions": "eotdl.cli.versions:versions",
    "yank": "eotdl.cli.versions:yank_command",
    "train": "eotdl.cli.train:train",
    "predict": "eotdl.cli.train:predict",
    "models": "eotdl.cli.train:models",
    "export": "eotdl.cli.export:export",
    "label": "eotdl.cli.label:label",
    "labels": "eotdl.cli.label:labels",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="eotdl")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """eotdl: the Earth Observation Training Data Lab.

    A lab is a git repository of STAC metadata plus an object store for the bytes.
    Run `eotdl COMMAND --help` for the details of a command.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI and turn user errors into a message and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="eotdl", standalone_mode=False)
    except EotdlError as exc:
        if debug:
            raise
        _print_error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _print_error("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _print_error("interrupted")
        sys.exit(130)
    if isinstance(result, int) and not isinstance(result, bool) and result != 0:
        sys.exit(result)  # a command that ended with ctx.exit(code)
    return result


def _print_error(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
