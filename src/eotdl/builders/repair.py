"""Repairing the store with the builders' help: files a builder derived (chips, COGs, masks)
are not in any source folder, so :func:`repair_store` lets ``eotdl storage repair`` make them
again from the dataset's ``recipe.yaml`` (same builder, source, options: the same bytes) when
they are found nowhere else."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from eotdl.builders import registry
from eotdl.builders.ingestion import _absolute_paths, _is_remote
from eotdl.catalog.lab import Lab
from eotdl.catalog.repair import RepairReport, repair_lab
from eotdl.catalog.save import local_path


def repair_store(
    lab: Lab,
    names: Iterable[str] = (),
    from_dirs: Iterable[str | os.PathLike[str]] = (),
    *,
    workers: int | None = None,
    progress: bool = True,
) -> RepairReport:
    """:func:`eotdl.catalog.repair.repair_lab`, rebuilding derived files when needed."""
    return repair_lab(
        lab, names, from_dirs, rebuild=rebuilt_files, workers=workers, progress=progress
    )


def rebuilt_files(lab: Lab, dataset: str, workdir: Path) -> Iterator[Path]:
    """Run the recipe of ``dataset`` into ``workdir`` (nothing saved, nothing uploaded) and
    yield the local files its items' assets point at, as they are made."""
    recipe_path = lab.dataset(dataset).recipe_path
    try:
        recipe = yaml.safe_load(recipe_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return
    if not isinstance(recipe, dict) or "builder" not in recipe or "source" not in recipe:
        return
    source = str(recipe["source"])
    if not _is_remote(source) and not os.path.isabs(source):
        source = os.path.normpath(lab.root / source)
    cls = registry.load(str(recipe["builder"]))
    options = _absolute_paths(cls, dict(recipe.get("options") or {}), lab.root)
    builder = cls(source=source, dataset=dataset, workdir=workdir, **options)
    for item in builder.items():
        if hasattr(item, "to_dict"):
            item = item.to_dict(include_self_link=False)
        for asset in (item.get("assets") or {}).values():
            path = local_path(str(asset.get("href", "")))
            if path is not None and path.is_file():
                yield path
