"""``eotdl get``, ``eotdl search`` and ``eotdl serve``: reading a lab."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click
import orjson

from eotdl.cli.output import console, emit_json, err_console, lab_option
from eotdl.errors import InputError


@click.command()
@click.argument("target", metavar="NAME[@VERSION]")
@lab_option(reader=True)
@click.option("--split", default=None, help="Only this split: train, validate (validation), test.")
@click.option("--bbox", default=None, help="Only items intersecting minx,miny,maxx,maxy (lon/lat).")
@click.option(
    "--datetime", "when", default=None, help="Only items in A, A/B, ../B or A/.. (RFC 3339)."
)
@click.option("--assets", default=None, help="Asset keys to download, comma separated (all).")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the dataset (default: ./NAME-VERSION).",
)
@click.option("--workers", default=16, show_default=True, help="Parallel transfers.")
@click.option("--endpoint-url", default=None, help="S3 endpoint (default: AWS_ENDPOINT_URL).")
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def get(
    target: str,
    lab: str | None,
    split: str | None,
    bbox: str | None,
    when: str | None,
    assets: str | None,
    output: Path | None,
    workers: int,
    endpoint_url: str | None,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Download a dataset: its metadata and chosen assets, every file verified.

    NAME[@VERSION] is a dataset of the lab (or the location of any STAC collection.json).
    Transfers run in parallel and resume: run the same command again after an interruption
    and only what is missing is fetched. Files are checked against file:checksum and
    file:size; a corrupt one is fetched once more, then reported.
    """
    from eotdl.read.download import get as get_dataset

    result = get_dataset(
        target,
        output,
        lab=lab,
        split=split,
        bbox=bbox,
        datetime=when,
        assets=assets,
        workers=workers,
        progress=not no_progress and not as_json,
        endpoint_url=endpoint_url,
    )
    if as_json:
        emit_json(result.to_dict())
        return
    version = f"@{result.version}" if result.version else ""
    console.print(f"[green]got[/] {result.dataset}{version} → {result.path}: {result.describe()}")
    for note in result.notes():
        err_console.print(f"[yellow]note:[/] {note}")


@click.command()
@lab_option(reader=True)
@click.option("--collection", "collections", multiple=True, help="Only this collection (repeat).")
@click.option("--ids", default=None, help="Only these item ids, comma separated.")
@click.option("--bbox", default=None, help="Items intersecting minx,miny,maxx,maxy (lon/lat).")
@click.option("--datetime", "when", default=None, help="Items in A, A/B, ../B or A/.. (RFC 3339).")
@click.option(
    "--filter",
    "expression",
    default=None,
    help="CQL2-text (\"eo:cloud_cover < 10 AND class = 'forest'\"), CQL2-JSON, or @FILE.",
)
@click.option("--sortby", default=None, help="Sort keys, e.g. -datetime,+id.")
@click.option("--limit", default=100, show_default=True, help="At most N items (0: all).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ids", "geojson", "ndjson"]),
    default="ids",
    show_default=True,
    help="Item ids, one FeatureCollection, or one Item per line.",
)
@click.option("--endpoint-url", default=None, help="S3 endpoint (default: AWS_ENDPOINT_URL).")
def search(
    lab: str | None,
    collections: tuple[str, ...],
    ids: str | None,
    bbox: str | None,
    when: str | None,
    expression: str | None,
    sortby: str | None,
    limit: int,
    fmt: str,
    endpoint_url: str | None,
) -> None:
    """Search the items of a lab's site (its stac-geoparquet files), locally or over HTTP."""
    from eotdl.api.site_search import search_lab

    page = search_lab(
        lab,
        collections=collections,
        ids=ids,
        bbox=bbox,
        datetime=when,
        filter=_read_filter(expression),
        sortby=sortby,
        limit=limit,
        endpoint_url=endpoint_url,
    )
    if fmt == "ids":
        for item in page.items:
            sys.stdout.write(f"{item['id']}\n")
    elif fmt == "ndjson":
        for item in page.items:
            sys.stdout.buffer.write(orjson.dumps(item) + b"\n")
    else:
        sys.stdout.buffer.write(orjson.dumps(page.feature_collection()) + b"\n")
    sys.stdout.flush()
    if page.returned < page.matched:
        err_console.print(f"{page.returned} of {page.matched} matching items shown (--limit)")


def _read_filter(expression: str | None) -> str | None:
    if expression is None or not expression.startswith("@"):
        return expression
    path = Path(expression[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--filter {expression}: cannot read {path}: {exc.strerror}") from None


@click.command()
@click.option(
    "--site",
    default=None,
    help="The built site (folder, URL or s3://bucket/prefix) or a lab folder."
    " Default: the site of the lab around the current folder.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port (0: any free port).")
@click.option(
    "--public-url", default=None, help="The URL clients reach this server at (default: Host)."
)
@click.option("--endpoint-url", default=None, help="S3 endpoint (default: AWS_ENDPOINT_URL).")
def serve(
    site: str | None, host: str, port: int, public_url: str | None, endpoint_url: str | None
) -> None:
    """Serve a read-only STAC API (and the static site) over a built site.

    Search with any STAC client, e.g. pystac_client.Client.open("http://127.0.0.1:8000").
    Stateless: run as many copies as you like behind a load balancer.
    """
    # Arrow's allocator is jemalloc (set by ``import eotdl`` before pyarrow starts): it keeps
    # a server's memory flat (eotdl.api.index.use_search_allocator)
    from eotdl.api.routes import StacApi
    from eotdl.api.server import stac_api_server

    server = stac_api_server(
        site, host=host, port=port, public_url=public_url, endpoint_url=endpoint_url
    )
    index = cast(StacApi, server.app).site
    address = f"http://{host}:{server.server_address[1]}"
    err_console.print(
        f"serving {len(index.entries)} collection(s), {index.items} items at {address}"
        " (Ctrl-C to stop)"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
