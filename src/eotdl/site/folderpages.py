"""The pages of one dataset or model folder: its page, item lists, item pages, map data.

Called by the build for folders whose inputs changed; writes into the stage beside the STAC
files the tree writer put there, re-rendering only pages whose content changed (the digest of
each list page is remembered) and hard-linking the other pages from the previous site.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import posixpath
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.card import Card
from eotdl.catalog.hrefkeys import site_object_key
from eotdl.catalog.lab import Lab
from eotdl.catalog.published import published_versions
from eotdl.catalog.staging import Stage
from eotdl.catalog.tree import ROWS, DatasetBuild, ItemEntry, ItemRows, quote_name, safe_file_name
from eotdl.errors import InputError
from eotdl.site import pages
from eotdl.site.gallery import MAX_CLASSES, Gallery
from eotdl.site.gallery import row as _row
from eotdl.site.itempasses import ItemPasses, first_pass, patched_passes, sampled_boxes
from eotdl.site.markdown import local_links, render_markdown
from eotdl.site.modelpages import model_view
from eotdl.site.qareport import QAResult
from eotdl.site.snippets import bibtex, citation_year, download_snippets, site_root
from eotdl.site.summary import Footprints, dataset_summary
from eotdl.site.thumbnail import thumbnail_svg
from eotdl.site.versionpages import (
    change_pages,
    compare,
    page_name,
    page_slice,
    version_history,
)

PAGE_SIZE = 100
#: Datasets with at most this many items get one HTML page per item; bigger ones list pages.
ITEM_PAGES_MAX = 1000
PREVIEW_ROWS = 10
MAX_FINDINGS = 60
#: The key of what the item passes remember in a build's memo.
ROWS_MEMO = "rows"
_THUMB_BOXES = 5000
#: Files a card may link to that are copied from the dataset folder into the site.
CARD_FILES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf")
CARD_FILE_MAX = 10 * 1024 * 1024
#: Names of the site's own files in a dataset folder, which a card's files may not replace.
_RESERVED = ("index.html", "collection.json", "items.parquet", "footprints.json", "thumbnail.svg")


@dataclass
class FolderPages:
    """Writes the pages of the folders of one build."""

    lab: Lab
    stage: Stage
    site: pages.SiteInfo
    dataset_names: frozenset[str]
    pages_written: int = 0
    pages_linked: int = 0
    warnings: list[str] = field(default_factory=list)

    def write(self, build: DatasetBuild, qa: QAResult | None) -> dict[str, Any]:
        """Write every page of ``build``'s folder; return its summary."""
        rel = build.relative_dir
        card = _read_card(build)
        # build.entries streams the items' facts from the build's rows file, twice: the first
        # pass keeps aggregates and bounded samples, the second writes the list pages and
        # fills what needed the first (the map's grid, the gallery's examples); a build that
        # changed a few items (none added or removed) parses only the blocks of rows they are
        # in and patches what the previous build remembered (eotdl.site.itempasses)
        thumbnail = _declared_thumbnail(build.collection) or f"{rel}/thumbnail.svg"
        item_pages = build.count <= ITEM_PAGES_MAX
        passes = self._passes(build, item_pages)
        if not thumbnail.startswith("http"):
            self._thumbnail(build, passes)
        facts, shapes, examples = passes.facts, passes.shapes, passes.examples
        level = qa.level if qa is not None else None
        summary = dataset_summary(
            build.group, build.name, build.collection, card, facts, level, thumbnail
        )
        if passes.changed_lines is None:
            self._list_pages(build, summary, item_pages, _read_pages(build, shapes, examples))
        else:
            self._list_pages(build, summary, item_pages, _changed_pages(passes))
        memo = passes.memo()
        if memo is not None:
            build.memo[ROWS_MEMO] = memo
        data = shapes.data()
        self._write(f"{rel}/footprints.json", canonical.dumps(data) + b"\n")
        qa_view = self._qa(rel, qa) if build.group == "datasets" else _no_qa()
        versions: list[dict[str, Any]] = []
        if build.group == "datasets":
            versions = version_history(self.lab, build.name, level)
            self._version_pages(build, summary, versions)
        self._dataset_page(
            build,
            summary,
            card,
            qa_view,
            item_pages,
            data["kind"] == "grid",
            versions,
            examples.shown(),
        )
        if item_pages:
            self._item_pages(build, summary)
        return summary

    # -- writing ------------------------------------------------------------------------

    def _write(self, relative: str, data: bytes) -> None:
        self.stage.write_bytes(relative, data)
        self.pages_written += 1

    def _render(self, relative: str, template: str, **context: Any) -> None:
        root = "../" * relative.count("/")
        public = self.lab.config.store.public_url.rstrip("/")
        objects_root = f"{public}/" if public else root
        html = pages.render(template, self.site, root, objects_root=objects_root, **context)
        self._write(relative, html.encode("utf-8"))

    # -- the passes over the items ---------------------------------------------------------

    def _passes(self, build: DatasetBuild, item_pages: bool) -> ItemPasses:
        """The first pass over the items (the second, too, when only a few rows changed)."""
        stride = _thumb_stride(build)
        if build.status == "incremental" and not build.added and not build.removed:
            rel = build.relative_dir
            patched = patched_passes(
                build.entries,
                build.previous_memo.get(ROWS_MEMO),
                self.stage.previous_path(f"{rel}/{ROWS}"),
                self.stage.previous_path(f"{rel}/footprints.json"),
                item_pages,
                stride,
            )
            if patched is not None:
                return patched
        return first_pass(build.entries, item_pages, stride)

    def _thumbnail(self, build: DatasetBuild, passes: ItemPasses) -> None:
        relative = f"{build.relative_dir}/thumbnail.svg"
        boxes = passes.boxes
        if boxes is None:  # the same boxes as last time
            if self.stage.link_previous(relative):
                self.pages_linked += 1
                return
            assert isinstance(build.entries, ItemRows)
            boxes = sampled_boxes(build.entries, _thumb_stride(build))
        self._write(relative, thumbnail_svg(boxes, build.name).encode())

    # -- the dataset page ---------------------------------------------------------------

    def _dataset_page(
        self,
        build: DatasetBuild,
        summary: dict[str, Any],
        card: Card,
        qa: dict[str, Any],
        item_pages: bool,
        grid: bool,
        versions: list[dict[str, Any]],
        examples: dict[str, list[tuple[str, list]]],
    ) -> None:
        rel = build.relative_dir
        root_url = site_root(self.site.base_url)
        collection_id = str(build.collection.get("id") or build.name)
        total = max(sum(summary["splits"].values()), 1)
        splits = [
            (name, count, round(100 * count / total, 1))
            for name, count in sorted(summary["splits"].items(), key=lambda kv: -kv[1])
        ]
        classes, classes_more = _classes(qa.get("classes") or {})
        is_model = build.group == "models"
        card_html = render_markdown(card.body) if card.body.strip() else ""
        self._card_files(build, card_html)
        citation = bibtex(
            build.name,
            summary["title"],
            summary["authors"],
            f"{root_url}{rel}/",
            summary["version"],
            card.doi,
            summary["license"],
            citation_year(card.extra, build.collection),
        )
        if is_model:
            first = next(build.folder.iter_items(), None)
            view = model_view(first, build.name, root_url, self.site.install)
            for chart in view["curves"]:  # numbers only (modelpages.curve_svg)
                chart["svg"] = pages.safe_html(chart["svg"])
            self._render(
                f"{rel}/index.html",
                "model.html",
                d=summary,
                m=view,
                card_html=pages.safe_html(card_html) if card_html else "",
                trained_on=self._trained_on(view["dataset"], self._derived(build)),
                assets=_assets(first or {}),
                bibtex=citation,
            )
            return
        self._render(
            f"{rel}/index.html",
            "dataset.html",
            d=summary,
            is_model=is_model,
            card_html=pages.safe_html(card_html) if card_html else "",
            doi=card.doi,
            qa=qa,
            splits=splits,
            classes=classes,
            classes_more=classes_more,
            footprints_grid=grid,
            preview=[
                _row(e, n, item_pages)
                for n, e in enumerate(itertools.islice(build.entries, PREVIEW_ROWS))
            ],
            gallery=examples,
            has_parquet=True,
            versions=versions,
            snippets=download_snippets(
                build.group, build.name, collection_id, root_url, True, self.site.install
            ),
            bibtex=citation,
            original_citation=card.citation,
            mlm=_mlm(build) if is_model else [],
            derived=self._derived(build) if is_model else [],
        )

    def _version_pages(
        self, build: DatasetBuild, summary: dict[str, Any], versions: list[dict[str, Any]]
    ) -> None:
        """A page per published version (paged lists of changes), its diff as JSON beside it
        and the changed footprints as GeoJSON."""
        rel = build.relative_dir
        for record in versions:
            version = record["version"]
            diff = record["diff"]
            data = {
                "dataset": build.name,
                "version": version,
                "previous": record["previous"],
                "tag": record["tag"],
                "date": record["date"],
                "diff": diff,
                "before": record["before"],
                "after": record["after"],
            }
            self._write(f"{rel}/versions/{version}.json", canonical.dumps_pretty(data))
            self._write(
                f"{rel}/versions/{version}.geojson", canonical.dumps(record["footprints"]) + b"\n"
            )
            total = change_pages(diff)
            for page in range(1, total + 1):
                self._render(
                    f"{rel}/versions/{page_name(version, page)}",
                    "version.html",
                    d=summary,
                    v=record,
                    diff=diff,
                    shown=page_slice(diff, page),
                    page=page,
                    pages=total,
                    page_names=[page_name(version, n) for n in range(1, total + 1)],
                    splits=compare(record["before"].get("splits", {}), record["after"]["splits"]),
                    classes=compare(
                        record["before"].get("classes", {}), record["after"]["classes"]
                    ),
                    item_file=safe_file_name,
                )

    def _card_files(self, build: DatasetBuild, card_html: str) -> None:
        """Copy the images and documents the card links to from the dataset folder."""
        root = build.folder.path.resolve()
        for relative in local_links(card_html):
            if relative.split("/")[0] in ("items", "qa") or relative in _RESERVED:
                continue
            path = (root / relative).resolve()
            if not path.is_relative_to(root) or path.suffix.lower() not in CARD_FILES:
                continue
            if not path.is_file() or path.stat().st_size > CARD_FILE_MAX:
                self.warnings.append(
                    f"{build.relative_dir}/README.md links to {relative}, which is not a file"
                    f" of the dataset folder (at most {CARD_FILE_MAX // 2**20} MiB)"
                )
                continue
            self._write(f"{build.relative_dir}/{relative}", path.read_bytes())

    def _qa(self, rel: str, qa: QAResult | None) -> dict[str, Any]:
        """The QA report as the page shows it; the report and its plots are copied beside it."""
        if qa is None or qa.report is None:
            view = _no_qa()
            view["message"] = qa.message if qa is not None else "QA has not been run"
            return view
        report = qa.report
        assert qa.folder is not None
        self._write(f"{rel}/qa/qa.json", canonical.dumps_pretty(report))
        plots = []
        for name, relative in sorted(qa.plots.items()):
            target = f"qa/{relative}"
            self._write(f"{rel}/{target}", (qa.folder / relative).read_bytes())
            plots.append({"src": target, "caption": _caption(name)})
        summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
        assert isinstance(summary, dict)
        groups = _group_findings([f for f in report.get("findings") or [] if isinstance(f, dict)])
        eda = report.get("eda") if isinstance(report.get("eda"), dict) else {}
        assert isinstance(eda, dict)
        bias = eda.get("bias") if isinstance(eda.get("bias"), dict) else {}
        assert isinstance(bias, dict)
        classes = eda.get("classes") if isinstance(eda.get("classes"), dict) else {}
        assert isinstance(classes, dict)
        band_fields, bands = _bands(eda.get("bands"))
        return {
            "status": qa.status,
            "message": qa.message,
            "report": True,
            "summary": {
                "errors": _int(summary.get("errors")),
                "warnings": _int(summary.get("warnings")),
                "infos": _int(summary.get("infos")),
                "checks": len(summary.get("checks_run") or []),
            },
            "reasons": [str(r) for r in report.get("level_reasons") or []],
            "findings": groups[:MAX_FINDINGS],
            "more": sum(g["count"] for g in groups[MAX_FINDINGS:]),
            "plots": plots,
            "flags": [_flag(f) for f in bias.get("flags") or [] if isinstance(f, dict)],
            "bias": [
                (_caption(k), _short(bias[k]))
                for k in ("class_imbalance_ratio", "class_entropy", "geo_top10_share")
                if bias.get(k) is not None
            ],
            "classes": classes.get("counts") if isinstance(classes.get("counts"), dict) else {},
            "bands": bands,
            "band_fields": band_fields,
        }

    def _trained_on(self, dataset: dict[str, str], derived: list[dict[str, str]]) -> dict[str, str]:
        """The dataset version a model was trained on: its version page when published."""
        name, version = dataset.get("name", ""), dataset.get("version", "")
        if name in self.dataset_names:
            label = f"{name} {version}".strip()
            published = {p.version for p in published_versions(self.lab, name)}
            if version and version in published:
                return {"label": label, "href": f"../../datasets/{name}/versions/{version}.html"}
            return {"label": label, "href": f"../../datasets/{name}/"}
        if derived:
            return {
                "label": derived[0]["name"],
                "href": derived[0]["href"] and f"../../{derived[0]['href']}",
            }
        return {"label": f"{name} {version}".strip(), "href": ""}

    def _derived(self, build: DatasetBuild) -> list[dict[str, str]]:
        """The datasets a model was trained on (``derived_from`` links), linked when in the lab."""
        links = list(build.collection.get("links") or [])
        first = next(build.folder.iter_items(), None)
        if first is not None:
            links += first.get("links") or []
        found: list[dict[str, str]] = []
        for link in links:
            if not isinstance(link, dict) or link.get("rel") != "derived_from":
                continue
            href = str(link.get("href") or "")
            name, page = self._dataset_of(build, href)
            entry = {"name": str(link.get("title") or name or href), "href": page}
            if entry not in found:
                found.append(entry)
        return found

    def _dataset_of(self, build: DatasetBuild, href: str) -> tuple[str, str]:
        parts = urllib.parse.urlsplit(href)
        if parts.scheme in ("http", "https"):
            return href, ""
        if parts.scheme:
            return href, ""
        path = posixpath.normpath(
            posixpath.join(build.folder.path.as_posix(), urllib.parse.unquote(parts.path))
        )
        try:
            relative = posixpath.relpath(path, self.lab.root.as_posix())
        except ValueError:
            return href, ""
        segments = relative.split("/")
        if len(segments) >= 2 and segments[0] == "datasets" and segments[1] in self.dataset_names:
            return segments[1], f"datasets/{segments[1]}/"
        return href, ""

    # -- item lists and item pages ------------------------------------------------------

    def _list_pages(
        self,
        build: DatasetBuild,
        summary: dict[str, Any],
        item_pages: bool,
        pages_of: Iterator[tuple[bool, Callable[[], list[ItemEntry]]]],
    ) -> None:
        """The pages listing the items; ``pages_of`` gives each page in turn: whether an item
        of it changed, and its items (read to the end, whoever watches the stream sees every
        item)."""
        rel = build.relative_dir
        count = len(build.entries)
        pages_count = max(1, math.ceil(count / PAGE_SIZE))
        previous = build.previous_memo.get("list_pages") or {}
        digests: dict[str, str] = {}
        # the same ids in the same order as last time (none added or removed): a page none of
        # whose items changed is the page it was, without making its rows again
        same_ids = build.status == "incremental" and not build.added and not build.removed
        for page in range(1, pages_count + 1):
            changed, chunk_of = next(pages_of)
            name = "index.html" if page == 1 else f"page-{page}.html"
            relative = f"{rel}/items/{name}"
            if same_ids and name in previous and not changed:
                if self.stage.keep_previous(relative):  # the last build wrote it
                    digests[name] = previous[name]
                    self.pages_linked += 1
                    continue
            chunk = chunk_of()
            rows = [_row(e, (page - 1) * PAGE_SIZE + i, item_pages) for i, e in enumerate(chunk)]
            digest = hashlib.sha256(
                canonical.dumps([page, pages_count, count, item_pages, rows])
            ).hexdigest()[:24]
            digests[name] = digest
            if previous.get(name) == digest and self.stage.link_previous(relative):
                self.pages_linked += 1
                continue
            self._render(
                relative,
                "items.html",
                d=summary,
                rows=rows,
                page=page,
                pages=pages_count,
                per_page=PAGE_SIZE,
                item_pages=item_pages,
                facets=_facets(rows),
            )
        for _ in pages_of:
            pass
        for name in sorted(set(previous) - set(digests)):  # fewer pages than last time
            self.stage.drop(f"{rel}/items/{name}")
        build.memo["list_pages"] = digests

    def _item_pages(self, build: DatasetBuild, summary: dict[str, Any]) -> None:
        rel = build.relative_dir
        had_pages = bool(build.previous_memo.get("item_pages"))
        missing: set[str] = set()
        for entry in build.entries:
            if entry.changed and entry.item is not None:
                self._item_page(rel, summary, entry, entry.item)
            elif had_pages and self.stage.link_previous(f"{rel}/items/{_file(entry.id, '.html')}"):
                self.pages_linked += 1
            else:
                missing.add(entry.id)
        if missing:
            by_id = {e.id: e for e in build.entries}
            for item in build.folder.iter_items():
                item_id = str(item.get("id"))
                if item_id in missing:
                    self._item_page(rel, summary, by_id[item_id], item)
        build.memo["item_pages"] = True

    def _item_page(
        self, rel: str, summary: dict[str, Any], entry: ItemEntry, item: dict[str, Any]
    ) -> None:
        facts = entry.facts if isinstance(entry.facts, list) else [None] * 5
        props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        assert isinstance(props, dict)
        self._render(
            f"{rel}/items/{_file(entry.id, '.html')}",
            "item.html",
            d=summary,
            item_id=entry.id,
            json_href=quote_name(_file(entry.id, ".json")),
            start=facts[1],
            end=facts[2],
            split=facts[3],
            size=facts[4],
            bbox=facts[0],
            assets=_assets(item),
            properties=sorted(props.items()),
            groups=property_groups(props),
            preview=facts[5] if len(facts) > 5 else None,
            label=facts[6] if len(facts) > 6 else None,
        )


