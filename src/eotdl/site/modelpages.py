"""What a model's page shows, from its MLM Item: task, architecture, metrics, confusion matrix
or per-class IoU, the training curve, inputs and outputs, the dataset version, how to use it.

Everything here is plain data for the template; the curves are small SVGs built from numbers
only (nothing of the lab's text goes into them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from eotdl.site.snippets import Snippet

_W, _H, _PAD = 560, 220, 36
_COLORS = ("#0b6e99", "#c2410c", "#059669", "#7c3aed")


def model_view(
    item: dict[str, Any] | None, name: str, root_url: str, install: str = ""
) -> dict[str, Any]:
    """The model page's sections from its (first) Item."""
    props = (item or {}).get("properties") or {}
    inputs = [i for i in props.get("mlm:input") or [] if isinstance(i, dict)]
    outputs = [o for o in props.get("mlm:output") or [] if isinstance(o, dict)]
    classes = _classes(outputs)
    tasks = [str(t) for t in props.get("mlm:tasks") or []]
    segmentation = any("segmentation" in t for t in tasks)
    metrics = props.get("eotdl:metrics") if isinstance(props.get("eotdl:metrics"), dict) else {}
    assert isinstance(metrics, dict)
    metric_names = sorted(
        {k for split in metrics.values() if isinstance(split, dict) for k in split}
    )
    confusion = (props.get("eotdl:confusion") or {}).get("test")
    history = [h for h in props.get("eotdl:history") or [] if isinstance(h, dict)]
    dataset = props.get("eotdl:dataset") if isinstance(props.get("eotdl:dataset"), dict) else {}
    assert isinstance(dataset, dict)
    return {
        "name": str(props.get("mlm:name") or name),
        "tasks": tasks,
        "architecture": str(props.get("mlm:architecture") or "—"),
        "framework": " ".join(
            str(props[k]) for k in ("mlm:framework", "mlm:framework_version") if props.get(k)
        )
        or "—",
        "parameters": props.get("mlm:total_parameters"),
        "accelerator": str(props.get("mlm:accelerator") or "—"),
        "hyperparameters": sorted((props.get("mlm:hyperparameters") or {}).items()),
        "metric_names": metric_names,
        "metrics": [
            (split, [_metric(values.get(m)) for m in metric_names])
            for split, values in sorted(metrics.items(), key=lambda kv: kv[0] != "test")
            if isinstance(values, dict) and values
        ],
        "confusion": _confusion(confusion, classes) if not segmentation else None,
        "per_class": _per_class(confusion, classes, segmentation),
        "curves": _curves(history),
        "epochs": len(history),
        "inputs": [_input(i) for i in inputs],
        "outputs": [_output(o) for o in outputs],
        "classes": classes,
        "dataset": {
            "name": str(dataset.get("name") or ""),
            "version": str(dataset.get("version") or ""),
        },
        "snippets": model_snippets(name, root_url, install),
    }


def model_snippets(name: str, root: str, install: str = "") -> list[Snippet]:
    """How to download and run the model: CLI and Python. ``install`` is the lab's line that
    installs eotdl with its torch extra (never the index's ``eotdl``: another project)."""
    first = f"{install}\n" if install else ""
    return [
        Snippet(
            "Download",
            "sh",
            f"{first}eotdl models get {name} --lab {root} -o {name}/",
        ),
        Snippet("Predict", "sh", f"eotdl predict {name}/ scene.tif -o {name}-classes.tif"),
        Snippet(
            "Python",
            "python",
            "from eotdl.train.prediction import load_model, predict\n\n"
            f'summary = predict("{name}/", "scene.tif", "{name}-classes.tif")\n'
            f'model = load_model("{name}/")  # the torch module, bands and normalisation',
        ),
    ]


