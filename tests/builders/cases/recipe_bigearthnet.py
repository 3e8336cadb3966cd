"""Contract case: the bigearthnet-v2 recipe on its miniature (recipes/miniatures.py)."""

from __future__ import annotations

from pathlib import Path

from builders.recipes.miniatures import bigearthnet
from cases import Case

KIND = "bigearthnet-v2"


def make_case(tmp_path: Path) -> Case:
    return Case(source=str(bigearthnet(tmp_path)), items=6)
