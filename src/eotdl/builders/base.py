"""The builder contract: sources in, STAC Items (with local asset files) out.

A builder is pure: it reads its source and yields Items whose assets point at local files
(absolute paths, in the source or in the scratch ``workdir`` it was given). It never writes the
lab or the object store: :mod:`eotdl.builders.ingestion` uploads the files and the catalog layer
lays the dataset out.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from eotdl.catalog.card import Card
from eotdl.catalog.vocabulary import (  # noqa: F401  (the names builders import from here)
    EO_EXT,
    FILE_EXT,
    LABEL_EXT,
    ML_AOI_EXT,
    PROCESSING_EXT,
    PROJ_EXT,
    RASTER_EXT,
    STAC_VERSION,
    VERSION_EXT,
)


@dataclass(frozen=True)
class Option:
    """One builder option, shown by ``eotdl builders list`` and turned into a CLI flag."""

    name: str
    help: str
    type: type = str
    default: Any = None
    flag: bool = False
    choices: tuple[str, ...] | None = None
    multiple: bool = False


@dataclass
class Labels:
    """What a dataset's labels are: written into items (label extension) and the card."""

    type: str  # "raster" or "vector"
    tasks: list[str]
    classes: list[Any] = field(default_factory=list)
    properties: list[str] | None = None
    description: str = ""
    class_property: str = "class"

    def item_properties(self) -> dict[str, Any]:
        """The ``label:*`` properties of an item."""
        props: dict[str, Any] = {
            "label:type": self.type,
            "label:tasks": list(self.tasks),
            "label:description": self.description or "labels",
            "label:properties": self.properties,
        }
        if self.classes:
            props["label:classes"] = [
                {
                    "name": self.class_property if self.type == "vector" else None,
                    "classes": list(self.classes),
                }
            ]
        return props

    def summaries(self) -> dict[str, Any]:
        """The ``label:*`` summaries of a collection whose items carry these labels."""
        return {
            "label:classes": [
                {
                    "name": self.class_property if self.type == "vector" else None,
                    "classes": list(self.classes),
                }
            ],
            "label:tasks": list(self.tasks),
            "label:type": [self.type],
        }

    @classmethod
    def classes_in_property(cls, task: str, description: str, classes: Any = ()) -> Labels:
        """Vector labels whose class each item (or each feature) holds in ``class``."""
        return cls(
            type="vector",
            tasks=[task],
            classes=list(classes),
            properties=["class"],
            description=description,
        )

    @classmethod
    def classes_in_pixels(cls, tasks: list[str], description: str, classes: Any) -> Labels:
        """Raster labels whose pixels hold the class codes ``classes``."""
        return cls(type="raster", tasks=tasks, classes=list(classes), description=description)


class Builder(abc.ABC):
    """Base of every builder. Subclasses set ``name``, ``summary``, ``options`` and ``items``."""

    name: ClassVar[str]
    summary: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    #: Bump when the builder's output changes for the same input (recorded in recipe.yaml).
    version: ClassVar[str] = "1"

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        self.source = source
        self.dataset = dataset
        self.workdir = Path(workdir)
        known = {o.name: o for o in self.options}
        unknown = set(options) - set(known)
        if unknown:
            from eotdl.errors import InputError

            raise InputError(
                f"builder {self.name!r} has no option(s) {', '.join(sorted(unknown))}",
                hint=f"its options: {', '.join(sorted(known)) or 'none'}",
            )
        self.settings: dict[str, Any] = {
            name: options.get(name, option.default) for name, option in known.items()
        }
        self.labels: Labels | None = None

    @abc.abstractmethod
    def items(self) -> Iterator[dict[str, Any]]:
        """Yield STAC Items; assets with local files have absolute local paths as hrefs."""

    def collection(self) -> dict[str, Any]:
        """Collection fields the builder knows (extents and links are filled in for it)."""
        return {
            "title": self.dataset.replace("-", " ").replace("_", " ").capitalize(),
            "description": f"Made with the eotdl `{self.name}` builder"
            f" from {Path(self.source).name}.",
            "license": "other",
        }

    def card(self) -> Card:
        """The dataset card with what the builder can fill in; the rest marked TODO."""
        tasks = list(self.labels.tasks) if self.labels else []
        return Card(
            title=self.collection()["title"],
            description=f"TODO: describe the dataset. {self.collection()['description']}",
            license="TODO-SPDX-ID",
            tasks=tasks,
            kind="training",
            body=(
                f"# {self.collection()['title']}\n\n"
                "TODO: what the data are, where and when they come from, how labels were made,"
                " known limitations, and how to cite it.\n"
            ),
        )

    def recipe_options(self) -> dict[str, Any]:
        """Options as recorded in recipe.yaml (only those that differ from the defaults)."""
        defaults = {o.name: o.default for o in self.options}
        return {k: v for k, v in self.settings.items() if v != defaults.get(k)}
