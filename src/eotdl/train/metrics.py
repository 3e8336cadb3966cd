"""Metrics from a confusion matrix (rows: true class, columns: predicted class)."""

from __future__ import annotations

import numpy as np


def confusion_metrics(confusion: np.ndarray, loss_sum: float, task: str) -> dict[str, float]:
    """Loss and accuracy, plus macro F1 (classification) or mean IoU (segmentation)."""
    matrix = np.asarray(confusion, dtype=np.float64)
    total = float(matrix.sum())
    if total == 0:
        return {}
    true_positive = np.diag(matrix)
    actual = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    present = actual > 0
    metrics = {"loss": loss_sum / total, "accuracy": float(true_positive.sum() / total)}
    if task == "segmentation":
        union = actual + predicted - true_positive
        iou = np.divide(true_positive, union, out=np.zeros_like(union), where=union > 0)
        metrics["mean_iou"] = float(iou[present].mean()) if present.any() else 0.0
    else:
        denominator = actual + predicted
        f1 = np.divide(
            2 * true_positive, denominator, out=np.zeros_like(denominator), where=denominator > 0
        )
        metrics["macro_f1"] = float(f1[present].mean()) if present.any() else 0.0
    return {k: round(v, 6) for k, v in metrics.items()}


def main_metric(task: str) -> str:
    """The metric a model's page and ``eotdl models list`` lead with."""
    return "mean_iou" if task == "segmentation" else "accuracy"
