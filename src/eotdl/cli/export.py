"""``eotdl export croissant NAME[@VERSION]``: a dataset version as an MLCommons Croissant card."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.group("export")
def export() -> None:
    """Write a dataset's metadata in another format."""


@export.command("croissant")
@click.argument("target", metavar="NAME[@VERSION]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the card to this file (default: print it).",
)
@lab_option()
def croissant(target: str, output: Path | None, lab: Lab) -> None:
    """A Croissant 1.0 JSON-LD card (with GeoCroissant fields) of a dataset or one of its
    published versions; local asset paths are absolute so `mlcroissant` reads them."""
    import tempfile

    from eotdl.atomic import atomic_write
    from eotdl.catalog.croissant import write_dataset_croissant

    name, _, version = target.partition("@")
    if output is None:
        out = sys.stdout.buffer
        spool = Path(tempfile.gettempdir())
        write_dataset_croissant(lab, name, version or None, out.writelines, spool)
        return
    with atomic_write(output) as handle:
        write_dataset_croissant(
            lab, name, version or None, handle.writelines, output.resolve().parent
        )
    console.print(f"[green]{output}[/]: Croissant card of {target}")
