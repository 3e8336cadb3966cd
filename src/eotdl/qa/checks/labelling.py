"""The labelling history of a dataset: label files applied, and how far annotators agreed."""

from __future__ import annotations

from collections.abc import Iterator

from eotdl.qa.context import QAContext
from eotdl.qa.findings import Finding, info, warning

#: Below this kappa (or mean IoU) annotators agree too little to trust the labels unreviewed.
LOW_AGREEMENT = 0.6


def check_labelling(ctx: QAContext) -> Iterator[Finding]:
    """One info finding per applied label file; a warning when its annotators agreed little."""
    collection = ctx.collection or {}
    for record in collection.get("eotdl:label_files") or []:
        if not isinstance(record, dict):
            continue
        who = ", ".join(str(a) for a in record.get("annotators") or [])
        text = (
            f"labels from {record.get('file')} (sha256 {str(record.get('sha256'))[:12]}…) by"
            f" {who} changed {record.get('items_changed')} items on {record.get('applied')}"
        )
        figures = record.get("agreement") or {}
        overall = figures.get("overall")
        if isinstance(overall, int | float):
            text += f"; agreement ({figures.get('method')}): {overall:.3f}"
            if overall < LOW_AGREEMENT:
                yield warning(
                    "labels-low-agreement",
                    "collection",
                    text,
                    "review the disagreements: `eotdl label NAME --queue disagreements`",
                )
                continue
        yield info("labels-applied", "collection", text)
