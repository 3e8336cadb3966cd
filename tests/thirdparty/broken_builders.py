"""Builders that each break one promise of the builder contract, so its test can fail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eotdl_fieldnotes import FieldNotesBuilder


class UnstableIdsBuilder(FieldNotesBuilder):
    """Ids that change from run to run: no rebuild gives the same dataset."""

    name = "unstable-ids"

    def items(self) -> Iterator[dict[str, Any]]:
        for item in super().items():
            yield {**item, "id": uuid.uuid4().hex}


class LeakyPathsBuilder(FieldNotesBuilder):
    """Writes the absolute path of its source into every Item."""

    name = "leaky-paths"

    def items(self) -> Iterator[dict[str, Any]]:
        for item in super().items():
            yield {**item, "properties": {**item["properties"], "file": str(Path(self.source))}}


class OneFileBuilder(FieldNotesBuilder):
    """Every Item's asset is the same file: split, it lands in two splits."""

    name = "one-file"

    def items(self) -> Iterator[dict[str, Any]]:
        first = sorted(Path(self.source).glob("*.geojson"))[0]
        for item in super().items():
            note = {**item["assets"]["note"], "href": str(first.resolve())}
            yield {**item, "assets": {"note": note}}
