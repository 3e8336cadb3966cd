"""``eotdl build``: the lab as a static site, written incrementally and atomically.

The STAC tree and the stac-geoparquet files come from :class:`eotdl.catalog.tree.TreeBuilder`;
this module adds the HTML pages, the search index and the static files, in the same stage, so
one commit swaps in the whole site. Layout of the output::

    catalog.json  index.html  search-index.json  contributors.html  404.html  static/…
    datasets/<name>/collection.json  items/<id>.json  items.parquet  index.html
                    items/index.html  items/page-N.html  items/<id>.html (small datasets)
                    footprints.json  thumbnail.svg  qa/qa.json  qa/plots/…
    models/<name>/…  (the same)

A dataset whose files, card and QA report did not change since the last build is reused whole;
a one-item change rewrites that item's JSON, its page, its list page, the dataset page, the
patched parquet file and the few site-wide files (home, index, catalog).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.compute import choose_cluster, client_for
from eotdl.catalog.credits import ledger
from eotdl.catalog.croissant import card_link, stage_site_cards, write_site_cards
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.install import install_line
from eotdl.catalog.lab import Lab
from eotdl.catalog.previews import lacks_previews
from eotdl.catalog.published import write_versions
from eotdl.catalog.staging import Stage, disk_full
from eotdl.catalog.store import link_objects, public_url
from eotdl.catalog.tree import DatasetBuild, TreeBuilder
from eotdl.errors import InputError
from eotdl.site import folderpages, pages
from eotdl.site.contributors import contributors
from eotdl.site.folderpages import FolderPages
from eotdl.site.qareport import QAResult, is_fresh, prepare_qa, qa_input_files, read_qa
from eotdl.site.search_index import search_index_bytes
from eotdl.site.summary import item_facts
from eotdl.site.versionpages import version_tags

#: Bumped whenever what the site build writes changes in a way templates do not show.
SITE_FORMAT = 2
Progress = Callable[[str], None]


@dataclass
class SiteSummary:
    """What a build did."""

    root: Path
    datasets: int
    models: int
    items: int
    seconds: float
    items_written: int = 0
    items_reused: int = 0
    folders_rebuilt: int = 0
    folders_reused: int = 0
    pages_written: int = 0
    files_written: int = 0
    files_reused: int = 0
    qa: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["root"] = str(self.root)
        data["seconds"] = round(self.seconds, 3)
        return data


def leaflet_files() -> tuple[Path, str]:
    """The folder holding Leaflet's files in the ``xstatic-leaflet`` package, and its version."""
    from xstatic.pkg import leaflet

    return Path(leaflet.BASE_DIR), str(leaflet.VERSION)


def site_key(lab: Lab, site: pages.SiteInfo) -> str:
    """Everything besides a folder's own files that its pages depend on."""
    _, leaflet_version = leaflet_files()
    parts = [
        SITE_FORMAT,
        pages.templates_digest(),
        site.title,
        site.base_url,
        site.tiles,
        site.generator,
        site.install,
        lab.config.store.public_url,  # where pages link previews and asset downloads
        leaflet_version,
        folderpages.PAGE_SIZE,
        folderpages.ITEM_PAGES_MAX,
    ]
    return hashlib.sha256(canonical.dumps(parts)).hexdigest()[:32]


def build_site(
    lab: Lab,
    out: str | os.PathLike[str] | None = None,
    *,
    qa: bool = True,
    full: bool = False,
    progress: Progress | None = None,
    cluster: str | None = None,
) -> SiteSummary:
    """Build the lab's site into ``out`` (default: the lab's site folder).

    ``qa`` runs QA on datasets whose report is missing or older than their files (``False``:
    show what reports there are). ``full`` ignores the previous build and rewrites everything.
    ``cluster`` (``local`` or a Dask scheduler's address; default: the lab's ``[compute]
    cluster``, else here) builds each dataset and model folder (STAC tree, parquet, pages) on a
    worker, into the staging folder (shared at the same path), and runs QA's reads there.
    """
    cluster = choose_cluster(lab.root, cluster)
    with contextlib.ExitStack() as stack:
        return _build_site(lab, out, qa, full, progress, cluster, stack)


