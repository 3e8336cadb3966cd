"""``eotdl previews [NAME…]``: give raster items without a preview their PNG quicklook."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, err_console, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.command()
@click.argument("names", nargs=-1)
@lab_option()
def previews(names: tuple[str, ...], lab: Lab) -> None:
    """Draw PNG previews (thumbnail assets) for raster items that have none.

    Ingest makes them; this is for datasets made before previews existed. It writes the
    items and uploads the PNGs (content-addressed): commit the change like any other.
    """
    from eotdl.catalog.previews import ensure_lab_previews

    for name, result in ensure_lab_previews(lab, names, lambda text: err_console.print(text)):
        if result is None:
            console.print(f"{name}: unchanged since the last pass")
            continue
        console.print(
            f"{name}: {result.made} previews drawn, {result.had} already there,"
            f" {result.skipped} not in the store"
        )
        for problem in result.problems[:10]:
            err_console.print(f"  [yellow]{problem}[/]")
