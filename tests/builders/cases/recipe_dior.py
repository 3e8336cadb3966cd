"""Contract case: the dior recipe on its miniature (tests/builders/recipes/miniatures.py)."""

from __future__ import annotations

from pathlib import Path

from builders.recipes.miniatures import dior
from cases import Case

KIND = "dior"


def make_case(tmp_path: Path) -> Case:
    return Case(source=str(dior(tmp_path)), items=6)
