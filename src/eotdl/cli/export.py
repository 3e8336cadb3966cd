"""``eotdl export croissant NAME[@VERSION]``: a dataset version as an MLCommons Croissant card."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eotdl.cli.output import console


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
@click.option(
    "--lab",
    "lab_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The lab folder (default: the lab containing the current folder).",
)
def croissant(target: str, output: Path | None, lab_dir: Path | None) -> None:
    """A Croissant 1.0 JSON-LD card (with GeoCroissant fields) of a dataset or one of its
    published versions; local asset paths are absolute so `mlcroissant` reads them."""
    from eotdl.atomic import write_bytes_atomic
    from eotdl.catalog.croissant import dataset_croissant, dumps
    from eotdl.catalog.lab import Lab

    name, _, version = target.partition("@")
    lab = Lab(lab_dir) if lab_dir else Lab.find()
    data = dumps(dataset_croissant(lab, name, version or None))
    if output is None:
        sys.stdout.buffer.write(data)
        return
    write_bytes_atomic(output, data)
    console.print(f"[green]{output}[/]: Croissant card of {target}")
