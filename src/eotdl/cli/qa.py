"""``eotdl qa NAME``: run the QA checks and the EDA of a dataset, print a summary, write
``qa.json`` (plus qa.md and qa.html), and exit non-zero when a check found errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, emit_json, lab_option

#: The names of eotdl.qa.registry.CHECKS, in order, so `eotdl qa --help` needs no import of
#: the checks (and of numpy and rasterio); tests/cli/test_startup.py keeps them in step.
CHECK_NAMES = (
    "schema",
    "card",
    "assets",
    "rasters",
    "cog",
    "label-sources",
    "classes",
    "splits",
    "leakage",
    "duplicates",
    "empty",
    "datetime",
    "labelling",
)

STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


def _names(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


@click.command()
@click.argument("name")
@lab_option()
@click.option("--json", "as_json", is_flag=True, help="Print qa.json to stdout.")
@click.option(
    "--checks",
    default=None,
    help=f"Only these checks (comma-separated): {', '.join(CHECK_NAMES)}.",
)
@click.option("--skip", default=None, help="Skip these checks (comma-separated).")
@click.option("--no-eda", is_flag=True, help="Run the checks only: no statistics and no plots.")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write qa.json, qa.md, qa.html and plots/ (default: <lab>/.eotdl/qa/NAME/).",
)
@click.option(
    "--max-findings", default=30, show_default=True, help="Findings shown (all in qa.json)."
)
@click.option(
    "--cluster",
    default=None,
    help="Scan the rasters, re-hash the objects and compute the statistics on a Dask"
    " cluster: 'local' or tcp://HOST:PORT"
    " (default: the lab's [compute] cluster, else threads here).",
)
def qa(
    name: str,
    lab: Lab,
    as_json: bool,
    checks: str | None,
    skip: str | None,
    no_eda: bool,
    output: Path | None,
    max_findings: int,
    cluster: str | None,
) -> None:
    """Check dataset NAME, compute its quality level (Q0-Q3), its statistics and bias flags."""
    from rich.table import Table

    from eotdl.qa import run_qa

    report = run_qa(
        lab, name, _names(checks), _names(skip), eda=not no_eda, output=output, cluster=cluster
    )
    if as_json:
        emit_json(report.to_dict())
    else:
        table = Table("severity", "code", "object", "message", "fix", title=f"QA of {name}")
        for finding in report.findings[:max_findings]:
            style = STYLE.get(finding.severity, "")
            table.add_row(
                f"[{style}]{finding.severity}[/]",
                finding.code,
                finding.object,
                finding.message,
                finding.fix,
            )
        if report.findings:
            console.print(table)
        hidden = len(report.findings) - max_findings
        if hidden > 0:
            console.print(f"… and {hidden} more findings (see qa.json)")
        console.print(
            f"[bold]level {report.level}[/]: {report.items} items, {len(report.errors)} errors,"
            f" {len(report.warnings)} warnings, {len(report.infos)} notes"
        )
        for reason in report.level_reasons:
            console.print(f"  not higher: {reason}", markup=False, highlight=False)
        for flag in (report.eda or {}).get("bias", {}).get("flags", []):
            console.print(
                f"  bias: {flag['code']} = {flag['value']} (threshold {flag['threshold']})"
            )
        if report.output is not None:
            console.print(f"report: {report.output / 'qa.json'}")
    if report.errors:
        raise SystemExit(1)
