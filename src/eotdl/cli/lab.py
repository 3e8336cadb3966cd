"""``eotdl init``: write a new lab."""

from __future__ import annotations

from pathlib import Path

import click

from eotdl.catalog.lab import DEFAULT_STORE, init_lab
from eotdl.cli.output import console, emit_json


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default="An eotdl lab", show_default=True, help="The lab's title.")
@click.option("--base-url", default="", help="Public URL the site will be served from.")
@click.option(
    "--store",
    "store_url",
    default=DEFAULT_STORE,
    show_default=True,
    help="Object store: a folder inside the lab, file:///path or s3://bucket/prefix.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init(directory: Path, title: str, base_url: str, store_url: str, as_json: bool) -> None:
    """Write a new lab into DIRECTORY: eotdl.toml, datasets/, models/, README, CI workflows."""
    lab = init_lab(directory, title=title, base_url=base_url, store_url=store_url)
    if as_json:
        emit_json({"lab": str(lab.root), "store": lab.store_url, "site": str(lab.site_dir)})
        return
    console.print(f"[green]New lab[/] at {lab.root}")
    console.print(f"  object store: {lab.store_url}")
    console.print(f"  site output:  {lab.site_dir}")
    console.print("  next: `git init` there, then add a dataset with `eotdl ingest …`")
