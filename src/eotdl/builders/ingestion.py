"""Running a builder into a lab: build, split, upload, lay out, and record the recipe.

``recipe.yaml`` records the builder, its version, the source (relative to the lab), the
options, the split and the seed, so :func:`rebuild` makes the same items, byte for byte, with
the same asset checksums.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eotdl import __version__
from eotdl.builders import registry
from eotdl.builders.base import ML_AOI_EXT, PROCESSING_EXT, Builder
from eotdl.builders.cluster import ClusterWork
from eotdl.builders.splits import SplitRecord, assign_splits, parse_split
from eotdl.catalog import canonical, ndjson
from eotdl.catalog.compute import choose_cluster, client_for
from eotdl.catalog.lab import Lab, check_name
from eotdl.catalog.locks import dataset_lock, scratch
from eotdl.catalog.previews import add_previews, kept_previews
from eotdl.catalog.save import SaveResult, save_dataset
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError


@dataclass
class IngestResult:
    """What an ingest made."""

    dataset: str
    kind: str
    saved: SaveResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "builder": self.kind,
            "folder": str(self.saved.folder.path),
            "items": self.saved.items,
            "uploaded": self.saved.uploaded,
            "already_stored": self.saved.skipped,
            "bytes_uploaded": self.saved.bytes,
            "splits": self.saved.splits,
        }


def _is_remote(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def ingest(
    lab: Lab,
    kind: str,
    source: str,
    dataset: str,
    options: dict[str, Any] | None = None,
    *,
    split: str | None = None,
    seed: int = 0,
    progress: bool = True,
    cluster: str | None = None,
) -> IngestResult:
    """Run builder ``kind`` on ``source`` and save the result as ``datasets/<dataset>/``.

    ``cluster`` (``local`` or a Dask scheduler's address; default: the lab's ``[compute]
    cluster``, else here) stores the files from the workers, has a builder that can (rasters)
    describe them there too, and has the workers draw and store the previews: the same
    dataset, byte for byte, with no byte of the files passing through this process.
    """
    check_name(dataset)
    cluster = choose_cluster(lab.root, cluster)
    cls = registry.load(kind)
    spec = parse_split(split) if split else None
    fetches = bool((options or {}).get("download"))  # a recipe's --download fills SOURCE
    missing = not _is_remote(source) and not Path(source).exists() and not fetches
    if missing and not any(c in source for c in "*?["):
        raise InputError(f"source {source} does not exist")
    resolved = source if _is_remote(source) else os.path.abspath(source)
    options = _absolute_paths(cls, dict(options or {}), Path.cwd())
    # One writer per dataset: a second ingest into it is refused (BusyError, exit 75).
    with (
        dataset_lock(lab, dataset),
        scratch(lab, f"ingest-{dataset}-") as workdir,
        _cluster_work(lab, cluster) as work,
    ):
        builder = cls(source=resolved, dataset=dataset, workdir=workdir, **options)
        items: Iterator[dict[str, Any]]
        if work is not None and hasattr(builder, "items_on"):
            items = builder.items_on(work)
        else:
            items = builder.items()
        if spec is not None:
            previous = _previous_splits(lab, dataset)
            items = _with_splits(builder, items, workdir, spec, seed, previous)
        recipe = {
            "builder": kind,
            "builder_version": builder.version,
            "eotdl_version": __version__,
            "source": source if _is_remote(source) else _relative(resolved, lab.root),
            "options": _plain(_relative_paths(cls, builder.recipe_options(), lab.root)),
            "split": spec.describe() if spec else None,
            "seed": seed,
            "steps": _plain(getattr(builder, "steps", [])),
        }
        has_splits = spec is not None
        kept = kept_previews(lab.dataset(dataset))
        saved = save_dataset(
            lab,
            dataset,
            items,
            lambda: _collection(lab, dataset, builder, has_splits),
            builder.card(),
            recipe,
            progress=progress,
            upload=work.upload if work is not None else None,
        )
        client = work.client if work is not None else None  # drawn and stored there
        add_previews(lab, saved.folder, keep=kept, client=client)  # a PNG quicklook per raster
    return IngestResult(dataset, kind, saved)


@contextlib.contextmanager
def _cluster_work(lab: Lab, cluster: str | None) -> Iterator[ClusterWork | None]:
    if cluster is None:
        yield None
        return
    with client_for(cluster) as client:
        yield ClusterWork(client, lab)


def rebuild(
    lab: Lab, dataset: str, progress: bool = True, cluster: str | None = None
) -> IngestResult:
    """Re-run ``datasets/<dataset>/recipe.yaml`` (``cluster``: as for :func:`ingest`)."""
    folder = lab.dataset(dataset)
    if not folder.recipe_path.exists():
        raise InputError(
            f"dataset {dataset!r} has no recipe.yaml",
            hint="only datasets made with `eotdl ingest` can be rebuilt",
        )
    try:
        recipe = yaml.safe_load(folder.recipe_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{folder.recipe_path}: not valid YAML: {exc}") from None
    if not isinstance(recipe, dict) or "builder" not in recipe or "source" not in recipe:
        raise InputError(f"{folder.recipe_path}: needs at least 'builder' and 'source'")
    source = str(recipe["source"])
    if not _is_remote(source) and not os.path.isabs(source):
        source = os.path.normpath(lab.root / source)
    cls = registry.load(str(recipe["builder"]))
    return ingest(
        lab,
        str(recipe["builder"]),
        source,
        dataset,
        _absolute_paths(cls, dict(recipe.get("options") or {}), lab.root),
        split=recipe.get("split"),
        seed=int(recipe.get("seed") or 0),
        progress=progress,
        cluster=cluster,
    )


def _collection(lab: Lab, dataset: str, builder: Builder, has_splits: bool) -> dict[str, Any]:
    collection = dict(builder.collection())
    folder = lab.dataset(dataset)
    if folder.exists():
        previous = folder.read_collection()
        for key in ("version", "title", "description", "license", "providers", "keywords"):
            if key in previous:
                collection[key] = previous[key]
    extensions = list(collection.get("stac_extensions", []))
    for ext in ([ML_AOI_EXT] if has_splits else []) + [PROCESSING_EXT]:
        if ext not in extensions:
            extensions.append(ext)
    collection["stac_extensions"] = extensions
    steps = getattr(builder, "steps", [])
    lineage = f"Built with the eotdl `{builder.name}` builder (version {builder.version})"
    if steps:
        lineage += "; steps: " + "; ".join(
            ", ".join(f"{k}={v}" for k, v in step.items()) for step in steps
        )
    providers = [p for p in collection.get("providers", []) if p.get("name") != "eotdl"]
    providers.append(
        {
            "name": "eotdl",
            "roles": ["processor"],
            "processing:software": {"eotdl": __version__},
            "processing:lineage": lineage + ".",
        }
    )
    collection["providers"] = providers
    return collection


def _previous_splits(lab: Lab, dataset: str) -> dict[str, str]:
    """item id -> split of the dataset as it is now (empty for a new dataset)."""
    folder = lab.dataset(dataset)
    if not folder.items_path.exists():
        return {}
    found = {}
    for item in folder.iter_items():
        split = (item.get("properties") or {}).get(SPLIT)
        if isinstance(split, str):
            found[str(item["id"])] = split
    return found


def _with_splits(
    builder: Builder,
    items: Iterator[dict[str, Any]],
    workdir: Path,
    spec: Any,
    seed: int,
    previous: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Spool the items, assign splits, then yield them with ml-aoi:split.

    Items the dataset already has keep their split (a new version never moves an item from
    train to test); only new items are assigned, by ``spec`` over the new items.
    """
    previous = previous or {}
    spool = workdir / "split-spool.ndjson"
    records = []
    key = builder.labels.class_property if builder.labels else "class"
    with spool.open("wb") as out:
        for item in items:
            bbox = item.get("bbox") or [0.0, 0.0, 0.0, 0.0]
            half = len(bbox) // 2
            x = (bbox[0] + bbox[half]) / 2
            y = (bbox[1] + bbox[half + 1]) / 2
            label = (item.get("properties") or {}).get(key)
            if str(item["id"]) not in previous:
                records.append(
                    SplitRecord(str(item["id"]), None if label is None else str(label), x, y)
                )
            out.write(canonical.dumps(item) + b"\n")
    assignment = {**previous, **assign_splits(records, spec, seed)}
    for item in ndjson.iter_items(spool):
        item.setdefault("properties", {})[SPLIT] = assignment[item["id"]]
        extensions = item.setdefault("stac_extensions", [])
        if ML_AOI_EXT not in extensions:
            extensions.append(ML_AOI_EXT)
        yield item


def _path_options(cls: type[Builder]) -> set[str]:
    return {o.name for o in cls.options if o.type is Path}


def _absolute_paths(cls: type[Builder], options: dict[str, Any], base: Path) -> dict[str, Any]:
    """Path options resolved against ``base`` (the working folder, or the lab for a rebuild)."""
    for name in _path_options(cls) & set(options):
        value = options[name]
        if value and not _is_remote(str(value)):
            options[name] = Path(os.path.normpath(base / str(value)))
    return options


def _relative_paths(cls: type[Builder], options: dict[str, Any], root: Path) -> dict[str, Any]:
    """Path options relative to the lab, so recipe.yaml holds no absolute local paths."""
    out = dict(options)
    for name in _path_options(cls) & set(out):
        if out[name] and not _is_remote(str(out[name])):
            out[name] = _relative(str(out[name]), root)
    return out


def _relative(path: str, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _plain(value: Any) -> Any:
    """Options as plain YAML-friendly values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
