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
    "previews": "eotdl.cli.previews:previews",
    "labels": "eotdl.cli.label:labels",
}


#: command name -> its one-line help, so ``eotdl --help`` lists commands without importing
#: them (tests/cli/test_startup.py checks these match the commands' own docstrings).
SUMMARIES: dict[str, str] = {
    "init": "Write a new lab into DIRECTORY: eotdl.toml, datasets/, models/, README, CI workflows.",
    "validate": "Validate STAC offline against the official schemas.",
    "schemas": "The local cache of STAC JSON schemas used by `eotdl validate`.",
    "build": "Build the lab's static site: STAC tree, stac-geoparquet, search index and HTML"
    " pages.",
    "preview": "Serve the built site on 127.0.0.1 and print its URL (Ctrl-C stops it).",
    "publish": "Build the site and upload it (only what changed) to the lab's store or another"
    " target.",
    "storage": "Inspect and maintain the lab's object store (the bytes behind the assets).",
    "ingest": "Make a dataset with a builder: `eotdl ingest KIND SOURCE --dataset NAME`.",
    "rebuild": "Re-run a dataset's recipe.yaml (same items, same checksums).",
    "builders": "The builders that make datasets.",
    "qa": "Check dataset NAME, compute its quality level (Q0-Q3), its statistics and bias flags.",
    "diff": "Items added, removed and changed, assets and metadata, from version A to B.",
    "get": "Download a dataset: its metadata and chosen assets, every file verified.",
    "search": "Search the items of a lab's site (its stac-geoparquet files), locally or over HTTP.",
    "serve": "Serve a read-only STAC API (and the static site) over a built site.",
    "credits": "The contributors ledger: commit authors and Co-authored-by trailers, weighted by"
    " what they changed (new datasets, items added or fixed, card improvements, reviews).",
    "check": "Check what this branch changed against BASE, as the lab's CI does on a pull request.",
    "versions": "List the published versions (git tags NAME@VERSION) of a dataset.",
    "yank": "Mark a published version deprecated: it stays readable, its bytes are kept.",
    "train": "Train a model on a dataset of the lab, on a Dask cluster, and save it in models/.",
    "predict": "Run a trained model on a GeoTIFF; write a class GeoTIFF with the same"
    " georeferencing.",
    "models": "The lab's trained models: list them, download one.",
    "export": "Write a dataset's metadata in another format.",
    "previews": "Draw PNG previews (thumbnail assets) for raster items that have none.",
    "label": "Build the labelling page of dataset NAME and serve it on 127.0.0.1.",
    "labels": "Apply exported label files to a dataset, and measure agreement between annotators.",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is asked for.

    Its help lists the commands from :data:`SUMMARIES`, so ``eotdl --help`` imports none of
    them; a command missing from that table is imported to read its help.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listing: dict[str, click.Command] = {}
        for name in self.list_commands(ctx):
            summary = SUMMARIES.get(name)
            command = (
                click.Command(name, help=summary)
                if summary is not None
                else self.get_command(ctx, name)
            )
            if command is not None:
                listing[name] = command
        click.Group.format_commands(click.Group(commands=listing), ctx, formatter)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from eotdl import __version__

    click.echo(f"eotdl, version {__version__}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
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
