"""``eotdl build``: turn the lab into its static site (for now, the STAC tree)."""

from __future__ import annotations

from pathlib import Path

import click

from eotdl.catalog.lab import Lab
from eotdl.catalog.tree import write_stac_tree
from eotdl.cli.output import console, emit_json


@click.command()
@click.option(
    "--lab",
    "lab_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The lab folder (default: the lab containing the current folder).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the site (default: the lab's site output, _site/).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def build(lab_dir: Path | None, output: Path | None, as_json: bool) -> None:
    """Build the lab's static STAC tree: catalog.json → collections → items."""
    lab = Lab(lab_dir) if lab_dir else Lab.find()
    summary = write_stac_tree(lab, output)
    if as_json:
        emit_json(
            {
                "site": str(summary.root),
                "collections": summary.collections,
                "items": summary.items,
                "seconds": round(summary.seconds, 3),
            }
        )
        return
    console.print(
        f"[green]built[/] {summary.collections} collections, {summary.items} items"
        f" in {summary.seconds:.2f} s → {summary.root / 'catalog.json'}"
    )
