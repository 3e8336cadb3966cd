"""``eotdl validate`` and ``eotdl schemas``: offline STAC validation and the schema cache."""

from __future__ import annotations

import click

from eotdl.cli.output import emit_json


@click.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--recursive/--no-recursive",
    default=True,
    show_default=True,
    help="Follow child and item links of catalogs and collections.",
)
@click.option("--max-errors", default=50, show_default=True, help="Problems shown (all in --json).")
def validate(targets: tuple[str, ...], as_json: bool, recursive: bool, max_errors: int) -> None:
    """Validate STAC offline against the official schemas.

    TARGETS are labs, dataset folders, ndjson files, or STAC catalogs, collections and items
    (local paths or http URLs). Schemas come from the local cache or EOTDL_SCHEMA_MIRROR.
    """
    from eotdl.catalog.validate import validate_targets

    report = validate_targets(targets, recursive=recursive)
    if as_json:
        emit_json(report.to_dict())
    else:
        # click, not rich, for these plain lines: rich's import would cost more than a
        # 10,000-item validation (tests/cli/test_startup.py, bench/bench_validate.py)
        for problem in report.problems[:max_errors]:
            click.echo(problem.format())
        hidden = len(report.problems) - max_errors
        if hidden > 0:
            click.echo(f"… and {hidden} more problems (use --json for all)")
        rate = report.checked / report.seconds if report.seconds else 0.0
        summary = (
            f"{report.checked} objects checked, {report.invalid_objects} invalid,"
            f" {len(report.problems)} problems in {report.seconds:.2f} s ({rate:,.0f} objects/s)"
        )
        color = "green" if report.ok else "red"
        verdict = click.style("valid" if report.ok else "INVALID", fg=color)
        click.echo(f"{verdict}: {summary}")
    if not report.ok:
        raise SystemExit(1)


@click.group()
def schemas() -> None:
    """The local cache of STAC JSON schemas used by `eotdl validate`."""


@schemas.command("sync")
@click.argument("urls", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync(urls: tuple[str, ...], as_json: bool) -> None:
    """Fetch the schemas eotdl uses (or URLS) and what they reference into the cache."""
    from rich.table import Table

    from eotdl.catalog import schemas as schema_cache
    from eotdl.cli.output import console

    status = schema_cache.sync(urls or schema_cache.SYNC_URLS)
    failed = {u: s for u, s in status.items() if s != "ok"}
    if as_json:
        emit_json({"cache": str(schema_cache.schema_cache_dir()), "schemas": status})
    else:
        table = Table("schema", "status")
        for url, state in sorted(status.items()):
            table.add_row(url, state)
        console.print(table)
        console.print(f"cache: {schema_cache.schema_cache_dir()}")
    if failed:
        raise SystemExit(1)


@schemas.command("path")
def path() -> None:
    """Print where the schema cache lives."""
    from eotdl.catalog import schemas as schema_cache

    click.echo(str(schema_cache.schema_cache_dir()))
