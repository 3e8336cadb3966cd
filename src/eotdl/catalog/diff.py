"""What changed in a dataset between two versions: items, assets, metadata.

Items are compared as canonical lines, so unchanged items cost a bytes comparison and only
changed ones are parsed. Between git refs the changed lines come from git's own diff, so the
cost is proportional to what changed, not to the size of the dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.card import parse_card
from eotdl.catalog.git import (
    WORKTREE,
    diff_lines,
    is_repo,
    repo_root,
    resolve_ref,
    show,
    stream_lines,
    tags,
)
from eotdl.catalog.lab import Lab, check_name
from eotdl.errors import LabError

#: Collection keys that describe the dataset (a change is a metadata change).
IGNORED_COLLECTION_KEYS = {"links", "extent"}


@dataclass
class ItemChange:
    """An item present in both versions with different content."""

    id: str
    fields: list[str]


@dataclass
class DatasetDiff:
    """Everything that differs in one dataset between a base and a new version."""

    name: str
    base_version: str | None = None
    new_version: str | None = None
    is_new: bool = False
    is_deleted: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    assets_changed: list[dict[str, str]] = field(default_factory=list)
    metadata_changed: list[str] = field(default_factory=list)
    card_changed: list[str] = field(default_factory=list)
    classes_before: list[str] = field(default_factory=list)
    classes_after: list[str] = field(default_factory=list)
    asset_meaning_changed: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    #: The new lines of added and changed items, when git's diff gave them (not serialised).
    new_lines: list[bytes] | None = field(default=None, repr=False)

    @property
    def items_changed(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def classes_changed(self) -> bool:
        return self.classes_before != self.classes_after

    @property
    def content_changed(self) -> bool:
        return (
            self.items_changed
            or bool(self.metadata_changed or self.card_changed)
            or bool(self.other_files)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.name,
            "base_version": self.base_version,
            "new_version": self.new_version,
            "is_new": self.is_new,
            "is_deleted": self.is_deleted,
            "items": {
                "added": self.added,
                "removed": self.removed,
                "changed": [{"id": c.id, "fields": c.fields} for c in self.changed],
            },
            "assets_changed": self.assets_changed,
            "metadata_changed": self.metadata_changed,
            "card_changed": self.card_changed,
            "classes": {"before": self.classes_before, "after": self.classes_after},
            "asset_meaning_changed": self.asset_meaning_changed,
            "other_files": self.other_files,
        }


def changed_fields(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the fields that differ (links ignored: they are layout)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            if not prefix and key == "links":
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(path)
            elif old[key] != new[key]:
                out.extend(changed_fields(old[key], new[key], path))
        return out
    return [] if old == new else [prefix or "(value)"]


def _asset_changes(
    item_id: str, old: dict[str, Any], new: dict[str, Any], diff: DatasetDiff
) -> None:
    # a malformed item (``"assets": "x"``) is `validate`'s to report; the diff sees no assets
    old_assets, new_assets = _object(old.get("assets")), _object(new.get("assets"))
    for key in sorted(set(old_assets) | set(new_assets)):
        a, b = old_assets.get(key), new_assets.get(key)
        a, b = (None if v is None else _object(v) for v in (a, b))
        if a is None:
            diff.assets_changed.append({"item": item_id, "asset": key, "change": "added"})
        elif b is None:
            diff.assets_changed.append({"item": item_id, "asset": key, "change": "removed"})
            diff.asset_meaning_changed.append(f"{item_id}: asset {key!r} removed")
        else:
            if a.get("file:checksum") != b.get("file:checksum") or a.get("href") != b.get("href"):
                diff.assets_changed.append({"item": item_id, "asset": key, "change": "content"})
            for meaning in ("type", "roles"):
                if a.get(meaning) != b.get(meaning):
                    before, after = a.get(meaning), b.get(meaning)
                    diff.asset_meaning_changed.append(
                        f"{item_id}: asset {key!r} {meaning} {before!r} → {after!r}"
                    )


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _by_id(lines: Iterable[bytes]) -> dict[str, bytes]:
    out = {}
    for line in lines:
        line = line.strip()
        if line:
            item = canonical.loads(line)
            out[str(_object(item).get("id"))] = line
    return out


def _compare_lines(old: dict[str, bytes], new: dict[str, bytes], diff: DatasetDiff) -> None:
    for item_id in sorted(set(old) | set(new)):
        if item_id not in old:
            diff.added.append(item_id)
            _asset_changes(item_id, {}, _object(canonical.loads(new[item_id])), diff)
        elif item_id not in new:
            diff.removed.append(item_id)
        elif old[item_id] != new[item_id]:
            a, b = _object(canonical.loads(old[item_id])), _object(canonical.loads(new[item_id]))
            fields = changed_fields(a, b)
            if fields:
                diff.changed.append(ItemChange(item_id, fields))
                _asset_changes(item_id, a, b, diff)
                _note_classes(a, diff.classes_before)
                _note_classes(b, diff.classes_after)


def _note_classes(item: dict[str, Any], into: list[str]) -> None:
    entries = _object(item.get("properties")).get("label:classes")
    for entry in entries if isinstance(entries, list) else []:
        names = _object(entry).get("classes")
        for name in names if isinstance(names, list) else []:
            if str(name) not in into:
                into.append(str(name))


def _merge_join(old: Iterator[bytes], new: Iterator[bytes], diff: DatasetDiff) -> None:
    """Compare two id-sorted canonical ndjson streams in one pass."""

    def keyed(lines: Iterator[bytes]) -> Iterator[tuple[str, bytes]]:
        for line in lines:
            line = line.strip()
            if line:
                yield str(canonical.loads(line).get("id")), line

    a_iter, b_iter = keyed(old), keyed(new)
    a, b = next(a_iter, None), next(b_iter, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            _compare_lines({a[0]: a[1]}, {}, diff)
            a = next(a_iter, None)
        elif a is None or b[0] < a[0]:
            _compare_lines({}, {b[0]: b[1]}, diff)
            b = next(b_iter, None)
        else:
            if a[1] != b[1]:
                _compare_lines({a[0]: a[1]}, {b[0]: b[1]}, diff)
            a, b = next(a_iter, None), next(b_iter, None)


def _collection_classes(collection: dict[str, Any] | None) -> list[str]:
    names: list[str] = []
    for entry in ((collection or {}).get("summaries") or {}).get("label:classes") or []:
        if isinstance(entry, dict):
            names += [str(c) for c in entry.get("classes") or []]
    return names


def _load_json(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        value = canonical.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def resolve_version(repo: Path, name: str, version: str) -> str:
    """A version number (tag NAME@VERSION), a git ref, or WORKTREE/'.' for the working tree,
    as the ref :func:`diff_dataset` reads; an unknown ref is a clear LabError."""
    if version in (WORKTREE, ".", "worktree"):
        return WORKTREE
    if f"{name}@{version}" in tags(repo, f"{name}@*"):
        return f"{name}@{version}"
    resolve_ref(repo, version)
    return version


def diff_versions(lab: Lab, name: str, a: str, b: str = WORKTREE) -> DatasetDiff:
    """What changed in dataset ``name`` of ``lab`` from version ``a`` to ``b``: each a version
    number (tag NAME@VERSION), a git ref, or WORKTREE (the files as they are now)."""
    check_name(name)
    if not is_repo(lab.root):
        raise LabError(
            f"{lab.root} is not a git repository", hint="versions live in git: `git init`"
        )
    repo = repo_root(lab.root)
    folder = (lab.datasets_dir / name).relative_to(repo).as_posix()
    return diff_dataset(
        repo,
        folder,
        name,
        resolve_version(repo, name, a),
        resolve_version(repo, name, b),
        fast=False,
    )


def diff_dataset(
    repo: Path,
    folder: str,
    name: str,
    base: str,
    target: str = WORKTREE,
    *,
    fast: bool = True,
) -> DatasetDiff:
    """The diff of the dataset folder ``folder`` (relative to ``repo``) from ``base`` to ``target``.

    ``fast`` takes the changed item lines from ``git diff`` (cost ∝ change); otherwise both
    versions are streamed and merge-joined by id.
    """
    diff = DatasetDiff(name)
    old_collection = _load_json(show(repo, base, f"{folder}/collection.json"))
    new_collection = _load_json(show(repo, target, f"{folder}/collection.json"))
    diff.is_new = old_collection is None
    diff.is_deleted = new_collection is None
    diff.base_version = (old_collection or {}).get("version")
    diff.new_version = (new_collection or {}).get("version")
    items = f"{folder}/items.ndjson"
    if diff.is_new or diff.is_deleted or not fast:
        old_lines = stream_lines(repo, base, items) if not diff.is_new else iter(())
        new_lines = stream_lines(repo, target, items) if not diff.is_deleted else iter(())
        _merge_join(old_lines, new_lines, diff)
    else:
        removed, added = diff_lines(repo, base, items, target)
        diff.new_lines = added
        _compare_lines(_by_id(removed), _by_id(added), diff)
    if old_collection is not None and new_collection is not None:
        keys = set(old_collection) | set(new_collection)
        for key in sorted(keys - IGNORED_COLLECTION_KEYS - {"version"}):
            if old_collection.get(key) != new_collection.get(key):
                diff.metadata_changed.append(key)
    before = _collection_classes(old_collection)
    after = _collection_classes(new_collection)
    if before or after:
        # the dataset's declared classes (builders write them into the collection summaries)
        diff.classes_before, diff.classes_after = before, after
    else:
        # no declaration: compare the classes named by the items that changed
        diff.classes_before = sorted(set(diff.classes_before))
        diff.classes_after = sorted(set(diff.classes_after))
        if diff.is_new:
            diff.classes_before = []
    old_card = show(repo, base, f"{folder}/README.md")
    new_card = show(repo, target, f"{folder}/README.md")
    if old_card != new_card and not diff.is_new and not diff.is_deleted:
        diff.card_changed = _card_fields(old_card, new_card)
    for extra in ("recipe.yaml",):
        if show(repo, base, f"{folder}/{extra}") != show(repo, target, f"{folder}/{extra}"):
            if not diff.is_new:
                diff.other_files.append(extra)
    return diff


def _card_fields(old: bytes | None, new: bytes | None) -> list[str]:
    try:
        a = parse_card((old or b"").decode("utf-8"))
        b = parse_card((new or b"").decode("utf-8"))
    except Exception:  # noqa: BLE001 - an unparsable card still counts as changed
        return ["README.md"]
    fields = changed_fields(a.front_matter(), b.front_matter())
    if a.body != b.body:
        fields.append("body")
    return fields or ["README.md"]