def _build_site(
    lab: Lab,
    out: str | os.PathLike[str] | None,
    qa: bool,
    full: bool,
    progress: Progress | None,
    cluster: str | None,
    stack: contextlib.ExitStack,
) -> SiteSummary:
    start = time.perf_counter()
    say = progress or (lambda _: None)
    target = Path(out) if out is not None else lab.site_dir
    site = pages.SiteInfo(
        lab.config.title,
        lab.config.base_url,
        pages.tiles_from_environment(),
        install=install_line(lab.config.site_install),
    )
    summary = SiteSummary(target.resolve(), 0, 0, 0, 0.0)
    problems: dict[str, str] = {}
    client = None if cluster is None else stack.enter_context(client_for(cluster))
    for folder in lab.datasets():
        if lacks_previews(folder):  # the build never writes the lab: previews are a change
            summary.warnings.append(
                f"{folder.name}: raster items without a preview; run `eotdl previews"
                f" {folder.name}` and commit the result"
            )
        if qa and not is_fresh(lab, folder):
            say(f"datasets/{folder.name}: running QA (its report is missing or out of date)")
        problem = prepare_qa(lab, folder, run=qa, client=client)  # QA's reads on the cluster
        if problem:
            problems[folder.name] = problem
            if problem.startswith("QA failed"):
                summary.warnings.append(f"{folder.name}: {problem}")
    dataset_names = frozenset(lab.dataset_names())
    stage = CheckedStage(target, local_needles(lab))
    tree: TreeBuilder | None = None
    try:
        tree = tree_builder(lab, stage, site, dataset_names, full)
        writer = FolderPages(lab, stage, site, dataset_names)
        summaries: list[dict[str, Any]] = []
        counts: dict[str, int] = {}  # items per rebuilt dataset: its Croissant card's form
        if client is None:
            folders = built_folders(lab, tree, writer, problems)
        else:
            from eotdl.site.cluster import folders_on_cluster

            folders = folders_on_cluster(client, lab, tree, writer, problems)
        for build, qa_status in folders:
            if build.changed:
                say(f"{build.relative_dir}: {build.status} build, {build.count:,} items")
                if qa_status is not None:
                    summary.qa[build.name] = qa_status
                summary.folders_rebuilt += 1
                if build.group == "datasets":
                    counts[build.name] = build.count
            else:
                summary.folders_reused += 1
                if build.group == "datasets":
                    summary.qa[build.name] = "reused"
            summaries.append(build.extra)
        tree_summary = tree.finish()
        _site_pages(stage, site, summaries, writer, ledger(lab.root).totals())
        _static(stage, tree.key, writer)
        stage_site_cards(lab, stage, counts)  # Croissant cards of rebuilt datasets
        if not link_objects(lab, stage.root, stage.target) and not public_url(lab):
            summary.warnings.append(
                f"the store ({lab.store_url}) is not a folder: the site's asset hrefs"
                " (objects/…) resolve once `eotdl publish` puts it at the store's root; set"
                " [store] public_url in eotdl.toml to read this build where it is"
            )
        stage.commit()
        check_versions(target, stage.needles, write_versions(lab, target))
        write_site_cards(lab, target)  # Croissant cards beside each version (catalog.croissant)
    except BaseException as exc:
        if tree is not None:
            tree.close()
        stage.abort()
        no_space = disk_full(exc, target)
        if no_space is not None:
            raise no_space from None
        raise
    summary.datasets = sum(1 for s in summaries if s.get("group") == "datasets")
    summary.models = sum(1 for s in summaries if s.get("group") == "models")
    summary.items = tree_summary.items
    summary.items_written = tree_summary.items_written
    summary.items_reused = tree_summary.items_reused
    summary.pages_written = writer.pages_written
    summary.warnings += writer.warnings
    summary.files_written = stage.written
    summary.files_reused = stage.linked
    summary.seconds = time.perf_counter() - start
    return summary