# -- helpers ------------------------------------------------------------------------------


def _file(item_id: str, suffix: str) -> str:
    return f"{item_id}{suffix}"


def _thumb_stride(build: DatasetBuild) -> int:
    return max(1, len(build.entries) // _THUMB_BOXES)


def _read_pages(
    build: DatasetBuild, shapes: Footprints, examples: Gallery
) -> Iterator[tuple[bool, Callable[[], list[ItemEntry]]]]:
    """The list pages of a full second pass: every item read (binned into the map's grid,
    picked for the gallery), a page at a time, then the rest."""

    def second_pass() -> Iterator[ItemEntry]:
        for entry in build.entries:
            if shapes.grid:
                shapes.bin(entry)
            examples.pick(entry)
            yield entry

    entries = second_pass()
    while True:
        chunk = list(itertools.islice(entries, PAGE_SIZE))
        yield any(e.changed for e in chunk), functools.partial(list, chunk)
        if not chunk:
            for _ in entries:
                pass
            return


def _changed_pages(passes: ItemPasses) -> Iterator[tuple[bool, Callable[[], list[ItemEntry]]]]:
    """The list pages of an incremental pass: a page is read only when asked for."""
    changed = {line // PAGE_SIZE for line in passes.changed_lines or ()}
    count = passes.facts.count
    for page in range(max(1, math.ceil(count / PAGE_SIZE))):
        first = page * PAGE_SIZE
        end = min(count, first + PAGE_SIZE)
        yield page in changed, functools.partial(passes.entries_between, first, end)


def _facets(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The classes and splits of a list page's rows (its client-side filters)."""
    return {
        "classes": sorted({str(r["label"]) for r in rows if r.get("label")}),
        "splits": sorted({str(r["split"]) for r in rows if r.get("split")}),
    }


#: Property groups of the item page, by the prefix of the property name.
EXTENSION_GROUPS = {
    "label": "Label",
    "ml-aoi": "ML AOI (splits)",
    "eo": "Electro-optical (eo)",
    "proj": "Projection",
    "file": "File",
    "raster": "Raster",
    "mlm": "Machine-learning model (mlm)",
    "processing": "Processing",
    "sat": "Satellite",
    "view": "View geometry",
}


def property_groups(props: dict[str, Any]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """An item's properties grouped by extension (core ones first, then by group name)."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for key, value in sorted(props.items()):
        prefix = key.split(":", 1)[0] if ":" in key else ""
        name = EXTENSION_GROUPS.get(prefix, prefix or "Core") if prefix else "Core"
        groups.setdefault(name, []).append((key, value))
    core = groups.pop("Core", [])
    return ([("Core", core)] if core else []) + sorted(groups.items())


def card_files(folder_path: Path) -> list[Path]:
    """Files of a dataset folder a card may show (their changes rebuild its pages)."""
    found: list[Path] = []
    for current, dirs, files in os.walk(folder_path):
        depth = len(Path(current).relative_to(folder_path).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < 2 else []
        found += [Path(current) / f for f in sorted(files) if f.lower().endswith(CARD_FILES)]
        if len(found) > 200:
            break
    return found[:200]


def _read_card(build: DatasetBuild) -> Card:
    if not build.folder.card_path.exists():
        return Card(title=str(build.collection.get("title") or ""), kind="")
    try:
        return build.folder.read_card()
    except InputError:
        return Card(kind="")


def _declared_thumbnail(collection: dict[str, Any]) -> str:
    """A thumbnail the collection declares at a public http(s) URL, else ""."""
    assets = collection.get("assets")
    if not isinstance(assets, dict):
        return ""
    for key, asset in assets.items():
        if not isinstance(asset, dict):
            continue
        roles = asset.get("roles") or []
        href = asset.get("href")
        if (key == "thumbnail" or "thumbnail" in roles) and isinstance(href, str):
            if href.startswith(("https://", "http://")):
                return href
    return ""


def _no_qa() -> dict[str, Any]:
    return {
        "status": "not-run",
        "message": "QA has not been run on this dataset",
        "report": False,
        "summary": {"errors": 0, "warnings": 0, "infos": 0, "checks": 0},
        "reasons": [],
        "findings": [],
        "more": 0,
        "plots": [],
        "flags": [],
        "bias": [],
        "classes": {},
        "bands": [],
        "band_fields": [],
    }


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | dict):
        return canonical.dumps(value).decode()[:200]
    return str(value)


def _caption(name: str) -> str:
    return str(name).replace("_", " ").replace("-", " ").capitalize()


def _group_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings grouped by severity and code: a count, the first message and fix, examples."""
    order = {"error": 0, "warning": 1, "info": 2}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        severity, code = str(f.get("severity") or ""), str(f.get("code") or "")
        group = groups.get((severity, code))
        if group is None:
            group = groups[(severity, code)] = {
                "severity": severity,
                "code": code,
                "count": 0,
                "message": _short(f.get("message") or ""),
                "fix": _short(f.get("fix") or ""),
                "objects": [],
            }
        group["count"] += 1
        if len(group["objects"]) < 3 and f.get("object"):
            group["objects"].append(_short(f["object"]))
    return sorted(groups.values(), key=lambda g: (order.get(g["severity"], 3), -g["count"]))


def _flag(f: dict[str, Any]) -> dict[str, str]:
    return {
        k: _short(f.get(k)) if f.get(k) is not None else ""
        for k in ("code", "value", "threshold", "explanation")
    }


def _classes(counts: dict[str, Any]) -> tuple[list[tuple[str, int, float]], int]:
    pairs = [(str(k), _int(v)) for k, v in counts.items()]
    pairs.sort(key=lambda kv: (-kv[1], kv[0]))
    top = max((c for _, c in pairs), default=0) or 1
    shown = [(name, count, round(100 * count / top, 1)) for name, count in pairs[:MAX_CLASSES]]
    return shown, max(0, len(pairs) - MAX_CLASSES)


#: The band table's columns: header, key in the EDA's band record (percentiles: ``p2``…).
BAND_COLUMNS = (
    ("Band", "band"),
    ("Pixels", "count"),
    ("Nodata", "nodata_share"),
    ("Min", "min"),
    ("Max", "max"),
    ("Mean", "mean"),
    ("Std", "std"),
    ("P2", "p2"),
    ("P25", "p25"),
    ("Median", "p50"),
    ("P75", "p75"),
    ("P98", "p98"),
)


def _bands(bands: Any) -> tuple[list[str], list[list[str]]]:
    """Per-band statistics as a table with readable headers and numbers."""
    if not isinstance(bands, list) or not bands or not all(isinstance(b, dict) for b in bands):
        return [], []
    rows = []
    for band in bands[:50]:
        percentiles = band.get("percentiles") if isinstance(band.get("percentiles"), dict) else {}
        assert isinstance(percentiles, dict)
        values = {**band, **percentiles}
        name = " ".join(str(band[k]) for k in ("asset", "name") if band.get(k) not in (None, ""))
        values["band"] = name or str(band.get("band") or "")
        row = []
        for _, key in BAND_COLUMNS:
            value = values.get(key)
            if key == "band":
                row.append(str(value))
            elif key == "nodata_share":
                row.append(readable_share(value))
            else:
                row.append(readable_number(value))
        rows.append(row)
    return [h for h, _ in BAND_COLUMNS], rows


def readable_number(value: Any) -> str:
    """A statistic as people read it: ``1,620``, ``931.2``, ``0.0312`` (never ``1.62e+03``)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(float(value))
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:,.1f}"
    if magnitude >= 1:
        return f"{value:,.2f}"
    if magnitude >= 0.001:
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def readable_share(value: Any) -> str:
    """A share (0..1) as a percentage."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "—"
    percent = 100 * float(value)
    if percent == 0 or percent >= 1:
        return f"{percent:.1f} %"
    return f"{percent:.2f} %" if percent >= 0.01 else "< 0.01 %"


def _assets(item: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    assets = item.get("assets")
    if not isinstance(assets, dict):
        return found
    for key, asset in sorted(assets.items()):
        if not isinstance(asset, dict):
            continue
        href = str(asset.get("href") or "")
        size = asset.get("file:size")
        found.append(
            {
                "key": key,
                "title": str(asset.get("title") or ""),
                "type": str(asset.get("type") or ""),
                "roles": ", ".join(str(r) for r in asset.get("roles") or []),
                "size": size if isinstance(size, int) else None,
                "href": href,
                "object": site_object_key(href) or "",
                "link": href.startswith(("https://", "http://")),
            }
        )
    return found


def _mlm(build: DatasetBuild) -> list[tuple[str, Any]]:
    """The MLM (and other ``mlm:``) properties of a model's first item and its collection."""
    first = next(build.folder.iter_items(), None)
    props: dict[str, Any] = {}
    for source in (build.collection, (first or {}).get("properties") or {}):
        if isinstance(source, dict):
            props.update({k: v for k, v in source.items() if k.startswith("mlm:")})
    summaries = build.collection.get("summaries")
    if isinstance(summaries, dict):
        props.update(
            {k: v for k, v in summaries.items() if k.startswith("mlm:") and k not in props}
        )
    return sorted(props.items())
