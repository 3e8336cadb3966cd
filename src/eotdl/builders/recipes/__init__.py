"""Recipes: builders for well-known public EO datasets in their published layouts.

Each module is one dataset (its facts and its builder); :mod:`.facts` holds what they share
(name, task, sensor, size, licence, citation), :mod:`.bands` the sensors' band tables,
:mod:`.recipe` the base builder and :mod:`.fetch` the verified, resumable download.
"""

from __future__ import annotations

#: builder name -> "module:Class" of every recipe (also listed in the builders' registry).
RECIPES: dict[str, str] = {
    "eurosat": "eotdl.builders.recipes.eurosat:EuroSATBuilder",
    "eurosat-rgb": "eotdl.builders.recipes.eurosat:EuroSATRGBBuilder",
    "bigearthnet-v2": "eotdl.builders.recipes.bigearthnet:BigEarthNetV2Builder",
    "sen12ms": "eotdl.builders.recipes.sen12ms:SEN12MSBuilder",
    "pastis": "eotdl.builders.recipes.pastis:PASTISBuilder",
    "dior": "eotdl.builders.recipes.dior:DIORBuilder",
}
