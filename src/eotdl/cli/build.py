"""``eotdl build``: turn the lab into its static site (STAC tree, geoparquet, HTML pages)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, emit_json, err_console, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.command()
@lab_option()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the site (default: the lab's site output, _site/).",
)
@click.option(
    "--qa/--no-qa",
    default=True,
    show_default=True,
    help="Run QA on datasets whose report is missing or older than their files.",
)
@click.option("--full", is_flag=True, help="Ignore the previous build and rewrite everything.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--cluster",
    default=None,
    help="Run QA's reads and build each dataset's tree, parquet and pages on a Dask cluster:"
    " 'local' or tcp://HOST:PORT (default: the lab's [compute] cluster, else here).",
)
def build(
    lab: Lab, output: Path | None, qa: bool, full: bool, as_json: bool, cluster: str | None
) -> None:
    """Build the lab's static site: STAC tree, stac-geoparquet, search index and HTML pages.

    Incremental (only what changed since the last build is written again) and atomic (a
    failed build leaves the previous site as it was).
    """
    from eotdl.site.build import build_site

    progress = None if as_json else (lambda line: err_console.print(f"[dim]{line}[/]"))
    summary = build_site(lab, output, qa=qa, full=full, progress=progress, cluster=cluster)
    if as_json:
        emit_json(summary.to_dict())
        return
    for warning in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    reused = (
        f"; reused {summary.folders_reused} unchanged folders, {summary.items_reused:,} items"
        if summary.folders_reused or summary.items_reused
        else ""
    )
    console.print(
        f"[green]built[/] {summary.datasets} datasets, {summary.models} models,"
        f" {summary.items:,} items in {summary.seconds:.2f} s"
        f" (wrote {summary.items_written:,} items, {summary.pages_written:,} pages{reused})"
    )
    console.print(f"  site:    {summary.root / 'index.html'}")
    console.print(f"  STAC:    {summary.root / 'catalog.json'}")
    console.print("  preview: eotdl preview")
