"""QA and EDA of a dataset: automated checks, a computed quality level, statistics and bias.

``run_qa(lab, name)`` runs the checks of :mod:`eotdl.qa.registry` (``CHECKS``, named by
:func:`check_names`; each returns :class:`Finding` objects), computes the level
(:mod:`eotdl.qa.levels`), the EDA (:mod:`eotdl.qa.eda`, Dask for the pixels) and its plots, and
writes ``qa.json`` (the product, a :class:`QAReport`) with ``qa.md`` and ``qa.html`` (views of
it, :func:`render_markdown` and :func:`render_html`) into ``<lab>/.eotdl/qa/<name>/`` or
``output`` (:func:`default_output`). :func:`check_pull_request` is ``eotdl check``: the datasets
a branch changed, validated, checked and diffed against a base (a :class:`CheckReport`).

Names are imported on first use, so a Dask worker that only needs
:mod:`eotdl.qa.bandstats` does not import the checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.qa.findings import Finding
    from eotdl.qa.pull_request import CheckReport, check_pull_request
    from eotdl.qa.registry import CHECKS, check_names
    from eotdl.qa.report import QAReport, render_html, render_markdown
    from eotdl.qa.run import default_output, run_qa

__all__ = [
    "CHECKS",
    "CheckReport",
    "Finding",
    "QAReport",
    "check_names",
    "check_pull_request",
    "default_output",
    "render_html",
    "render_markdown",
    "run_qa",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Finding": "eotdl.qa.findings",
        "CheckReport": "eotdl.qa.pull_request",
        "check_pull_request": "eotdl.qa.pull_request",
        "CHECKS": "eotdl.qa.registry",
        "check_names": "eotdl.qa.registry",
        "QAReport": "eotdl.qa.report",
        "render_html": "eotdl.qa.report",
        "render_markdown": "eotdl.qa.report",
        "default_output": "eotdl.qa.run",
        "run_qa": "eotdl.qa.run",
    },
)
