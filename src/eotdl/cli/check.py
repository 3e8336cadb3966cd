"""``eotdl check [--base REF]``: the pull-request check (diff, version rule, validation, QA)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eotdl.cli.output import emit_json, lab_option
from eotdl.qa.pr_files import LARGE_FILE_BYTES

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.command()
@click.option(
    "--base",
    default="origin/main",
    show_default=True,
    help="The git ref the pull request goes into.",
)
@lab_option()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the Markdown report to this file.",
)
@click.option(
    "--large-file",
    "large_file_mib",
    type=click.FloatRange(min=0),
    default=LARGE_FILE_BYTES / (1024 * 1024),
    show_default=True,
    help="Name changed files larger than this many MiB (items.ndjson excepted).",
)
def check(base: str, lab: Lab, as_json: bool, output: Path | None, large_file_mib: float) -> None:
    """Check what this branch changed against BASE, as the lab's CI does on a pull request.

    First the changed files themselves (no symlinks, special files or files outside the lab
    layout; large files named), then for each changed dataset or model the diff, the version
    rule, offline validation, QA of the changed items, and that every referenced asset is
    already in the store with its checksum. Prints a Markdown report for the pull request.
    Exits 1 on errors, 3 when there are none but the branch changes eotdl.toml, .gitignore or
    .github/ (a maintainer must review). Needs no write credentials."""
    from eotdl.qa.pull_request import check_pull_request, render_markdown

    report = check_pull_request(lab, base, int(large_file_mib * 1024 * 1024))
    markdown = render_markdown(report)
    if output is not None:
        output.write_text(markdown, encoding="utf-8")
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(markdown, nl=False)
    if report.exit_status:
        raise SystemExit(report.exit_status)
