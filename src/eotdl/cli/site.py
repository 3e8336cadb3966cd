"""``eotdl preview`` and ``eotdl publish``: look at the built site, and put it online."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, emit_json, err_console, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.command()
@lab_option(resolve=False)
@click.option(
    "--dir",
    "site_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Serve this built site folder instead of the lab's _site/.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port (0 picks a free one).")
@click.option("--build/--no-build", "rebuild", default=False, help="Build the site first.")
@click.option("--quiet", is_flag=True, help="Do not log every request.")
def preview(
    lab: str | None,
    site_dir: Path | None,
    host: str,
    port: int,
    rebuild: bool,
    quiet: bool,
) -> None:
    """Serve the built site on 127.0.0.1 and print its URL (Ctrl-C stops it)."""
    from eotdl.site.serve import make_server, server_url

    if site_dir is None:
        from eotdl.catalog.lab import Lab

        the_lab = Lab.locate(lab)
        if rebuild:
            from eotdl.site.build import build_site

            summary = build_site(the_lab)
            err_console.print(f"[green]built[/] {summary.items:,} items in {summary.seconds:.2f} s")
        site_dir = the_lab.site_dir
    server = make_server(site_dir, host, port, quiet=quiet)
    url = server_url(server)
    console.print(f"Serving {site_dir} at [bold]{url}[/]  (STAC: {url}catalog.json; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()


@click.command()
@lab_option()
@click.option(
    "--to",
    "target",
    default=None,
    help="Where to upload: file:///path or s3://bucket/prefix (default: the lab's store, at"
    " its root beside objects/; elsewhere needs [store] public_url).",
)
@click.option(
    "--build/--no-build",
    "rebuild",
    default=True,
    show_default=True,
    help="Build the site before uploading.",
)
@click.option("--qa/--no-qa", default=True, show_default=True, help="Run QA while building.")
@click.option("--full", is_flag=True, help="Rebuild everything before uploading.")
@click.option("--force", is_flag=True, help="Upload every file, even unchanged ones.")
@click.option(
    "--tag",
    is_flag=True,
    help="Tag NAME@VERSION in git for every dataset version not yet tagged (then push"
    " the tags); tagged versions stay readable at datasets/NAME/v/VERSION/.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def publish(
    lab: Lab,
    target: str | None,
    rebuild: bool,
    qa: bool,
    full: bool,
    force: bool,
    tag: bool,
    as_json: bool,
) -> None:
    """Build the site and upload it (only what changed) to the lab's store or another target."""
    from eotdl.site.publish import publish_site

    if tag:
        from eotdl.catalog.published import tag_versions

        made = tag_versions(lab)
        if not as_json:
            err_console.print(f"tagged: {', '.join(made) or 'nothing new'}")
    progress = None if as_json else (lambda line: err_console.print(f"[dim]{line}[/]"))
    summary = publish_site(
        lab, target, build=rebuild, qa=qa, full=full, force=force, progress=progress
    )
    if as_json:
        emit_json(summary.to_dict())
        return
    console.print(
        f"[green]published[/] to {summary.target}: {summary.uploaded} uploaded,"
        f" {summary.skipped} unchanged, {summary.deleted} deleted"
        f" ({summary.bytes / 1e6:.1f} MB in {summary.seconds:.1f} s)"
    )
