"""The base of every recipe: a builder whose collection, card and splits come from its facts.

A recipe reads a copy of a public dataset in its *published* layout. Where the dataset
publishes splits, items carry them (``ml-aoi:split``); where it does not, the recipe assigns a
seeded split (stratified by class when the items have one class each) and says so in the card.
With ``--download``, the published files are fetched into SOURCE first (see :mod:`.fetch`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from eotdl.builders.base import EO_EXT, ML_AOI_EXT, Builder, Option
from eotdl.builders.recipes.facts import Facts
from eotdl.builders.splits import SplitRecord, assign_splits, parse_split
from eotdl.catalog.card import Card
from eotdl.catalog.vocabulary import ITEM_ASSETS_EXT, SCIENTIFIC_EXT
from eotdl.errors import InputError

#: The published split names, mapped to ml-aoi's.
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "validate",
    "valid": "validate",
    "validation": "validate",
    "validate": "validate",
    "test": "test",
    "testing": "test",
}
#: Fractions and seed of the split assigned when a copy has no official split.
FALLBACK_FRACTIONS = "0.6,0.2,0.2"
FALLBACK_SEED = 0

DOWNLOAD_OPTION = Option(
    "download",
    "Fetch the dataset's published files into SOURCE first (resumable, checked against the"
    " published MD5s; EOTDL_RECIPES_MIRROR=URL fetches from a mirror).",
    flag=True,
    default=False,
)


def split_name(text: str, where: str) -> str:
    """The ml-aoi split for a published split name."""
    found = SPLIT_NAMES.get(str(text).strip().lower())
    if found is None:
        raise InputError(
            f"{where}: unknown split {text!r}",
            hint=f"expected one of {', '.join(sorted(SPLIT_NAMES))}",
        )
    return found


def read_split_lists(
    files: dict[Path, str], *, required: bool = False
) -> list[tuple[str, str]] | None:
    """(line, split) for every line of the published split lists ``files`` (path -> split).

    None when the copy holds none of them (unless ``required``); an error when it holds some.
    """
    if not required and not any(path.exists() for path in files):
        return None
    found: list[tuple[str, str]] = []
    for path, split in files.items():
        if not path.exists():
            raise InputError(f"{path}: missing (the other split files are there)")
        lines = path.read_text(encoding="utf-8").splitlines()
        found.extend((line.strip(), split) for line in lines if line.strip())
    return found


class RecipeBuilder(Builder):
    """A builder for one public dataset; subclasses set ``facts`` and ``items``."""

    facts: ClassVar[Facts]
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.split_note = self.facts.splits
        if self.settings.get("download"):
            from eotdl.builders.recipes.fetch import fetch

            fetch(self.facts, Path(source))
        if not Path(source).is_dir():
            raise InputError(
                f"{source}: not a folder",
                hint=f"SOURCE is a copy of {self.facts.title} in its published layout"
                + (" (or add --download to fetch it)" if self.facts.downloads else ""),
            )

    def split_records(self) -> Iterable[SplitRecord]:
        """One record per item (id and class) for a fallback split."""
        raise NotImplementedError

    def split_group(self, item_id: str) -> str:
        """The unit a fallback split keeps together (an item; a scene where patches overlap)."""
        return item_id

    def official_splits(self) -> dict[str, str] | None:
        """item id -> split as published in this copy, or None when it holds none."""
        return None

    @cached_property
    def splits(self) -> dict[str, str]:
        """item id -> split: the official one, or a seeded fallback recorded in the card."""
        records = list(self.split_records())
        official = self.official_splits()
        if official:
            missing = [r.id for r in records if r.id not in official]
            if not missing:
                return {r.id: official[r.id] for r in records}
            raise InputError(
                f"{len(missing)} item(s) are in no official split, e.g. {missing[0]!r}",
                hint="the split files do not match this copy; remove them to get a seeded split",
            )
        stratified = all(r.label is not None for r in records)
        kind = "stratified" if stratified else "random"
        spec = parse_split(f"{kind}:{FALLBACK_FRACTIONS}")
        groups = {r.id: self.split_group(r.id) for r in records}
        units = {groups[r.id]: SplitRecord(groups[r.id], r.label, r.x, r.y) for r in records}
        self.split_note = (
            f"No official split files were found in the source, so eotdl assigned a {kind}"
            f" split ({FALLBACK_FRACTIONS} train/validate/test, seed {FALLBACK_SEED})"
            f"{' by class' if stratified else ''}. Official splits: {self.facts.splits}"
        )
        assigned = assign_splits(list(units.values()), spec, FALLBACK_SEED)
        return {item_id: assigned[group] for item_id, group in groups.items()}

    def collection(self) -> dict[str, Any]:
        """The facts' fields, plus what the subclass adds (summaries, item_assets)."""
        base = self.facts.collection_fields()
        base["stac_extensions"] = [SCIENTIFIC_EXT, ML_AOI_EXT]
        return base

    def band_collection(
        self, item_assets: dict[str, Any], summaries: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The collection of items with labels and bands: label and ``eo:bands`` summaries
        (then ``summaries``) and ``item_assets``."""
        assert self.labels is not None
        base = RecipeBuilder.collection(self)
        base["stac_extensions"] += [ITEM_ASSETS_EXT, EO_EXT]
        base["summaries"] = {
            **self.labels.summaries(),
            "eo:bands": [b.eo() for b in self.facts.bands],
            **(summaries or {}),
        }
        base["item_assets"] = item_assets
        return base

    def card(self) -> Card:
        """The card from the facts; the split note says whether the splits are official."""
        self.splits  # noqa: B018 - settles the split note
        return self.facts.card(self.split_note)
