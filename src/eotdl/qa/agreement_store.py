"""Where a lab keeps agreement figures between annotators: ``.eotdl/labels/<name>/``.

``agreement.json`` holds the figures of the last ``eotdl labels agree --dataset NAME``;
``disagreements.json`` the queue the labelling page opens. Both are local working files
(``.eotdl/`` is not committed); what a dataset keeps for good is recorded in its collection
when a label file is applied (:mod:`eotdl.builders.relabel`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson

from eotdl.catalog.lab import Lab
from eotdl.qa.agreement import Agreement

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
