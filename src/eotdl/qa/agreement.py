"""Agreement between annotators: kappa for classes, IoU for boxes and masks.

Classification: Cohen's kappa for two annotators, Fleiss' kappa for three or more, over the
chips every one of them labelled; per chip, the share of annotator pairs that agree.
Detection: per chip and pair of annotators, boxes are matched greedily by IoU (same class);
the chip's score is the summed IoU of the matches over the larger box count (a missed box
scores 0). Segmentation: per chip and pair, the IoU of the drawn areas of each class, averaged
over the classes either drew. A chip whose score is below ``threshold`` is a disagreement.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eotdl.catalog.labelfile import LabelFile, Shape
from eotdl.errors import InputError


@dataclass
class Agreement:
    """Agreement figures over label files, and the chips they disagree on."""

    task: str
    annotators: list[str]
    method: str
    overall: float | None
    items: dict[str, float] = field(default_factory=dict)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "annotators": self.annotators,
            "method": self.method,
            "overall": None if self.overall is None else round(self.overall, 4),
            "items": {k: round(v, 4) for k, v in sorted(self.items.items())},
            "disagreements": self.disagreements,
            "files": self.files,
        }

    def queue(self) -> dict[str, Any]:
        """The disagreements as a queue file the labelling page opens (``--queue``)."""
        return {"queue": "disagreements", "task": self.task, "items": self.disagreements}


def agreement(files: Sequence[LabelFile], threshold: float = 0.5) -> Agreement:
    """Agreement between the annotators of ``files`` (at least two annotators in all)."""
    tasks = {f.task for f in files}
    if len(tasks) != 1:
        raise InputError("the label files are of different tasks: " + ", ".join(sorted(tasks)))
    task = tasks.pop()
    ratings: dict[str, dict[str, str | None]] = {}  # item -> annotator -> class (or None)
    shapes: dict[tuple[str, str], list[Shape]] = {}
    for labels in files:
        for chip in labels.chips:
            if chip.status != "labelled":
                continue
            ratings.setdefault(chip.item_id, {})[chip.annotator] = chip.label
        for shape in labels.shapes:
            shapes.setdefault((shape.item_id, shape.annotator), []).append(shape)
    annotators = sorted({a for r in ratings.values() for a in r})
    if len(annotators) < 2:
        raise InputError(
            "agreement needs labels from at least two annotators; found "
            + (", ".join(annotators) or "none"),
            hint="give one exported file per annotator",
        )
    result = Agreement(task, annotators, "", None, files=[f.sha256 for f in files])
    shared = {i: r for i, r in ratings.items() if len(r) >= 2}
    if task == "classification":
        _classes(shared, annotators, result)
    else:
        score = _box_score if task == "detection" else _area_score
        result.method = "mean IoU (boxes matched by class)" if task == "detection" else "mean IoU"
        for item_id, by in sorted(shared.items()):
            pairs = list(itertools.combinations(sorted(by), 2))
            values = [
                score(shapes.get((item_id, a), []), shapes.get((item_id, b), [])) for a, b in pairs
            ]
            result.items[item_id] = sum(values) / len(values)
        if result.items:
            result.overall = sum(result.items.values()) / len(result.items)
    for item_id, value in sorted(result.items.items(), key=lambda kv: (kv[1], kv[0])):
        if value < threshold or (task == "classification" and value < 1.0):
            labels_by = {a: v for a, v in sorted(shared[item_id].items())}
            result.disagreements.append(
                {"item_id": item_id, "score": round(value, 4), "labels": labels_by}
            )
    return result


def _classes(
    shared: dict[str, dict[str, str | None]], annotators: list[str], into: Agreement
) -> None:
    for item_id, by in shared.items():
        pairs = list(itertools.combinations(by.values(), 2))
        into.items[item_id] = sum(a == b for a, b in pairs) / len(pairs)
    if len(annotators) == 2:
        into.method = "Cohen's kappa"
        a, b = annotators
        both = [(r[a], r[b]) for r in shared.values() if a in r and b in r]
        into.overall = cohen_kappa([x for x, _ in both], [y for _, y in both]) if both else None
    else:
        into.method = "Fleiss' kappa"
        complete = [r for r in shared.values() if len(r) == len(annotators)]
        into.overall = fleiss_kappa([list(r.values()) for r in complete]) if complete else None


def cohen_kappa(first: Sequence[Any], second: Sequence[Any]) -> float:
    """Cohen's kappa of two raters over the same subjects (1.0 when chance agreement is 1)."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[k] * count_b.get(k, 0) for k in count_a) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(subjects: Sequence[Sequence[Any]]) -> float:
    """Fleiss' kappa: each subject rated by the same number of raters."""
    raters = len(subjects[0])
    if raters < 2 or any(len(s) != raters for s in subjects):
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of raters per subject")
    n = len(subjects)
    totals: Counter[Any] = Counter()
    agreement_sum = 0.0
    for ratings in subjects:
        counts = Counter(ratings)
        totals.update(counts)
        agreement_sum += (sum(c * c for c in counts.values()) - raters) / (raters * (raters - 1))
    observed = agreement_sum / n
    expected = sum((c / (n * raters)) ** 2 for c in totals.values())
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two boxes (xmin, ymin, xmax, ymax)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _box_score(first: list[Shape], second: list[Shape]) -> float:
    if not first and not second:
        return 1.0
    candidates = sorted(
        (
            (box_iou(a.bbox(), b.bbox()), i, j)
            for (i, a), (j, b) in itertools.product(enumerate(first), enumerate(second))
            if a.label == b.label
        ),
        reverse=True,
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    total = 0.0
    for iou, i, j in candidates:
        if iou <= 0 or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        total += iou
    return total / max(len(first), len(second))


def _area_score(first: list[Shape], second: list[Shape]) -> float:
    from shapely.geometry import Polygon
    from shapely.ops import unary_union

    def areas(shapes: list[Shape]) -> dict[str, Any]:
        by: dict[str, list[Any]] = {}
        for s in shapes:
            by.setdefault(s.label, []).append(Polygon(s.points).buffer(0))
        return {k: unary_union(v) for k, v in by.items()}

    a, b = areas(first), areas(second)
    labels = set(a) | set(b)
    if not labels:
        return 1.0
    scores = []
    for label in labels:
        if label not in a or label not in b:
            scores.append(0.0)
            continue
        union = a[label].union(b[label]).area
        scores.append(a[label].intersection(b[label]).area / union if union else 1.0)
    return sum(scores) / len(scores)
