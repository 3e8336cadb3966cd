"""A site build's folders on a Dask cluster (``eotdl build --cluster``).

Each dataset and model folder (its STAC tree, ``items.parquet`` and pages) is built by a
worker, straight into the build's staging folder, which the workers see at the same path (one
machine, or a shared file system). The client keeps what is done once for the site (QA
freshness, home page, static files, the commit) and takes back from each worker only what the
commit and the site-wide pages need: the folder's summary, its manifest, and the stage's
bookkeeping (folders to carry or patch, files written). Folders come back in the lab's order,
so the site is the one a build on this machine writes, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eotdl.catalog.compute import in_order
from eotdl.catalog.lab import Lab
from eotdl.catalog.tree import DatasetBuild, TreeBuilder
from eotdl.site.build import CheckedStage, folder_pages, tree_builder
from eotdl.site.folderpages import FolderPages
from eotdl.site.pages import SiteInfo


@dataclass(frozen=True)
class FolderJob:
    """What a worker needs to build one folder into the client's stage."""

    lab: Lab
    root: Path
    target: Path
    previous: Path | None
    needles: list[bytes]
    site: SiteInfo
    dataset_names: frozenset[str]
    full: bool
    problems: dict[str, str]


@dataclass
class FolderResult:
    """A folder built on a worker: the build (without its items) and the stage's records."""

    build: DatasetBuild
    qa_status: str | None
    items_written: int
    items_reused: int
    folders_carried: int
    pages_written: int
    pages_linked: int
    warnings: list[str]
    carried: list[str]
    patches: dict[str, Any]
    written: int
    linked: int


class WorkerStage(CheckedStage):
    """The client's stage as a worker writes into it: same folders, no lock of its own (the
    client holds it), no commit; what it decides to carry or patch goes back to the client."""

    def __init__(
        self, root: Path, target: Path, previous: Path | None, needles: list[bytes]
    ) -> None:
        # Stage.__init__ would make a new staging folder and take the lock: set its fields.
        self.target = target
        self.root = root
        self.previous = previous
        self.needles = needles
        self._lock_fd = -1
        self._carried: list[str] = []
        self._patches: dict[str, Any] = {}
        self._can_link = True
        self.linked = 0
        self.written = 0

    def commit(self) -> None:
        raise RuntimeError("a worker's stage is committed by the client")

    def abort(self) -> None:
        """Nothing: the client removes the whole stage."""


@dataclass
class _Folder:
    group: str
    name: str


def folders_on_cluster(
    client: Any, lab: Lab, tree: TreeBuilder, writer: FolderPages, problems: dict[str, str]
) -> Iterator[tuple[DatasetBuild, str | None]]:
    """Every folder of the lab built on the cluster, in order, as the local walk yields them;
    each result is taken into ``tree``, ``writer`` and their stage here."""
    stage = writer.stage
    assert isinstance(stage, CheckedStage)
    job = FolderJob(
        lab,
        stage.root,
        stage.target,
        stage.previous,
        stage.needles,
        writer.site,
        writer.dataset_names,
        tree.full,
        problems,
    )
    folders = [_Folder("datasets", name) for name in lab.dataset_names()]
    folders += [_Folder("models", name) for name in lab.model_names()]
    for result in in_order(client, build_folder, folders, job):
        stage._carried += result.carried
        stage._patches.update(result.patches)
        stage.written += result.written
        stage.linked += result.linked
        tree.builds.append(result.build)
        tree.summary.items_written += result.items_written
        tree.summary.items_reused += result.items_reused
        tree.summary.folders_carried += result.folders_carried
        writer.pages_written += result.pages_written
        writer.pages_linked += result.pages_linked
        writer.warnings += result.warnings
        yield result.build, result.qa_status


def build_folder(folder: _Folder, job: FolderJob) -> FolderResult:
    """A task: build one folder's tree and pages into the stage."""
    lab = job.lab
    stage = WorkerStage(job.root, job.target, job.previous, job.needles)
    tree = tree_builder(lab, stage, job.site, job.dataset_names, job.full)
    writer = FolderPages(lab, stage, job.site, job.dataset_names)
    try:
        source = lab.dataset(folder.name) if folder.group == "datasets" else lab.model(folder.name)
        build = tree._build_folder(folder.group, source)  # one folder of TreeBuilder.datasets()
        qa_status = folder_pages(lab, build, writer, job.problems) if build.changed else None
    finally:
        tree.close()
    build.entries = []  # the client needs the manifest, not the items
    return FolderResult(
        build,
        qa_status,
        tree.summary.items_written,
        tree.summary.items_reused,
        tree.summary.folders_carried,
        writer.pages_written,
        writer.pages_linked,
        writer.warnings,
        stage._carried,
        stage._patches,
        stage.written,
        stage.linked,
    )
