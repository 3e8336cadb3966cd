"""Published versions: git tags ``NAME@VERSION``, each readable forever at its own path.

``tag_versions`` tags the current version of every dataset (``eotdl publish --tag``);
``write_versions`` puts every tagged version into the site at
``datasets/<name>/v/<version>/`` (collection, items, items.parquet), written once and then
kept, and ties the versions together with the version extension's links (``latest-version``,
``predecessor-version``, ``successor-version``) and its ``deprecated`` flag for yanked ones.
Yanks are listed in ``datasets/<name>/yanked.yaml`` (version: reason); bytes are never deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog import canonical
from eotdl.catalog.git import create_tag, is_repo, repo_root, run_git, show, stream_lines, tags
from eotdl.catalog.lab import Lab, check_name
from eotdl.catalog.store import SiteHrefs
from eotdl.catalog.tree import safe_file_name
from eotdl.catalog.versions import parse_version
from eotdl.catalog.vocabulary import VERSION_EXT
from eotdl.catalog.yamlfile import load_yaml
from eotdl.errors import InputError, LabError

YANKED = "yanked.yaml"


@dataclass(frozen=True)
class Published:
    """One tagged version of a dataset."""

    name: str
    version: str
    tag: str


def published_versions(lab: Lab, name: str) -> list[Published]:
    """The tagged versions of dataset ``name``, oldest first."""
    if not is_repo(lab.root):
        return []
    found = []
    for tag in tags(lab.root, f"{name}@*"):
        version = tag.split("@", 1)[1]
        try:
            parse_version(version)
        except InputError:
            continue
        found.append(Published(name, version, tag))
    return sorted(found, key=lambda p: parse_version(p.version))


def yanked(lab: Lab, name: str) -> dict[str, str]:
    """version -> reason for the yanked versions of ``name``."""
    path = lab.datasets_dir / name / YANKED
    if not path.is_file():
        return {}
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path), "yanked list") or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected `VERSION: reason` lines")
    return {str(k): str(v) for k, v in data.items()}


def version_list(lab: Lab, name: str) -> list[dict[str, Any]]:
    """The published versions of ``name``, oldest first: ``version``, ``tag`` and ``yanked``
    (the reason, or None)."""
    gone = yanked(lab, name)
    return [
        {"version": p.version, "tag": p.tag, "yanked": gone.get(p.version)}
        for p in published_versions(lab, name)
    ]


def yank(lab: Lab, name: str, version: str, reason: str) -> Path:
    """Mark a published version deprecated (its bytes and pages stay)."""
    check_name(name)
    known = [p.version for p in published_versions(lab, name)]
    if version not in known:
        raise InputError(
            f"{name}@{version} was never published",
            hint=f"published versions: {', '.join(known) or 'none'}",
        )
    entries = yanked(lab, name)
    entries[version] = reason or "yanked"
    path = lab.datasets_dir / name / YANKED
    write_bytes_atomic(path, yaml.safe_dump(entries, sort_keys=True).encode("utf-8"))
    return path


def tag_versions(lab: Lab) -> list[str]:
    """Tag ``NAME@VERSION`` at HEAD for every dataset whose current version has no tag yet."""
    if not is_repo(lab.root):
        raise LabError(
            f"{lab.root} is not a git repository", hint="versions are git tags: `git init`"
        )
    repo = repo_root(lab.root)
    made = []
    for folder in lab.datasets():
        version = str(folder.read_collection().get("version") or "")
        parse_version(version)
        tag = f"{folder.name}@{version}"
        if tag in tags(repo, tag):
            continue
        relative = folder.path.relative_to(repo).as_posix()
        dirty = run_git(repo, "status", "--porcelain", "--", relative).strip()
        if dirty:
            raise LabError(
                f"datasets/{folder.name} has uncommitted changes; a tag must name committed files",
                hint="commit (or merge) first, then publish with --tag",
            )
        create_tag(repo, tag, f"{folder.name} version {version}")
        made.append(tag)
    return made


def write_versions(lab: Lab, site: str | os.PathLike[str] | None = None) -> list[str]:
    """Write every tagged version into the built site (missing ones only) and link them all."""
    root = Path(site) if site is not None else lab.site_dir
    written: list[str] = []
    if not is_repo(lab.root) or not (root / "catalog.json").is_file():
        return written
    repo = repo_root(lab.root)
    hrefs = SiteHrefs(lab, root.resolve())
    for folder in lab.datasets():
        versions = published_versions(lab, folder.name)
        if not versions:
            continue
        gone = yanked(lab, folder.name)
        site_dir = root / "datasets" / folder.name
        relative = folder.path.relative_to(repo).as_posix()
        for p in versions:
            target = site_dir / "v" / p.version
            if not _is_current(target):
                _write_version(repo, relative, folder.path, p, target, hrefs)
                written.append(p.tag)
        names = [p.version for p in versions]
        for index, p in enumerate(versions):
            _link_version(site_dir / "v" / p.version / "collection.json", names, index, gone)
        _link_latest(site_dir / "collection.json", names)
    return written


#: Bumped when what a version folder holds changes: older folders are written again.
VERSION_FORMAT = 2
VERSION_MARKER = ".eotdl-version"


def _write_version(
    repo: Path, relative: str, lab_dir: Path, p: Published, target: Path, hrefs: SiteHrefs
) -> None:
    """Materialise one tagged version (immutable once written; built beside, then renamed).

    Hrefs follow the site's rule (:class:`SiteHrefs`): item files have them relative to
    ``items/``, ``items.parquet`` relative to the version folder, as a reader resolves them.
    """
    from eotdl.catalog.geoparquet import MEDIA_TYPE, write_items_parquet

    data = show(repo, p.tag, f"{relative}/collection.json")
    if data is None:
        raise LabError(f"tag {p.tag} has no {relative}/collection.json")
    collection = canonical.loads(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{p.version}.", dir=target.parent))
    items_dir = target / "items"
    try:
        (staging / "items").mkdir()
        links = []
        rows = []
        for line in stream_lines(repo, p.tag, f"{relative}/items.ndjson"):
            if not line.strip():
                continue
            source = canonical.loads(line)
            name = safe_file_name(str(source.get("id")))
            kept = [
                link
                for link in source.get("links") or []
                if isinstance(link, dict)
                and link.get("rel") not in ("root", "parent", "collection", "self")
            ]
            item = dict(source)
            item["links"] = [
                {"rel": "root", "href": "../../../../../catalog.json", "type": "application/json"},
                {"rel": "parent", "href": "../collection.json", "type": "application/json"},
                {"rel": "collection", "href": "../collection.json", "type": "application/json"},
                *_rewritten(kept, lab_dir, items_dir, hrefs),
            ]
            item["assets"] = _assets(source, lab_dir, items_dir, hrefs)
            (staging / "items" / name).write_bytes(canonical.dumps_pretty(item))
            links.append({"rel": "item", "href": f"./items/{name}", "type": "application/json"})
            row = dict(source)
            row["links"] = [
                {"rel": "root", "href": "../../../../catalog.json", "type": "application/json"},
                {"rel": "collection", "href": "./collection.json", "type": "application/json"},
                *_rewritten(kept, lab_dir, target, hrefs),
            ]
            row["assets"] = _assets(source, lab_dir, target, hrefs)
            rows.append(row)
        write_items_parquet(iter(rows), staging / "items.parquet")
        assets = _assets(collection, lab_dir, target, hrefs)
        assets["geoparquet-items"] = {
            "href": "./items.parquet",
            "type": MEDIA_TYPE,
            "title": "Every item of this version as stac-geoparquet",
            "roles": ["stac-items"],
        }
        collection["assets"] = assets
        collection["links"] = [
            {"rel": "root", "href": "../../../../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../../collection.json", "type": "application/json"},
            *_rewritten(
                [
                    link
                    for link in collection.get("links") or []
                    if isinstance(link, dict)
                    and link.get("rel") not in ("root", "parent", "child", "item", "self")
                    and not str(link.get("rel", "")).endswith("-version")
                ],
                lab_dir,
                target,
                hrefs,
            ),
            *links,
        ]
        (staging / "collection.json").write_bytes(canonical.dumps_pretty(collection))
        (staging / VERSION_MARKER).write_text(f"{VERSION_FORMAT}\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _rewritten(
    links: list[dict[str, Any]], source: Path, target: Path, hrefs: SiteHrefs
) -> list[dict[str, Any]]:
    return [
        {**link, "href": hrefs.href(link["href"], source, target)}
        if isinstance(link.get("href"), str)
        else link
        for link in links
    ]


def _assets(obj: dict[str, Any], source: Path, target: Path, hrefs: SiteHrefs) -> dict[str, Any]:
    assets = obj.get("assets")
    if not isinstance(assets, dict):
        return {}
    return {
        key: {**asset, "href": hrefs.href(asset["href"], source, target)}
        if isinstance(asset, dict) and isinstance(asset.get("href"), str)
        else asset
        for key, asset in assets.items()
    }


def _is_current(target: Path) -> bool:
    marker = target / VERSION_MARKER
    try:
        return (target / "collection.json").is_file() and int(
            marker.read_text().strip()
        ) == VERSION_FORMAT
    except (OSError, ValueError):
        return False


def _version_fields(collection: dict[str, Any]) -> None:
    extensions = collection.setdefault("stac_extensions", [])
    if VERSION_EXT not in extensions:
        extensions.append(VERSION_EXT)


def _link_version(path: Path, names: list[str], index: int, gone: dict[str, str]) -> None:
    collection = canonical.loads(path.read_bytes())
    _version_fields(collection)
    version = names[index]
    collection["version"] = version
    if version in gone:
        collection["deprecated"] = True
    else:
        collection.pop("deprecated", None)
    links = [link for link in collection.get("links", []) if not link["rel"].endswith("-version")]
    links.append(
        {
            "rel": "latest-version",
            "href": "../../collection.json",
            "type": "application/json",
            "title": names[-1],
        }
    )
    if index > 0:
        links.append(
            {
                "rel": "predecessor-version",
                "type": "application/json",
                "href": f"../{names[index - 1]}/collection.json",
                "title": names[index - 1],
            }
        )
    if index + 1 < len(names):
        links.append(
            {
                "rel": "successor-version",
                "type": "application/json",
                "href": f"../{names[index + 1]}/collection.json",
                "title": names[index + 1],
            }
        )
    collection["links"] = links
    path.write_bytes(canonical.dumps_pretty(collection))


def _link_latest(path: Path, names: list[str]) -> None:
    if not path.is_file():
        return
    collection = canonical.loads(path.read_bytes())
    _version_fields(collection)
    current = str(collection.get("version") or "")
    links = [
        link
        for link in collection.get("links", [])
        if not link["rel"].endswith("-version")
        and not (link["rel"] == "child" and str(link.get("href", "")).startswith("./v/"))
    ]
    # every published version is a child: STAC clients and crawlers walk child links
    links += [
        {
            "rel": "child",
            "href": f"./v/{name}/collection.json",
            "type": "application/json",
            "title": f"version {name}",
        }
        for name in names
    ]
    links.append(
        {
            "rel": "latest-version",
            "href": "./collection.json",
            "type": "application/json",
            "title": current,
        }
    )
    older = [n for n in names if parse_version(n) < parse_version(current)] if current else names
    if older:
        links.append(
            {
                "rel": "predecessor-version",
                "type": "application/json",
                "href": f"./v/{older[-1]}/collection.json",
                "title": older[-1],
            }
        )
    collection["links"] = links
    data = canonical.dumps_pretty(collection)
    if path.read_bytes() != data:
        path.write_bytes(data)
