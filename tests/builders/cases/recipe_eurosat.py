"""Contract case: the EuroSAT MS miniature with its official split files."""

from __future__ import annotations

from pathlib import Path

from builders.recipes.miniatures import eurosat
from cases import Case

KIND = "eurosat"


def make_case(tmp_path: Path) -> Case:
    return Case(source=str(eurosat(tmp_path)), items=30)