def tree_builder(
    lab: Lab, stage: Stage, site: pages.SiteInfo, dataset_names: frozenset[str], full: bool
) -> TreeBuilder:
    """The STAC tree writer of a site build (here, or on a cluster's worker)."""
    names_bytes = "\n".join(sorted(dataset_names)).encode()

    def context_files(folder: DatasetFolder) -> list[Path]:
        extra = [folder.card_path, *folderpages.card_files(folder.path)]
        if folder.path.parent == lab.datasets_dir:
            extra += qa_input_files(lab, folder)
        return extra

    def context_data(folder: DatasetFolder) -> bytes:
        if folder.path.parent == lab.models_dir:
            return names_bytes
        return version_tags(lab, folder.name)  # a new tag rebuilds the dataset's pages

    return TreeBuilder(
        lab,
        stage,
        key=site_key(lab, site),
        facts=item_facts,
        context_files=context_files,
        context_data=context_data,
        keep_items=folderpages.ITEM_PAGES_MAX,
        parquet=True,
        html=True,
        full=full,
        collection_links=lambda build: (
            card_link(build.collection) if build.group == "datasets" else []
        ),
    )


def built_folders(
    lab: Lab, tree: TreeBuilder, writer: FolderPages, problems: dict[str, str]
) -> Iterator[tuple[DatasetBuild, str | None]]:
    """Every folder of the lab built here, with its pages, and its QA status when rebuilt."""
    for build in tree.datasets():
        yield build, (folder_pages(lab, build, writer, problems) if build.changed else None)


def folder_pages(
    lab: Lab, build: DatasetBuild, writer: FolderPages, problems: dict[str, str]
) -> str | None:
    """Write the pages of a rebuilt folder; its QA status (datasets), else None."""
    qa_result: QAResult | None = None
    if build.group == "datasets":
        qa_result = lab_relative_qa(lab, read_qa(lab, build.folder, problems.get(build.name, "")))
    build.extra = writer.write(build, qa_result)
    return qa_result.status if qa_result is not None else None


def _site_pages(
    stage: Stage,
    site: pages.SiteInfo,
    summaries: list[dict[str, Any]],
    writer: FolderPages,
    credited: list[dict[str, Any]] | None = None,
) -> None:
    """The pages about the whole lab: home, search index, contributors, 404."""
    datasets = sorted(
        (s for s in summaries if s.get("group") == "datasets"),
        key=lambda s: (str(s.get("title", "")).casefold(), s.get("id", "")),
    )
    models = sorted(
        (s for s in summaries if s.get("group") == "models"),
        key=lambda s: (str(s.get("title", "")).casefold(), s.get("id", "")),
    )
    facets = {
        "tasks": sorted({t for s in datasets for t in s.get("tasks") or []}),
        "kinds": sorted({str(s["kind"]) for s in datasets if s.get("kind")}),
        "licenses": sorted({str(s["license"]) for s in datasets if s.get("license")}),
    }
    html = pages.render(
        "home.html",
        site,
        "",
        datasets=datasets,
        models=models,
        facets=facets,
        total_items=sum(int(s.get("items") or 0) for s in summaries),
        total_size=sum(int(s.get("size") or 0) for s in summaries),
    )
    stage.write_bytes("index.html", html.encode("utf-8"))
    stage.write_bytes("search-index.json", search_index_bytes([*datasets, *models]))
    html = pages.render(
        "contributors.html",
        site,
        "",
        people=contributors([*datasets, *models], credited=credited),
        datasets_count=len(datasets),
        models_count=len(models),
    )
    stage.write_bytes("contributors.html", html.encode("utf-8"))
    root = site.base_url.rstrip("/") + "/" if site.base_url else "/"
    stage.write_bytes("404.html", pages.render("404.html", site, root).encode("utf-8"))
    writer.pages_written += 4


