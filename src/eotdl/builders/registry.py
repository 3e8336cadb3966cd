"""Which builders exist: the built-in table plus the ``eotdl.builders`` entry-point group.

Modules are imported only when a builder is used, so listing builders stays cheap. Two
builders with one name is an error, never a silent override.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from eotdl.builders.base import Builder
from eotdl.builders.recipes import RECIPES
from eotdl.errors import InputError

#: kind -> "module:Class" of every built-in builder.
BUILTIN: dict[str, str] = {
    "rasters": "eotdl.builders.rasters:RastersBuilder",
    "classification-folders": "eotdl.builders.folders:ClassificationFoldersBuilder",
    "segmentation-pairs": "eotdl.builders.pairs:SegmentationPairsBuilder",
    "detection": "eotdl.builders.detection:DetectionBuilder",
    "points": "eotdl.builders.points:PointsBuilder",
    "stac": "eotdl.builders.stac_import:StacImportBuilder",
    "stac-api": "eotdl.builders.stac_api:StacApiBuilder",
    **RECIPES,  # the public datasets' recipes (eotdl.builders.recipes)
}
GROUP = "eotdl.builders"


@cache
def available() -> dict[str, str]:
    """kind -> import target, built-in first, then third-party entry points."""
    found = dict(BUILTIN)
    for entry in entry_points(group=GROUP):
        if entry.name in found:
            raise InputError(
                f"two builders are named {entry.name!r}: {found[entry.name]} and {entry.value}",
                hint="rename the third-party builder's entry point",
            )
        found[entry.name] = entry.value
    return found


def load(kind: str) -> type[Builder]:
    """The builder class for ``kind``."""
    target = available().get(kind)
    if target is None:
        raise InputError(
            f"no builder named {kind!r}",
            hint=f"known builders: {', '.join(sorted(available()))} (see `eotdl builders list`)",
        )
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Builder)):
        raise InputError(f"builder {kind!r} ({target}) is not an eotdl Builder subclass")
    return cls


def describe() -> list[dict[str, Any]]:
    """Every builder (built-in and third-party) by kind: its summary, version, options
    (flag, help, default) and, for a public dataset's recipe, the dataset's facts."""
    rows: list[dict[str, Any]] = []
    for kind in sorted(available()):
        cls = load(kind)
        rows.append(
            {
                "kind": kind,
                "summary": cls.summary,
                "version": cls.version,
                "options": [
                    {
                        "name": "--" + o.name.replace("_", "-"),
                        "help": o.help,
                        "default": None if o.default in ((), None) else o.default,
                    }
                    for o in cls.options
                ],
            }
        )
        facts = getattr(cls, "facts", None)  # a recipe: the public dataset's facts
        if facts is not None:
            rows[-1]["recipe"] = facts.row()
    return rows
