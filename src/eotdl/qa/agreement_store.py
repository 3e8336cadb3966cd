"""Where a lab keeps agreement figures between annotators: ``.eotdl/labels/<name>/``.

``agreement.json`` holds the figures of the last ``eotdl labels agree --dataset NAME``;
``disagreements.json`` the queue the labelling page opens. Both are local working files
(``.eotdl/`` is not committed); what a dataset keeps for good is recorded in its collection
when a label file is applied (:mod:`eotdl.builders.relabel`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from eotdl.catalog.lab import Lab
from eotdl.catalog.labelfile import read_label_file
from eotdl.qa.agreement import Agreement, agreement

AGREEMENT = "agreement.json"
DISAGREEMENTS = "disagreements.json"


def labels_folder(lab: Lab, name: str) -> Path:
    return lab.root / ".eotdl" / "labels" / name


def record_agreement(lab: Lab, name: str, result: Agreement) -> Path:
    """Keep the figures and the disagreements queue of dataset ``name``; return the folder."""
    folder = labels_folder(lab, name)
    folder.mkdir(parents=True, exist_ok=True)
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    (folder / AGREEMENT).write_bytes(orjson.dumps(result.to_dict(), option=options))
    (folder / DISAGREEMENTS).write_bytes(orjson.dumps(result.queue(), option=options))
    return folder


def recorded_agreement(lab: Lab, name: str, label_file: str | Path) -> dict[str, Any] | None:
    """The kept figures, when they were computed over ``label_file`` (else None)."""
    try:
        data = orjson.loads((labels_folder(lab, name) / AGREEMENT).read_bytes())
        digest = hashlib.sha256(Path(label_file).read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and digest in (data.get("files") or []):
        return data
    return None


def agree_files(
    files: Iterable[str | Path], threshold: float = 0.5, lab: Lab | None = None, name: str = ""
) -> tuple[Agreement, Path | None]:
    """Agreement between the annotators of the label ``files``; with ``lab`` and dataset
    ``name``, also recorded in the lab (the folder is returned, else None)."""
    result = agreement([read_label_file(f) for f in files], threshold=threshold)
    if lab is None or not name:
        return result, None
    return result, record_agreement(lab, name, result)
