"""Published versions on the site: the dataset page's list and a page per version.

Every tagged version (``NAME@VERSION``, :mod:`eotdl.catalog.published`) gets a row (version,
date, item count, QA level, tag, links to its STAC collection and parquet under ``v/``) and a
page ``versions/<version>.html`` saying what changed from the version before it (items added,
removed and changed, paged; assets and metadata changed; class balance and split sizes before
and after; a map of the changed footprints), with the same diff as ``versions/<version>.json``
for tools and the changed footprints as ``versions/<version>.geojson``.

A tag never moves, so what a version's page needs is computed once and kept under
``.eotdl/versions/<name>/<version>.json`` in the lab.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.diff import diff_dataset
from eotdl.catalog.git import is_repo, repo_root, run_git, show, stream_lines
from eotdl.catalog.lab import Lab
from eotdl.catalog.published import Published, published_versions, yanked

#: Items of each list (added, removed, changed) per version page.
CHANGES_PER_PAGE = 100
#: Changed footprints drawn on a version's map at most.
MAX_CHANGED_FOOTPRINTS = 5000
_CACHE_FORMAT = 1


def version_tags(lab: Lab, name: str) -> bytes:
    """The tags of ``name`` (what the dataset page's version list depends on)."""
    return "\n".join(p.tag for p in published_versions(lab, name)).encode()


def version_history(lab: Lab, name: str, level: str | None = None) -> list[dict[str, Any]]:
    """Every published version of ``name``, newest first, with what changed from the one
    before it (cached per tag). ``level`` is the QA level of the current version."""
    if not is_repo(lab.root):
        return []
    versions = published_versions(lab, name)
    if not versions:
        return []
    repo = repo_root(lab.root)
    relative = (lab.datasets_dir / name).relative_to(repo).as_posix()
    current = ""
    if (lab.datasets_dir / name / "collection.json").is_file():
        current = str(lab.dataset(name).read_collection().get("version") or "")
    gone = yanked(lab, name)
    history = []
    previous: Published | None = None
    for p in versions:
        record = _cached(lab, repo, relative, p, previous)
        record["level"] = level if p.version == current and level else "—"
        record["yanked"] = gone.get(p.version, "")
        record["page"] = f"versions/{p.version}.html"
        record["json"] = f"versions/{p.version}.json"
        record["geojson"] = f"versions/{p.version}.geojson"
        record["collection"] = f"v/{p.version}/collection.json"
        record["parquet"] = f"v/{p.version}/items.parquet"
        history.append(record)
        previous = p
    return history[::-1]


def _cached(
    lab: Lab, repo: Path, relative: str, p: Published, previous: Published | None
) -> dict[str, Any]:
    key = [_CACHE_FORMAT, p.tag, previous.tag if previous else None]
    path = lab.root / ".eotdl" / "versions" / p.name / f"{p.version}.json"
    try:
        data = canonical.loads(path.read_bytes())
        if isinstance(data, dict) and data.get("key") == key:
            return dict(data["record"])
    except (OSError, ValueError, KeyError):
        pass
    record = _record(repo, relative, p, previous)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical.dumps({"key": key, "record": record}))
    return record


def _record(repo: Path, relative: str, p: Published, previous: Published | None) -> dict[str, Any]:
    """What one version's row and page show (plain JSON)."""
    date = run_git(repo, "log", "-1", "--format=%cI", p.tag, check=False).strip()
    if previous is not None:
        diff = diff_dataset(repo, relative, p.name, previous.tag, p.tag, fast=False).to_dict()
    else:
        diff = None
    interesting: dict[str, str] = {}
    if diff is not None:
        interesting.update({i: "added" for i in diff["items"]["added"]})
        interesting.update({c["id"]: "changed" for c in diff["items"]["changed"]})
    after, shapes = _stats(stream_lines(repo, p.tag, f"{relative}/items.ndjson"), interesting)
    before: dict[str, Any] = {}
    if previous is not None and diff is not None:
        removed = {i: "removed" for i in diff["items"]["removed"]}
        lines = stream_lines(repo, previous.tag, f"{relative}/items.ndjson")
        before, old_shapes = _stats(lines, removed)
        shapes += old_shapes
    collection = show(repo, p.tag, f"{relative}/collection.json")
    title = ""
    if collection:
        title = str(canonical.loads(collection).get("title") or "")
    return {
        "version": p.version,
        "previous": previous.version if previous else None,
        "tag": p.tag,
        "date": date[:10],
        "items": after.get("items", 0),
        "title": title,
        "diff": diff,
        "before": before,
        "after": after,
        "footprints": {"type": "FeatureCollection", "features": shapes[:MAX_CHANGED_FOOTPRINTS]},
    }


def _stats(
    lines: Iterator[bytes], wanted: dict[str, str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Item count, split sizes and class balance of a version; footprints of ``wanted`` ids."""
    count = 0
    splits: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    shapes: list[dict[str, Any]] = []
    for line in lines:
        if not line.strip():
            continue
        item = canonical.loads(line)
        count += 1
        props = item.get("properties") or {}
        splits[str(props.get("ml-aoi:split") or "none")] += 1
        keys = props.get("label:properties")
        if isinstance(keys, list) and keys and isinstance(props.get(keys[0]), str | int):
            classes[str(props[keys[0]])] += 1
        change = wanted.get(str(item.get("id")))
        if change and item.get("geometry") and len(shapes) < MAX_CHANGED_FOOTPRINTS:
            shapes.append(
                {
                    "type": "Feature",
                    "geometry": item["geometry"],
                    "properties": {"id": item.get("id"), "change": change},
                }
            )
    stats = {"items": count, "splits": dict(sorted(splits.items()))}
    stats["classes"] = dict(sorted(classes.items()))
    return stats, shapes


def compare(before: dict[str, int], after: dict[str, int]) -> list[tuple[str, int, int, int]]:
    """Rows ``(name, before, after, after - before)`` over both counts' names."""
    names = sorted(set(before) | set(after))
    return [
        (n, before.get(n, 0), after.get(n, 0), after.get(n, 0) - before.get(n, 0)) for n in names
    ]


def change_pages(diff: dict[str, Any] | None) -> int:
    """How many pages a version's lists of changed items take."""
    if not diff:
        return 1
    items = diff["items"]
    longest = max(len(items["added"]), len(items["removed"]), len(items["changed"]), 1)
    return (longest + CHANGES_PER_PAGE - 1) // CHANGES_PER_PAGE


def page_slice(diff: dict[str, Any] | None, page: int) -> dict[str, list[Any]]:
    """The added, removed and changed items shown on page ``page`` (1-based)."""
    if not diff:
        return {"added": [], "removed": [], "changed": []}
    start = (page - 1) * CHANGES_PER_PAGE
    items = diff["items"]
    return {k: items[k][start : start + CHANGES_PER_PAGE] for k in ("added", "removed", "changed")}


def page_name(version: str, page: int) -> str:
    return f"{version}.html" if page == 1 else f"{version}-page-{page}.html"
