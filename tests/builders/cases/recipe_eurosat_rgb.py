"""Contract case: the eurosat-rgb recipe on its miniature (tests/builders/recipes/miniatures.py)."""

from __future__ import annotations

from pathlib import Path

from builders.recipes.miniatures import eurosat_rgb
from cases import Case

KIND = "eurosat-rgb"


def make_case(tmp_path: Path) -> Case:
    return Case(source=str(eurosat_rgb(tmp_path)), items=30)
