"""``stac``: import any STAC catalog or collection, of any version from 0.8 up, as a dataset.

Sources: a local ``catalog.json``/``collection.json`` (or a folder holding one), an http(s)
URL, ``s3://bucket/key``, or an archive (``.tar.gz``, ``.zip``…) holding a catalog, extracted
safely into the scratch folder. Every object is migrated to STAC 1.0.0
(:mod:`eotdl.builders.stac_migrate`). Opening and scanning the source:
:mod:`eotdl.builders.stac_source`; this module makes the dataset from what the scan found.

Samples: when the catalog has label items (Radiant MLHub's layout: a labels collection whose
items have ``source`` links to imagery items), each label item becomes one item carrying its
label assets *and* the assets of the imagery it labels, so a loader reads one item per sample.
Label items without ``source`` links are paired by MLHub's naming (``X-labels`` labels ``X``).
Without label items, each item is one sample. Original ids are kept (``eotdl:original_id``,
``eotdl:source_ids``). Pairing and flattening: :mod:`eotdl.builders.stac_samples`.

Assets are fetched into the scratch folder (then uploaded by the catalog layer); an asset
that cannot be fetched is reported with all the others at the end, or dropped and recorded
with ``--allow-missing-assets``. Links and hrefs of a local catalog may not leave its folder.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eotdl.builders.base import Builder, Labels, Option
from eotdl.builders.stac_assets import Fetcher
from eotdl.builders.stac_samples import (
    MissingAsset,
    Sample,
    SourceGroups,
    attach,
    flatten,
    missing_summary,
    name_samples,
    pair,
)
from eotdl.builders.stac_source import CatalogSource
from eotdl.catalog.card import TASKS, Card
from eotdl.catalog.vocabulary import SCIENTIFIC_EXT
from eotdl.errors import InputError

_BATCH = 64
_TASK_NAMES = {"detection": "object-detection", "object_detection": "object-detection"}


class StacImportWarning(UserWarning):
    """Something an import left out or changed that the user should know about."""


def _keys(value: Any) -> tuple[str, ...]:
    """``--assets`` values: repeated and/or comma-separated keys."""
    if not value:
        return ()
    values = [value] if isinstance(value, str) else list(value)
    return tuple(k.strip() for v in values for k in str(v).split(",") if k.strip())


class StacImportBuilder(Builder):
    name = "stac"
    summary = (
        "any STAC catalog or collection (0.8 up; path, http(s), s3://, .tar.gz/.zip),"
        " migrated to 1.0.0, MLHub label/source items flattened into samples"
    )
    version = "1"
    options = (
        Option(
            "assets",
            "Import only these asset keys (repeat or comma-separate; default: all).",
            multiple=True,
            default=(),
        ),
        Option(
            "skip_assets",
            "Keep remote asset hrefs as they are: nothing downloaded or uploaded for them.",
            flag=True,
            default=False,
        ),
        Option(
            "allow_missing_assets",
            "Drop assets that cannot be fetched (listed in a warning and in the collection)"
            " instead of failing.",
            flag=True,
            default=False,
        ),
        Option(
            "keep_unlabelled",
            "With label items, also keep the items no label item points at.",
            flag=True,
            default=False,
        ),
        Option("endpoint_url", "S3 endpoint for s3:// sources and assets (default: AWS settings)."),
        Option(
            "max_extract_mb",
            "Largest total size an archive may extract to, in MiB.",
            type=int,
            default=20480,
        ),
        Option("workers", "Assets downloaded in parallel.", type=int, default=8),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.workdir = Path(os.path.abspath(self.workdir))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.missing: list[MissingAsset] = []
        self.notes: list[str] = []
        self.catalog = CatalogSource(
            source,
            self.workdir,
            asset_keys=_keys(self.settings["assets"]),
            endpoint_url=self.settings["endpoint_url"],
            max_extract_bytes=int(self.settings["max_extract_mb"]) << 20,
            workers=self.settings["workers"],
        )
        self.catalog.scan(self.catalog.open())
        pairs, notes = pair(self.catalog.entries, bool(self.settings["keep_unlabelled"]))
        for note in notes:
            self._note(note)
        self.samples = name_samples(self.catalog.entries, pairs, self.catalog.show)
        self.labels = self._labels()

    def _labels(self) -> Labels | None:
        types: Counter[str] = Counter()
        tasks: dict[str, None] = {}
        classes: dict[Any, None] = {}
        names: Counter[str] = Counter()
        with self.catalog.spool.open("rb") as handle:
            for entry in self.catalog.entries:
                if not entry.is_label:
                    continue
                props = self.catalog.read(handle, entry)["properties"]
                types[str(props.get("label:type"))] += 1
                for task in props.get("label:tasks") or []:
                    tasks[str(task)] = None
                for group in props.get("label:classes") or []:
                    if isinstance(group, dict):
                        if group.get("name"):
                            names[str(group["name"])] += 1
                        for value in group.get("classes") or []:
                            classes[value] = None
        if not types:
            return None
        return Labels(
            type=types.most_common(1)[0][0],
            tasks=list(tasks),
            classes=list(classes),
            description="labels imported from the source catalog",
            class_property=names.most_common(1)[0][0] if names else "class",
        )

    def _note(self, text: str) -> None:
        self.notes.append(text)
        warnings.warn(text, StacImportWarning, stacklevel=3)

    # -- items -------------------------------------------------------------------------

    def items(self) -> Iterator[dict[str, Any]]:
        fetcher = Fetcher(
            self.workdir,
            keep_remote=bool(self.settings["skip_assets"]),
            workers=int(self.settings["workers"]),
            endpoint_url=self.settings["endpoint_url"],
            mirror=self.catalog.mirror,
            root=self.catalog.boundary if self.catalog.mirror is None else None,
        )
        self.missing = []
        with self.catalog.spool.open("rb") as handle:
            for start in range(0, len(self.samples), _BATCH):
                batch = [self._flatten(handle, s) for s in self.samples[start : start + _BATCH]]
                hrefs = [a["href"] for item, _ in batch for a in item["assets"].values()]
                fetched = fetcher.fetch_all(hrefs)
                for item, groups in batch:
                    self.missing += attach(item, groups, fetched, self.catalog.show)
                    yield item
        if self.missing and not self.settings["allow_missing_assets"]:
            lines = [m.format() for m in self.missing[:1000]]
            if len(self.missing) > 1000:
                lines.append(f"… and {len(self.missing) - 1000} more")
            raise InputError(
                f"{len(self.missing)} asset(s) could not be fetched:\n  " + "\n  ".join(lines),
                hint="--allow-missing-assets imports without them (and records it);"
                " --skip-assets keeps remote hrefs as they are; --assets KEYS imports only"
                " some assets",
            )
        if self.missing:
            more = len(self.missing) - 50
            warnings.warn(
                f"{len(self.missing)} asset(s) could not be fetched and were left out:\n  "
                + "\n  ".join(m.format() for m in self.missing[:50])
                + (f"\n  … and {more} more" if more > 0 else ""),
                StacImportWarning,
                stacklevel=2,
            )
            self.notes.append(missing_summary(self.missing))

    def _flatten(self, handle: Any, sample: Sample) -> tuple[dict[str, Any], SourceGroups]:
        entry = self.catalog.entries[sample.entry]
        sources = [self.catalog.read(handle, self.catalog.entries[j]) for j in sample.sources]
        return flatten(self.catalog.read(handle, entry), entry, sample.id, sources)

    # -- collection and card ---------------------------------------------------------

    def _first(self, field: str) -> Any:
        for container in self.catalog.containers:
            if container.get(field):
                return container[field]
        return None

    def collection(self) -> dict[str, Any]:
        collection = super().collection()
        if self._first("title"):
            collection["title"] = str(self._first("title"))
        licenses = {
            str(c["license"]) for c in self.catalog.containers if c.get("license") and "extent" in c
        }
        collection["license"] = licenses.pop() if len(licenses) == 1 else "other"
        if collection["license"] in ("proprietary", "various"):
            collection["license"] = "other"
        collection["description"] = self._description()
        providers: dict[str, dict[str, Any]] = {}
        keywords: dict[str, None] = {}
        for container in self.catalog.containers:
            for provider in container.get("providers") or []:
                if isinstance(provider, dict) and provider.get("name"):
                    providers.setdefault(str(provider["name"]), provider)
            for word in container.get("keywords") or []:
                keywords[str(word)] = None
        if providers:
            collection["providers"] = list(providers.values())
        if keywords:
            collection["keywords"] = list(keywords)
        scientific = {
            k: self._first(k)
            for k in ("sci:doi", "sci:citation", "sci:publications")
            if self._first(k)
        }
        if scientific:
            collection.update(scientific)
            collection["stac_extensions"] = [SCIENTIFIC_EXT]
        return collection

    def _description(self) -> str:
        text = str(self._first("description") or "").strip()
        versions = " and ".join(sorted(self.catalog.versions))
        parts = [
            text,
            f"Imported with the eotdl `stac` builder from {self.catalog.display}"
            f" (STAC {versions}, migrated to 1.0.0).",
        ]
        if self.catalog.local_copies:
            parts.append(
                f"{self.catalog.local_copies} remote asset(s) were read from the copies shipped"
                " beside their items."
            )
        parts += self.notes
        return "\n\n".join(p for p in parts if p)

    def card(self) -> Card:
        card = super().card()
        description = str(self._first("description") or "").strip()
        if description:
            card.description = description
        license_ = self.collection()["license"]
        if license_ != "other":
            card.license = license_
        tasks = [_TASK_NAMES.get(t, t) for t in (self.labels.tasks if self.labels else [])]
        card.tasks = [t for t in dict.fromkeys(tasks) if t in TASKS]
        card.citation = str(self._first("sci:citation") or "")
        card.doi = str(self._first("sci:doi") or "")
        card.body = (
            f"# {card.title}\n\n{description or 'TODO: describe the dataset.'}\n\n"
            f"Imported from `{self.catalog.display}` with the eotdl `stac` builder.\n\n"
            "TODO: where and when the data come from, how labels were made, known"
            " limitations, and how to cite it.\n"
        )
        return card
