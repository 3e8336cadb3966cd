"""Contract case: the pastis recipe on its miniature (tests/builders/recipes/miniatures.py)."""

from __future__ import annotations

from pathlib import Path

from builders.recipes.miniatures import pastis
from cases import Case

KIND = "pastis"


def make_case(tmp_path: Path) -> Case:
    return Case(source=str(pastis(tmp_path)), items=5)
