"""``eotdl check [--base REF]``: the pull-request check (diff, version rule, validation, QA)."""

from __future__ import annotations

from pathlib import Path

import click

from eotdl.cli.output import emit_json
from eotdl.qa.pr_files import LARGE_FILE_BYTES


@click.command()
@click.option(
    "--base",
    default="origin/main",
    show_default=True,
    help="The git ref the pull request goes into.",
)
@click.option(
    "--lab",
    "lab_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The lab folder (default: the lab containing the current folder).",
)
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
def check(
    base: str, lab_dir: Path | None, as_json: bool, output: Path | None, large_file_mib: float
) -> None:
    """Check what this branch changed against BASE, as the lab's CI does on a pull request.

    First the changed files themselves (no symlinks, special files or files outside the lab
    layout; large files named), then for each changed dataset or model the diff, the version
    rule, offline validation, QA of the changed items, and that every referenced asset is
    already in the store with its checksum. Prints a Markdown report for the pull request.
    Exits 1 on errors, 3 when there are none but the branch changes eotdl.toml, .gitignore or
    .github/ (a maintainer must review). Needs no write credentials."""
    from eotdl.catalog.lab import Lab
    from eotdl.qa.pull_request import check_pull_request, render_markdown

    lab = Lab(lab_dir) if lab_dir else Lab.find()
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
