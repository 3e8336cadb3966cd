"""The QA checks: one explicit table, in the order they run.

A check is a small function ``check(ctx: QAContext) -> Iterable[Finding]``: it reads the
dataset through the context, returns findings, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from eotdl.errors import InputError
from eotdl.qa.checks.assets import check_assets, check_changed_assets, check_label_sources
from eotdl.qa.checks.labelling import check_labelling
from eotdl.qa.checks.labels import check_classes
from eotdl.qa.checks.leakage import check_duplicates, check_leakage
from eotdl.qa.checks.metadata import check_card, check_datetime, check_schema, check_splits
from eotdl.qa.checks.rasters import check_cog, check_empty, check_rasters
from eotdl.qa.context import QAContext
from eotdl.qa.findings import Finding

CheckFunction = Callable[[QAContext], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    """A named check and what it looks at."""

    name: str
    function: CheckFunction
    summary: str
    #: Runs only on a pull request's changed items (``eotdl check``), not in ``eotdl qa``.
    pull_request_only: bool = False


#: Every built-in check, in the order they run.
CHECKS: tuple[Check, ...] = (
    Check("schema", check_schema, "collection and items valid against the STAC schemas"),
    Check("card", check_card, "card has title, description, SPDX license, citation (benchmark)"),
    Check("assets", check_assets, "assets in the store with their file:checksum and file:size"),
    Check("rasters", check_rasters, "rasters open, have a CRS, footprint matches the geometry"),
    Check("cog", check_cog, "imagery is tiled with overviews (COG) when large"),
    Check("label-sources", check_label_sources, "label items link to existing source imagery"),
    Check("classes", check_classes, "declared classes equal the classes used, in every split"),
    Check("splits", check_splits, "every item has an ml-aoi:split when the dataset has splits"),
    Check("leakage", check_leakage, "no bytes or footprints shared between splits"),
    Check("duplicates", check_duplicates, "no duplicate ids or duplicate imagery"),
    Check("empty", check_empty, "imagery is not all nodata, nor one constant value"),
    Check("datetime", check_datetime, "every item has a plausible datetime"),
    Check("labelling", check_labelling, "label files applied, and how far annotators agreed"),
    Check(
        "changed-assets",
        check_changed_assets,
        "a pull request's asset hrefs are in the lab's store, with their size and checksum",
        pull_request_only=True,
    ),
)


def check_names(pull_request: bool = False) -> list[str]:
    """The names of every check, in order (with ``pull_request``, those of ``eotdl check``)."""
    return [c.name for c in CHECKS if pull_request or not c.pull_request_only]


def select(
    checks: Sequence[str] | None = None,
    skip: Sequence[str] | None = None,
    pull_request: bool = False,
) -> list[Check]:
    """The checks to run: ``checks`` (default all) minus ``skip``; unknown names are refused.

    Checks that only make sense on a pull request's changed items run only with
    ``pull_request``."""
    known = {c.name: c for c in CHECKS if pull_request or not c.pull_request_only}
    for name in [*(checks or []), *(skip or [])]:
        if name not in known:
            raise InputError(
                f"no QA check named {name!r}", hint=f"known checks: {', '.join(known)}"
            )
    wanted = set(checks) if checks else set(known)
    return [c for c in CHECKS if c.name in wanted and c.name not in set(skip or [])]
