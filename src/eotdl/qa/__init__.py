"""QA and EDA of a dataset: automated checks, a computed quality level, statistics and bias.

``run_qa(lab, name)`` runs the checks of :mod:`eotdl.qa.registry`, computes the level
(:mod:`eotdl.qa.levels`), the EDA (:mod:`eotdl.qa.eda`, Dask for the pixels) and its plots, and
writes ``qa.json`` (the product) with ``qa.md`` and ``qa.html`` (views of it) into
``<lab>/.eotdl/qa/<name>/`` or ``output``.

Names are imported on first use, so a Dask worker that only needs
:mod:`eotdl.qa.bandstats` does not import the checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eotdl.qa.registry import CHECKS
    from eotdl.qa.report import QAReport, render_html, render_markdown
    from eotdl.qa.run import default_output, run_qa

__all__ = ["CHECKS", "QAReport", "default_output", "render_html", "render_markdown", "run_qa"]

_HOMES = {
    "CHECKS": "eotdl.qa.registry",
    "QAReport": "eotdl.qa.report",
    "render_html": "eotdl.qa.report",
    "render_markdown": "eotdl.qa.report",
    "default_output": "eotdl.qa.run",
    "run_qa": "eotdl.qa.run",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'eotdl.qa' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
