"""What the lab references in its object store, now and in every version in git history;
and the two operations built on it: ``verify`` (re-hash what is referenced) and ``gc``
(remove content-addressed objects that no version references).

Only ``objects/sha256/…`` keys are ever garbage-collected: named objects (the published site,
training checkpoints) belong to whoever wrote them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical, git, ndjson
from eotdl.catalog.dataset import COLLECTION, ITEMS
from eotdl.catalog.hrefkeys import StoreKeys
from eotdl.catalog.lab import Lab
from eotdl.catalog.store import open_lab_store
from eotdl.catalog.vocabulary import AssetRef, asset_refs
from eotdl.errors import InputError, LabError
from eotdl.storage import ObjectInfo, ObjectStore
from eotdl.storage.hashing import sha256_of_checksum
from eotdl.storage.keys import CONTENT_PREFIX, sha256_of_key

DEFAULT_GRACE = dt.timedelta(days=7)
_KINDS = ("datasets", "models")


@dataclass(frozen=True, kw_only=True)
class LabAssetRef(AssetRef):
    """An :class:`~eotdl.catalog.vocabulary.AssetRef` the lab declares: ``where`` (file and
    line) and ``store_key``, its key in the lab's store, or None when the href points elsewhere.
    """

    where: str
    store_key: str | None


def iter_lab_assets(lab: Lab, store: ObjectStore | None = None) -> Iterator[LabAssetRef]:
    """Every asset of every item (and collection) of every dataset and model, streaming."""
    resolver = StoreKeys(lab, store or open_lab_store(lab))
    for kind in _KINDS:
        folder = lab.root / kind
        if not folder.is_dir():
            continue
        for dataset_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            collection = dataset_dir / COLLECTION
            if collection.is_file():
                try:
                    data = canonical.loads(collection.read_bytes())
                except ValueError as exc:
                    raise InputError(f"{collection}: malformed JSON: {exc}") from None
                where = _relative(lab, collection)
                yield from _asset_refs(data, where, dataset_dir, resolver)
            items = dataset_dir / ITEMS
            if items.is_file():
                for line in ndjson.iter_lines(items):
                    item = ndjson.parse_line(items, line)
                    where = f"{_relative(lab, items)}:{line.number}"
                    yield from _asset_refs(item, where, dataset_dir, resolver)


def _asset_refs(
    obj: dict[str, Any], where: str, dataset_dir: Path, resolver: StoreKeys
) -> Iterator[LabAssetRef]:
    for ref in asset_refs(obj):
        yield LabAssetRef(**vars(ref), where=where, store_key=resolver.key(ref.href, dataset_dir))


def _relative(lab: Lab, path: Path) -> str:
    try:
        return path.relative_to(lab.root).as_posix()
    except ValueError:
        return str(path)


# -- verify ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetProblem:
    """An object the lab references that is missing, corrupt, unreadable ("error") or
    declared with two different checksums ("conflict")."""

    key: str
    status: str
    message: str
    href: str
    where: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status,
            "message": self.message,
            "href": self.href,
            "where": self.where,
        }


@dataclass
class VerifyReport:
    """What ``verify`` found: referenced objects re-hashed, and objects nothing references."""

    store: str
    assets: int = 0
    checked: int = 0
    ok: int = 0
    external: int = 0
    problems: list[AssetProblem] = field(default_factory=list)
    unreferenced: list[ObjectInfo] = field(default_factory=list)

    @property
    def missing(self) -> list[AssetProblem]:
        return [p for p in self.problems if p.status == "missing"]

    @property
    def corrupt(self) -> list[AssetProblem]:
        return [p for p in self.problems if p.status != "missing"]

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "assets": self.assets,
            "checked": self.checked,
            "ok": self.ok,
            "external": self.external,
            "missing": [p.to_dict() for p in self.missing],
            "corrupt": [p.to_dict() for p in self.corrupt],
            "unreferenced": [
                {"key": o.key, "size": o.size, "modified": _iso(o.modified)}
                for o in self.unreferenced
            ],
            "passed": self.passed,
        }


@dataclass
class _Expected:
    href: str
    checksum: str | None
    size: int | None
    where: list[str] = field(default_factory=list)
    conflict: str = ""


def verify_lab(
    lab: Lab, store: ObjectStore | None = None, workers: int | None = None, progress: bool = True
) -> VerifyReport:
    """Re-hash every object the lab's items reference against the store.

    Reports missing and corrupt objects (with where they are referenced) and content-addressed
    objects that no dataset or model of the working tree references.
    """
    store = store or open_lab_store(lab)
    report = VerifyReport(store=store.url)
    expected: dict[str, _Expected] = {}
    for ref in iter_lab_assets(lab, store):
        report.assets += 1
        if ref.store_key is None:
            report.external += 1
            continue
        entry = expected.get(ref.store_key)
        if entry is None:
            entry = expected[ref.store_key] = _Expected(ref.href, ref.checksum, ref.size)
        elif (ref.checksum, ref.size) != (entry.checksum, entry.size) and not entry.conflict:
            entry.conflict = (
                f"declared with different file:checksum/file:size at {entry.where[0]}"
                f" and {ref.where}"
            )
        if len(entry.where) < 5:
            entry.where.append(f"{ref.where} item={ref.item_id} asset={ref.key}")
    for entry in expected.values():
        if entry.checksum:
            try:
                sha256_of_checksum(entry.checksum)
            except InputError as exc:
                entry.conflict = entry.conflict or exc.message
    checks = store.verify_objects(
        (
            (k, None if e.conflict else e.checksum, None if e.conflict else e.size)
            for k, e in expected.items()
        ),
        workers=workers,
        progress=progress,
    )
    for check in checks:
        report.checked += 1
        entry = expected[check.key]
        if check.status == "ok" and not entry.conflict:
            report.ok += 1
            continue
        status = "conflict" if check.status == "ok" else check.status
        message = entry.conflict if check.status == "ok" else check.message
        report.problems.append(AssetProblem(check.key, status, message, entry.href, entry.where))
    referenced = set(expected)
    hashes = {sha256_of_key(k) for k in expected} | {
        _sha_of(e.checksum) for e in expected.values() if e.checksum
    }
    for info in store.list(CONTENT_PREFIX):
        if info.key not in referenced and sha256_of_key(info.key) not in hashes:
            report.unreferenced.append(info)
    return report


def _sha_of(checksum: str) -> str | None:
    try:
        return sha256_of_checksum(checksum)
    except InputError:
        return None


# -- references in git history ---------------------------------------------------------


@dataclass
class References:
    """Every store key and SHA-256 referenced by the working tree and by git history."""

    keys: set[str] = field(default_factory=set)
    sha256s: set[str] = field(default_factory=set)
    git: bool = False
    versions: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, key: str | None, checksum: str | None) -> None:
        if key is not None:
            self.keys.add(key)
            sha = sha256_of_key(key)
            if sha:
                self.sha256s.add(sha)
        if checksum:
            sha = _sha_of(checksum)
            if sha:
                self.sha256s.add(sha)

    def covers(self, key: str) -> bool:
        return key in self.keys or sha256_of_key(key) in self.sha256s


def lab_references(lab: Lab, store: ObjectStore | None = None) -> References:
    """What the working tree, the git index and every commit of every ref reference."""
    store = store or open_lab_store(lab)
    refs = References()
    for ref in iter_lab_assets(lab, store):
        refs.add(ref.store_key, ref.checksum)
    try:
        in_git = git.is_repo(lab.root)
    except LabError:  # git is not installed
        in_git = False
    if not in_git:
        refs.notes.append("the lab is not a git repository: only the current files protect objects")
        return refs
    if git.is_shallow(lab.root):
        raise LabError(
            f"{lab.root} is a shallow git clone: older versions are not here, so gc cannot"
            " know what they reference",
            hint="run `git fetch --unshallow` first",
        )
    refs.git = True
    resolver = StoreKeys(lab, store)
    prefix = git.show_prefix(lab.root)
    blobs = git.blob_versions(lab.root, _pathspecs(prefix))
    refs.versions = len(blobs)
    for path, data in git.read_blobs(lab.root, blobs):
        dataset_dir = lab.root / Path(path).parent.relative_to(prefix or ".")
        for obj in _objects_in_blob(path, data):
            for ref in _asset_refs(obj, path, dataset_dir, resolver):
                refs.add(ref.store_key, ref.checksum)
    return refs


def _pathspecs(prefix: str) -> list[str]:
    """Every items.ndjson and collection.json of the lab (at ``prefix`` in its repository)."""
    return [
        f":(top,glob){prefix}{kind}/*/{name}" for kind in _KINDS for name in (ITEMS, COLLECTION)
    ]


def _objects_in_blob(path: str, data: bytes) -> Iterator[dict[str, Any]]:
    """The JSON objects of an old items.ndjson or collection.json (bad lines skipped)."""
    lines: Iterable[bytes] = [data] if path.endswith(".json") else data.splitlines()
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = canonical.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield obj


# -- gc ------------------------------------------------------------------------------------


@dataclass
class GcPlan:
    """What gc would delete (``candidates``) and why the rest stays."""

    store: str
    grace: dt.timedelta
    scanned: int = 0
    referenced: int = 0
    recent: int = 0
    candidates: list[ObjectInfo] = field(default_factory=list)
    git: bool = False
    versions: int = 0
    notes: list[str] = field(default_factory=list)
    deleted: int = 0

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "grace_days": self.grace.total_seconds() / 86400,
            "scanned": self.scanned,
            "referenced": self.referenced,
            "recent": self.recent,
            "candidates": [
                {"key": o.key, "size": o.size, "modified": _iso(o.modified)}
                for o in self.candidates
            ],
            "bytes": self.bytes,
            "git": self.git,
            "versions": self.versions,
            "notes": self.notes,
            "deleted": self.deleted,
        }


def plan_gc(
    lab: Lab,
    store: ObjectStore | None = None,
    grace: dt.timedelta = DEFAULT_GRACE,
    now: dt.datetime | None = None,
) -> GcPlan:
    """The content-addressed objects no version of any dataset or model references, and
    older than ``grace`` (a just-uploaded object may belong to a pull request not yet merged)."""
    store = store or open_lab_store(lab)
    refs = lab_references(lab, store)
    now = now or dt.datetime.now(dt.UTC)
    plan = GcPlan(store.url, grace, git=refs.git, versions=refs.versions, notes=refs.notes)
    for info in store.list(CONTENT_PREFIX):
        plan.scanned += 1
        if refs.covers(info.key):
            plan.referenced += 1
        elif info.modified is None or now - info.modified < grace:
            plan.recent += 1
        else:
            plan.candidates.append(info)
    return plan


def run_gc(store: ObjectStore, plan: GcPlan) -> GcPlan:
    """Delete the plan's candidates; return the plan with ``deleted`` set."""
    plan.deleted = store.delete_many(o.key for o in plan.candidates)
    return plan


def gc_lab(
    lab: Lab,
    grace: dt.timedelta = DEFAULT_GRACE,
    delete: bool = False,
    store: ObjectStore | None = None,
) -> GcPlan:
    """:func:`plan_gc` for the lab's store, then, with ``delete``, :func:`run_gc`: what a dry
    run would remove, or what was removed (``deleted``)."""
    store = store or open_lab_store(lab)
    plan = plan_gc(lab, store, grace=grace)
    return run_gc(store, plan) if delete else plan


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