def _static(stage: Stage, key: str, writer: FolderPages) -> None:
    """Our CSS and JS, and Leaflet copied from the xstatic-leaflet package (no CDN)."""
    marker = stage.previous_path("static/.key")
    if marker is not None and marker.is_file() and marker.read_text().strip() == key:
        stage.carry("static")
        return
    package = resources.files("eotdl.site").joinpath("static")
    for entry in package.iterdir():
        if entry.is_file() and not entry.name.startswith("."):
            stage.write_bytes(f"static/{entry.name}", entry.read_bytes())
    folder, _ = leaflet_files()
    for name in ("leaflet.js", "leaflet.css"):
        stage.write_bytes(f"static/leaflet/{name}", (folder / name).read_bytes())
    for image in sorted((folder / "images").iterdir()):
        if image.is_file():
            stage.write_bytes(f"static/leaflet/images/{image.name}", image.read_bytes())
    stage.write_bytes("static/.key", key.encode() + b"\n")
    writer.pages_written += 1


# -- nothing local leaves the machine ---------------------------------------------------------


def lab_relative_qa(lab: Lab, result: QAResult) -> QAResult:
    """The QA report with the lab's absolute path taken out of its messages (a finding names
    ``store/objects/…``, not ``/home/me/lab/store/objects/…``): QA runs where the lab is, the
    site is read anywhere."""
    prefixes = sorted({str(lab.root) + os.sep, str(lab.root.resolve()) + os.sep}, key=len)[::-1]

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            for prefix in prefixes:
                value = value.replace(prefix, "")
            return value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    result.report = clean(result.report) if result.report is not None else None
    result.message = clean(result.message)
    return result


def local_needles(lab: Lab) -> list[bytes]:
    """What must never appear in a built site: ``file:`` URLs and the lab's absolute path."""
    roots = {str(lab.root), str(lab.root.resolve())}
    found = [b"file:/"]
    for root in sorted(roots):
        found.append(root.encode("utf-8"))
        found.append(root.replace("/", "\\/").encode("utf-8"))  # as some JSON writes it
    return found


def leaked(data: bytes, needles: list[bytes]) -> bytes | None:
    """The first needle in ``data``, or None."""
    for needle in needles:
        if needle in data:
            return needle
    return None


def _leak_error(relative: str, needle: bytes) -> InputError:
    what = "a file:// URL" if needle.startswith(b"file:") else "the lab's absolute path"
    return InputError(
        f"the site would publish {what}: {relative} contains {needle.decode(errors='replace')!r}",
        hint="asset hrefs must point into the lab's store (relative, as `eotdl ingest` writes"
        " them) or be public URLs; set [store] public_url in eotdl.toml for a store outside"
        " the lab, and keep local paths out of cards and metadata",
    )


class CheckedStage(Stage):
    """A stage that refuses any JSON or HTML file holding a local path or ``file:`` URL."""

    def __init__(self, target: str | os.PathLike[str], needles: list[bytes]) -> None:
        super().__init__(target)
        self.needles = needles

    def write_bytes(self, relative: str, data: bytes) -> None:
        if relative.endswith((".json", ".html", ".geojson", ".svg")):
            needle = leaked(data, self.needles)
            if needle is not None:
                raise _leak_error(relative, needle)
        super().write_bytes(relative, data)

    def write_stream(self, relative: str, chunks: Iterable[bytes]) -> None:
        if relative.endswith((".json", ".html", ".geojson", ".svg")):
            chunks = checked_chunks(relative, chunks, self.needles)
        super().write_stream(relative, chunks)


def checked_chunks(relative: str, chunks: Iterable[bytes], needles: list[bytes]) -> Iterator[bytes]:
    """``chunks``, refused (before the last one is written) when they hold a needle, also one
    across two chunks."""
    overlap = max((len(n) for n in needles), default=1) - 1
    tail = b""
    for chunk in chunks:
        needle = leaked(tail + chunk, needles)
        if needle is not None:
            raise _leak_error(relative, needle)
        tail = (tail + chunk)[-overlap:] if overlap else b""
        yield chunk


def check_versions(site: Path, needles: list[bytes], tags: list[str]) -> None:
    """Scan the versioned trees just written (``NAME@VERSION`` tags) the same way."""
    for tag in tags:
        name, _, version = tag.partition("@")
        folder = site / "datasets" / name / "v" / version
        for path in [folder / "collection.json", *sorted(folder.glob("items/*.json"))]:
            needle = leaked(path.read_bytes(), needles) if path.is_file() else None
            if needle is not None:
                raise _leak_error(path.relative_to(site).as_posix(), needle)
