"""Contract case: the sen12ms recipe on its miniature (tests/builders/recipes/miniatures.py)."""

from __future__ import annotations

from pathlib import Path

from builders.recipes.miniatures import sen12ms
from cases import Case

KIND = "sen12ms"


def make_case(tmp_path: Path) -> Case:
    return Case(source=str(sen12ms(tmp_path)), items=6)
