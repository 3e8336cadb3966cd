"""``run_qa``: the checks, the level, the EDA and the report of one dataset, in one call."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eotdl import __version__
from eotdl.catalog.compute import choose_cluster, client_for
from eotdl.catalog.lab import Lab
from eotdl.qa.context import QAContext
from eotdl.qa.findings import SEVERITIES, Finding
from eotdl.qa.levels import compute_level
from eotdl.qa.registry import select
from eotdl.qa.report import QAReport, write_report


def default_output(lab: Lab, name: str) -> Path:
    """Where ``run_qa`` writes by default: ``<lab>/.eotdl/qa/<name>/`` (git-ignored)."""
    return lab.root / ".eotdl" / "qa" / name


def run_qa(
    lab: Lab,
    name: str,
    checks: Sequence[str] | None = None,
    skip: Sequence[str] | None = None,
    eda: bool = True,
    output: str | os.PathLike[str] | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    client: Any = None,
) -> QAReport:
    """Check dataset ``name`` of ``lab``, compute its level and EDA, and write the report.

    ``cluster`` (``local`` or a Dask scheduler's address; default: the lab's ``[compute]
    cluster`` unless a ``scheduler`` is named), or an open ``client`` of one, has the
    cluster's workers read the bytes: the checks' raster scans and re-hashing of the store's
    objects, the band statistics and the EDA's reads. The report is the one a run here writes
    (the EDA's ``engine`` aside)."""
    if client is None and scheduler is None:
        cluster = choose_cluster(lab.root, cluster)
    if cluster is not None and client is None:
        with client_for(cluster, workers) as opened:
            return run_qa(lab, name, checks, skip, eda, output, workers=workers, client=opened)
    selected = select(checks, skip)
    ctx = QAContext(lab, name, client=client)
    findings: list[Finding] = []
    for check in selected:
        for finding in check.function(ctx):
            findings.append(dataclasses.replace(finding, check=check.name))
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))  # stable: check order kept
    run = [c.name for c in selected]
    level, reasons = compute_level(ctx, findings, run)
    version = str((ctx.collection or {}).get("version") or "")
    report = QAReport(
        dataset=name,
        version=version,
        generated_by=f"eotdl {__version__}",
        level=level,
        level_reasons=reasons,
        items=ctx.item_count,
        checks_run=run,
        findings=findings,
    )
    folder = Path(output) if output is not None else default_output(lab, name)
    if eda:
        from eotdl.qa.eda import compute_eda
        from eotdl.qa.plots import write_plots

        report.eda = compute_eda(ctx, scheduler=scheduler, workers=workers)
        report.plots = write_plots(report.eda, folder)
    write_report(report, folder)
    report.output = folder
    return report
