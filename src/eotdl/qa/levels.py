"""Quality levels, computed from the findings and the dataset, never typed in by hand.

Q0: files only. Q1: valid STAC. Q2: ML-ready (label items with ml-aoi splits) and every
automated check run and passing (no errors; warnings allowed). Q3: Q2 plus a maintainer's
review recorded in the card (``reviewed_by`` and ``reviewed_at``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from eotdl.catalog.vocabulary import SPLIT, SPLITS, is_label_item
from eotdl.qa.context import QAContext
from eotdl.qa.findings import ERROR, Finding
from eotdl.qa.registry import check_names

LEVELS = ("Q0", "Q1", "Q2", "Q3")


def reviewed(extra: dict[str, Any]) -> str:
    """Why the card's review record is not enough ('' when it is)."""
    by, at = extra.get("reviewed_by"), extra.get("reviewed_at")
    if not by or not str(by).strip():
        return "no maintainer review recorded in the card (reviewed_by, reviewed_at)"
    if isinstance(at, dt.date):
        return ""
    try:
        dt.date.fromisoformat(str(at)[:10])
    except ValueError:
        return f"the card's reviewed_at {at!r} is not a date (YYYY-MM-DD)"
    return ""


def compute_level(
    ctx: QAContext, findings: Sequence[Finding], checks_run: Sequence[str]
) -> tuple[str, list[str]]:
    """The dataset's level and, for each level above it, why it is not reached."""
    reasons: list[str] = []
    schema_errors = [f for f in findings if f.check == "schema" and f.severity == ERROR]
    if "schema" not in checks_run:
        reasons.append("Q1: the schema check was not run")
    elif schema_errors:
        reasons.append(f"Q1: {len(schema_errors)} STAC schema error(s)")
    q1 = not reasons
    skipped = [name for name in check_names() if name not in checks_run]
    if skipped:
        reasons.append(f"Q2: check(s) not run: {', '.join(skipped)}")
    failing = sorted({f.check for f in findings if f.severity == ERROR})
    errors = sum(1 for f in findings if f.severity == ERROR)
    if failing:
        reasons.append(f"Q2: {errors} error(s) from check(s) {', '.join(failing)}")
    labels, unsplit = 0, 0
    for item in ctx.iter_items():
        if is_label_item(item):
            labels += 1
            if (item.get("properties") or {}).get(SPLIT) not in SPLITS:
                unsplit += 1
    if not labels:
        reasons.append("Q2: no label items (label extension): not ML-ready")
    elif unsplit:
        reasons.append(f"Q2: {unsplit} label item(s) without an ml-aoi:split")
    q2 = q1 and len(reasons) == 0
    card = ctx.card
    review = reviewed(card.extra) if card is not None else "the dataset has no card"
    if review:
        reasons.append(f"Q3: {review}")
    if not q1:
        return "Q0", reasons
    if not q2:
        return "Q1", reasons
    return ("Q2", reasons) if review else ("Q3", reasons)
