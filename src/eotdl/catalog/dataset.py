"""One dataset (or model) folder of a lab: ``collection.json``, ``items.ndjson``, ``README.md``.

Every read and write of these files goes through :class:`DatasetFolder`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog import canonical, ndjson
from eotdl.catalog.card import Card, read_card, write_card
from eotdl.catalog.jsonfile import read_json_object

COLLECTION = "collection.json"
ITEMS = "items.ndjson"
CARD = "README.md"
RECIPE = "recipe.yaml"


class DatasetFolder:
    """Read and write one dataset folder (``datasets/<name>/``) or model folder.

    Every file it reads must resolve inside the folder itself (a README.md symlinked to
    ``/proc/self/environ`` or to another dataset is refused): see :mod:`eotdl.catalog.paths`.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name

    def __repr__(self) -> str:
        return f"DatasetFolder({str(self.path)!r})"

    @property
    def collection_path(self) -> Path:
        return self.path / COLLECTION

    @property
    def items_path(self) -> Path:
        return self.path / ITEMS

    @property
    def card_path(self) -> Path:
        return self.path / CARD

    @property
    def recipe_path(self) -> Path:
        return self.path / RECIPE

    def exists(self) -> bool:
        return self.collection_path.is_file()

    def read_collection(self) -> dict[str, Any]:
        return read_json_object(self.collection_path, self.path)

    def write_collection(self, collection: Mapping[str, Any]) -> None:
        write_bytes_atomic(self.collection_path, canonical.dumps_pretty(dict(collection)))

    def iter_items(self) -> Iterator[dict[str, Any]]:
        """Every Item, streaming, in id order (empty when there is no items file)."""
        if not self.items_path.exists() and not self.items_path.is_symlink():
            return iter(())
        return ndjson.iter_items(self.items_path, self.path)

    def write_items(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Write all Items (sorted by id, canonical); return how many."""
        return ndjson.write_items(self.items_path, items)

    def read_card(self) -> Card:
        return read_card(self.card_path, self.path)

    def write_card(self, card: Card) -> None:
        write_card(self.card_path, card)
