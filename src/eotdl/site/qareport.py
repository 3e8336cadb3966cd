"""What QA reports about a dataset, for its page: reuse a fresh ``qa.json`` or run QA.

The site renders what :mod:`eotdl.qa` reports and computes nothing of it. ``qa.json`` under
``<lab>/.eotdl/qa/<name>/`` is used when it is newer than the dataset's files; otherwise QA runs
(when asked and when :mod:`eotdl.qa` is installed); a stale report is shown as stale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.lab import Lab

QA_JSON = "qa.json"
LEVELS = ("Q0", "Q1", "Q2", "Q3")


@dataclass
class QAResult:
    """A dataset's QA for the site: ``status`` is ok, stale, not-run or failed."""

    status: str
    report: dict[str, Any] | None = None
    folder: Path | None = None
    message: str = ""
    plots: dict[str, str] = field(default_factory=dict)

    @property
    def level(self) -> str | None:
        level = (self.report or {}).get("level")
        return level if level in LEVELS else None


def qa_folder(lab: Lab, name: str) -> Path:
    """Where QA writes the report of dataset ``name``: ``<lab>/.eotdl/qa/<name>/``.

    The same path as ``eotdl.qa.default_output``, named here so that reading a report never
    imports QA (and rasterio, Dask, boto3 with it).
    """
    return lab.root / ".eotdl" / "qa" / name


def _newest_input(folder: DatasetFolder) -> int:
    newest = 0
    for path in (folder.collection_path, folder.items_path, folder.card_path):
        try:
            newest = max(newest, os.stat(path).st_mtime_ns)
        except FileNotFoundError:
            continue
    return newest


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = canonical.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_fresh(lab: Lab, folder: DatasetFolder) -> bool:
    """Whether the dataset's ``qa.json`` exists and is newer than its files."""
    path = qa_folder(lab, folder.name) / QA_JSON
    try:
        return os.stat(path).st_mtime_ns >= _newest_input(folder)
    except FileNotFoundError:
        return False


def prepare_qa(lab: Lab, folder: DatasetFolder, run: bool = True, client: Any = None) -> str:
    """Run QA on the dataset unless its ``qa.json`` is fresh (or ``run`` is off); ``client``
    (a build's Dask cluster) has its workers read the bytes, as ``eotdl qa --cluster`` does.

    Returns "" when there is a report to read, else why there is none (said on the page).
    """
    if is_fresh(lab, folder) or not run:
        return ""
    try:
        from eotdl.qa import run_qa
    except ImportError as exc:
        return f"QA is not available here ({exc})"
    try:
        run_qa(lab, folder.name, eda=True, client=client)
    except Exception as exc:  # a QA bug or a broken dataset must not take the site down
        return f"QA failed: {type(exc).__name__}: {exc}"
    return ""


def read_qa(lab: Lab, folder: DatasetFolder, problem: str = "") -> QAResult:
    """The dataset's QA report as the site shows it (``problem``: what :func:`prepare_qa` said)."""
    where = qa_folder(lab, folder.name)
    data = _load(where / QA_JSON)
    if data is None:
        status = "failed" if problem.startswith("QA failed") else "not-run"
        return QAResult(status, message=problem or "QA has not been run on this dataset")
    status = "ok" if is_fresh(lab, folder) else "stale"
    return QAResult(status, data, where, message=problem, plots=_plots(data, where))


def _plots(report: dict[str, Any], where: Path) -> dict[str, str]:
    """The report's plot files that exist inside its folder: name → path relative to it."""
    found: dict[str, str] = {}
    plots = report.get("plots")
    if not isinstance(plots, dict):
        return found
    root = where.resolve()
    for name, relative in plots.items():
        if not isinstance(relative, str) or not relative:
            continue
        path = (root / relative).resolve()
        try:
            inside = path.relative_to(root).as_posix()
        except ValueError:
            continue
        if path.is_file() and path.suffix.lower() in (".png", ".svg", ".jpg", ".jpeg", ".webp"):
            found[str(name)] = inside
    return found


def qa_input_files(lab: Lab, folder: DatasetFolder) -> list[Path]:
    """The files of a dataset's QA report a site build depends on."""
    where = qa_folder(lab, folder.name)
    return [where / QA_JSON]
