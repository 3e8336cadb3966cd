"""``classification-folders``: chip classification from one sub-folder per class (EuroSAT).

SOURCE holds one folder per class, each holding image chips (GeoTIFF, PNG, JPEG). Each chip
becomes an Item with its class in ``properties["class"]``. Georeferenced chips get their
footprint (rio-stac); PNG or JPEG chips with no place on Earth get a null geometry and
``proj:shape``. Hidden files and folders, files with other extensions and files directly in
SOURCE are ignored; a class folder with no chips is skipped with a warning (a class with no
sample is not listed).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from eotdl.builders.base import LABEL_EXT, ML_AOI_EXT, Builder, Labels, Option
from eotdl.builders.imagefiles import IMAGE_EXTENSIONS, list_images, parse_extensions
from eotdl.builders.item_ids import check_unique_ids, safe_id
from eotdl.builders.label_items import add_labels
from eotdl.builders.parallel import ordered_map
from eotdl.builders.rasterinfo import image_item
from eotdl.catalog.vocabulary import ITEM_ASSETS_EXT
from eotdl.errors import InputError


class ClassificationFoldersBuilder(Builder):
    """One Item per chip; the class is the name of the chip's folder."""

    name = "classification-folders"
    summary = "Chip classification from one sub-folder per class (EuroSAT layout)"
    options = (
        Option(
            "datetime",
            "Acquisition time of chips with none in their TIFF tags or file name"
            " (ISO date or time, e.g. 2018-06-01).",
        ),
        Option(
            "extensions",
            "File extensions of the chips, comma separated.",
            default=IMAGE_EXTENSIONS,
        ),
        Option(
            "crs",
            "CRS of chips that have a transform but no CRS (without it: a null geometry).",
        ),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.labels = Labels.classes_in_property(
            "classification", "class of the chip, from the name of its folder"
        )

    @cached_property
    def _chips(self) -> list[tuple[str, Path]]:
        """(class, chip) pairs, sorted by class then file name; sets the class list."""
        root = Path(self.source)
        if not root.is_dir():
            raise InputError(
                f"{root}: not a folder",
                hint="SOURCE must be a folder with one sub-folder of chips per class",
            )
        extensions = parse_extensions(self.settings["extensions"])
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not folders:
            raise InputError(
                f"{root}: no class sub-folders",
                hint="put the chips of each class in a sub-folder named after the class",
            )
        chips: list[tuple[str, Path]] = []
        classes: list[str] = []
        for folder in folders:
            found = list_images(folder, extensions)
            if not found:
                warnings.warn(
                    f"{folder}: no chips ({', '.join(extensions)}); class {folder.name!r} skipped",
                    stacklevel=2,
                )
                continue
            classes.append(folder.name)
            chips.extend((folder.name, path) for path in found)
        if not chips:
            raise InputError(
                f"{root}: no chips with extensions {', '.join(extensions)} in its class folders",
                hint="check --extensions",
            )
        check_unique_ids((self._id(c, p), str(p)) for c, p in chips)
        assert self.labels is not None
        self.labels.classes = classes
        return chips

    @staticmethod
    def _id(label: str, path: Path) -> str:
        return safe_id(label, path.stem)

    def _item(self, chip: tuple[str, Path]) -> dict[str, Any]:
        label, path = chip
        assert self.labels is not None
        item = image_item(
            path,
            self._id(label, path),
            datetime=self.settings["datetime"],
            crs=self.settings["crs"],
        )
        return add_labels(item, self.labels, properties={"class": label})

    def items(self) -> Iterator[dict[str, Any]]:
        """One Item per chip, in class then file-name order."""
        yield from ordered_map(self._item, self._chips)

    def collection(self) -> dict[str, Any]:
        """Class list and tasks in ``summaries``; the chip asset in ``item_assets``."""
        chips = self._chips
        assert self.labels is not None
        base = super().collection()
        base["description"] += (
            f" {len(chips)} chips in {len(self.labels.classes)} classes:"
            f" {', '.join(self.labels.classes)}."
        )
        base["stac_extensions"] = [ITEM_ASSETS_EXT, LABEL_EXT, ML_AOI_EXT]
        base["summaries"] = self.labels.summaries()
        base["item_assets"] = {
            "image": {"title": "image chip", "roles": ["data"], "ml-aoi:role": "feature"}
        }
        return base