def _metric(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "—"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"


def _classes(outputs: list[dict[str, Any]]) -> list[str]:
    for output in outputs:
        found = output.get("classification:classes") or []
        if found:
            return [str(c.get("name") or c.get("value")) for c in found if isinstance(c, dict)]
    return []


def _matrix(confusion: Any) -> list[list[float]] | None:
    if not isinstance(confusion, list) or not confusion:
        return None
    if not all(isinstance(r, list) and len(r) == len(confusion) for r in confusion):
        return None
    return [[float(v) for v in row] for row in confusion]


def _confusion(confusion: Any, classes: list[str]) -> dict[str, Any] | None:
    """The test confusion matrix with row shares, for a coloured table."""
    matrix = _matrix(confusion)
    if matrix is None:
        return None
    names = classes if len(classes) == len(matrix) else [str(i) for i in range(len(matrix))]
    rows = []
    for name, row in zip(names, matrix, strict=True):
        total = sum(row) or 1.0
        rows.append((name, [(int(v), round(v / total, 3)) for v in row], int(sum(row))))
    return {"classes": names, "rows": rows}


def _per_class(confusion: Any, classes: list[str], segmentation: bool) -> list[tuple[str, ...]]:
    """Per class: IoU (segmentation) or precision and recall (classification), on test."""
    matrix = _matrix(confusion)
    if matrix is None:
        return []
    names = classes if len(classes) == len(matrix) else [str(i) for i in range(len(matrix))]
    rows: list[tuple[str, ...]] = []
    for k, name in enumerate(names):
        tp = matrix[k][k]
        actual = sum(matrix[k])
        predicted = sum(row[k] for row in matrix)
        union = actual + predicted - tp
        if segmentation:
            rows.append((name, _metric(tp / union) if union else "—", f"{int(actual):,}"))
        else:
            precision = _metric(tp / predicted) if predicted else "—"
            recall = _metric(tp / actual) if actual else "—"
            rows.append((name, precision, recall, f"{int(actual):,}"))
    return rows


def _input(entry: dict[str, Any]) -> dict[str, Any]:
    spec = entry.get("input") if isinstance(entry.get("input"), dict) else {}
    assert isinstance(spec, dict)
    bands = [b if isinstance(b, str) else str(b.get("name", b)) for b in entry.get("bands") or []]
    scaling = [s for s in entry.get("value_scaling") or [] if isinstance(s, dict)]
    rows = []
    for index, band in enumerate(bands):
        scale = scaling[index] if index < len(scaling) else {}
        rows.append(
            (
                band,
                str(scale.get("type") or "—"),
                _metric(scale.get("mean")),
                _metric(scale.get("stddev")),
            )
        )
    return {
        "name": str(entry.get("name") or "input"),
        "shape": _shape(spec.get("shape"), spec.get("dim_order")),
        "data_type": str(spec.get("data_type") or "—"),
        "description": str(entry.get("description") or ""),
        "bands": rows,
    }


def _output(entry: dict[str, Any]) -> dict[str, Any]:
    spec = entry.get("result") if isinstance(entry.get("result"), dict) else {}
    assert isinstance(spec, dict)
    classes = [
        (str(c.get("value")), str(c.get("name") or ""))
        for c in entry.get("classification:classes") or []
        if isinstance(c, dict)
    ]
    return {
        "name": str(entry.get("name") or "output"),
        "tasks": ", ".join(str(t) for t in entry.get("tasks") or []),
        "shape": _shape(spec.get("shape"), spec.get("dim_order")),
        "data_type": str(spec.get("data_type") or "—"),
        "description": str(entry.get("description") or ""),
        "classes": classes,
    }


def _shape(shape: Any, order: Any) -> str:
    if not isinstance(shape, list):
        return "—"
    sizes = ["any" if v == -1 else str(v) for v in shape]
    if isinstance(order, list) and len(order) == len(shape):
        return " × ".join(f"{s} {o}" for s, o in zip(sizes, order, strict=True))
    return " × ".join(sizes)


def _curves(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two charts: the losses and the validation metrics, per epoch."""
    epochs = [int(h.get("epoch") or n + 1) for n, h in enumerate(history)]
    losses = {
        "train loss": [_number(h.get("train_loss")) for h in history],
        "validation loss": [_number((h.get("validate") or {}).get("loss")) for h in history],
    }
    names = sorted({k for h in history for k in (h.get("validate") or {}) if k != "loss"})
    scores = {
        f"validation {n}": [_number((h.get("validate") or {}).get(n)) for h in history]
        for n in names
    }
    charts = []
    for title, series in (("Loss", losses), ("Validation metrics", scores)):
        series = {k: v for k, v in series.items() if any(x is not None for x in v)}
        if series and epochs:
            legend = [(n, _COLORS[i % len(_COLORS)]) for i, n in enumerate(series)]
            charts.append({"title": title, "svg": curve_svg(epochs, series), "legend": legend})
    return charts


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def curve_svg(epochs: Sequence[int], series: dict[str, list[float | None]]) -> str:
    """A line chart of ``series`` over ``epochs`` (numbers only), with axes and a legend."""
    values = [v for line in series.values() for v in line if v is not None]
    low, high = min(values), max(values)
    if high == low:
        high = low + 1.0
    first, last = min(epochs), max(epochs)
    span = max(last - first, 1)

    def x(epoch: int) -> float:
        return _PAD + (epoch - first) / span * (_W - 2 * _PAD)

    def y(value: float) -> float:
        return _H - _PAD - (value - low) / (high - low) * (_H - 2 * _PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'class="curve" preserveAspectRatio="xMidYMid meet">',
        f'<rect width="{_W}" height="{_H}" fill="#fff"/>',
        f'<g stroke="#cbd5e1" stroke-width="1"><line x1="{_PAD}" y1="{_H - _PAD}" '
        f'x2="{_W - _PAD}" y2="{_H - _PAD}"/><line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" '
        f'y2="{_H - _PAD}"/></g>',
        '<g font-size="11" fill="#5d6b7c" font-family="system-ui, sans-serif">',
        f'<text x="{_PAD - 4}" y="{y(high) + 4:.1f}" text-anchor="end">{high:.3g}</text>',
        f'<text x="{_PAD - 4}" y="{y(low) + 4:.1f}" text-anchor="end">{low:.3g}</text>',
        f'<text x="{x(first):.1f}" y="{_H - _PAD + 16}" text-anchor="middle">{first}</text>',
        f'<text x="{x(last):.1f}" y="{_H - _PAD + 16}" text-anchor="middle">{last}</text>',
        f'<text x="{_W / 2:.0f}" y="{_H - 6}" text-anchor="middle">epoch</text>',
        "</g>",
    ]
    for index, line in enumerate(series.values()):
        color = _COLORS[index % len(_COLORS)]
        points = [(x(e), y(v)) for e, v in zip(epochs, line, strict=False) if v is not None]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>' for px, py in points
        ]
    parts.append("</svg>")
    return "".join(parts)
