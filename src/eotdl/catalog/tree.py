"""The static STAC tree any STAC client can walk, written incrementally and atomically.

``catalog.json`` → ``datasets/<name>/collection.json`` → ``datasets/<name>/items/<id>.json``
(models likewise under ``models/``), plus, when asked, one stac-geoparquet ``items.parquet`` per
dataset. Links are relative; ``self`` links are absolute and only written when the lab has a
public ``base_url``. Hrefs into the lab's store become ``objects/…`` under the site root (or the
store's ``public_url``), the one rule of :mod:`eotdl.catalog.store`; other relative hrefs of
the lab (links between items) are rebased so they still resolve from their new place.

Incremental: a manifest (``.eotdl-build.json`` at the root, and one per dataset folder) records
what each output was made from. A dataset whose files did not change is carried over whole (one
rename when the build is committed); in a dataset whose items changed, only the items whose
canonical line changed are written again, the others are kept (the previous items folder is
carried over and patched); the parquet file is patched too. Atomic: everything is written into
a :class:`Stage` that replaces the previous tree only when the whole build succeeded.

Streaming: ``items.ndjson`` is read a line at a time and every output (item files, parquet,
collection links, the per-item manifest rows) is written as it goes; what a build remembers of
each item (id, line digest, facts) goes to a rows file beside the manifest
(``.eotdl-items.ndjson``) and is read back from there (:class:`ItemRows`), so memory does not
grow with the items. The previous rows are merged with the new lines in order (both sorted by
id, as ``items.ndjson`` is), so an unchanged line is recognised without a table of all items.
Time is linear in the items.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical, ndjson
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.geoparquet import MEDIA_TYPE as PARQUET_TYPE
from eotdl.catalog.geoparquet import ItemsParquetWriter, patch_items_parquet
from eotdl.catalog.geoparquet import preload as preload_geoparquet
from eotdl.catalog.lab import Lab
from eotdl.catalog.rowblocks import (
    Block,
    BlockCutter,
    RowsEdit,
    copy_range,
    fill_digests,
    read_blocks,
    unchanged_ends,
)
from eotdl.catalog.staging import Stage
from eotdl.catalog.store import SiteHrefs, link_objects
from eotdl.errors import InputError
from eotdl.storage.hashing import prefetch_sha256

STAC_VERSION = "1.1.0"
#: Link relations the tree writer owns; any others in the lab are kept (rewritten if relative).
STRUCTURAL = {"root", "self", "parent", "child", "item", "collection"}
MANIFEST = ".eotdl-build.json"
#: One line per item of a built folder, in ``items.ndjson`` order: ``[id, digest, facts]``.
ROWS = ".eotdl-items.ndjson"
PARQUET = "items.parquet"
#: The index of its footer, so a patch does not walk it (:mod:`eotdl.catalog.parquetsplice`).
PARQUET_INDEX = ".items.parquet.footer.json"
#: Bumped whenever the bytes the tree writer produces change, so old outputs are not reused.
TREE_FORMAT = 5
_UNSAFE_ID = re.compile(r"[\x00-\x1f/\\]|^\.|^$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._~-]+$")

#: What a caller derives from each item and wants remembered (memoised by the item's line).
ItemFacts = Callable[[dict[str, Any]], Any]


@dataclass
class TreeSummary:
    """What was written: counts, and how much was rebuilt versus reused."""

    root: Path
    collections: int
    items: int
    seconds: float
    items_written: int = 0
    items_reused: int = 0
    folders_carried: int = 0


@dataclass
class ItemEntry:
    """One item of a dataset being built: its id, the caller's facts, and (when this build
    parsed it and kept it) the lab's Item dict. ``changed``: written by this build."""

    id: str
    facts: Any
    changed: bool
    item: dict[str, Any] | None = None


class ItemRows:
    """The items of a built folder, in ``items.ndjson`` order, read back from the rows file the
    build wrote: iterating streams it (any number of times), nothing is held but the few items
    this build changed and kept (``kept``). ``changed``: the ids this build wrote (None: all).
    ``edit``: where the rows file differs from the previous build's (None: not known)."""

    def __init__(
        self,
        path: Path | None = None,
        count: int = 0,
        changed: set[str] | None = None,
        kept: dict[str, dict[str, Any]] | None = None,
        edit: RowsEdit | None = None,
    ) -> None:
        self.path = path
        self.count = count
        self.changed = changed
        self.kept = kept or {}
        self.edit = edit

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[ItemEntry]:
        if self.path is None or not self.count:
            return
        changed, kept = self.changed, self.kept
        with open(self.path, "rb") as handle:
            for line in handle:
                item_id, _, facts = canonical.loads(line)
                yield ItemEntry(
                    item_id,
                    facts,
                    changed is None or item_id in changed,
                    kept.get(item_id),
                )

    def ids(self) -> Iterator[str]:
        """The ids, in order."""
        for entry in self:
            yield entry.id


@dataclass
class DatasetBuild:
    """A dataset (or model) folder in a build.

    ``status`` is ``carried`` (nothing changed: the previous output is reused whole, and only
    ``extra`` from the last build is known), ``incremental`` (some items changed) or ``full``.
    A caller writing its own files for a changed folder sets ``extra`` (JSON-able) to what it
    wants to find again when the folder is carried next time, and ``memo`` to what it wants in
    ``previous_memo`` when the folder is next built incrementally (say, digests of its pages).
    """

    group: str
    folder: DatasetFolder
    status: str
    count: int
    title: str
    extra: dict[str, Any] = field(default_factory=dict)
    collection: dict[str, Any] = field(default_factory=dict)
    entries: ItemRows | list[ItemEntry] = field(default_factory=ItemRows)
    removed: list[str] = field(default_factory=list)
    items_kept: bool = False
    changed_count: int = 0
    added: int = 0
    previous_count: int = 0
    memo: dict[str, Any] = field(default_factory=dict)
    previous_memo: dict[str, Any] = field(default_factory=dict)
    _manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    _blocks: list[Block] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def relative_dir(self) -> str:
        return f"{self.group}/{self.folder.name}"

    @property
    def changed(self) -> bool:
        return self.status != "carried"

    @property
    def changed_entries(self) -> list[ItemEntry]:
        """The items this build wrote (streamed from the rows file)."""
        return [e for e in self.entries if e.changed]


def safe_file_name(item_id: str) -> str:
    """The file name for an item id; ids that could escape their folder are refused."""
    if _UNSAFE_ID.search(item_id) or len(item_id) > 200:
        raise InputError(
            f"item id {item_id!r} cannot be a file name in the STAC tree",
            hint="ids must not be empty, start with '.', or contain '/', '\\' or control"
            " characters (at most 200 characters)",
        )
    return f"{item_id}.json"


def quote_name(name: str) -> str:
    """A file name as it appears in a relative link."""
    if _PLAIN_NAME.match(name):
        return name
    return urllib.parse.quote(name, safe="-_.~!$&'()*+,;=:@")


def _is_relative(href: str) -> bool:
    return not urllib.parse.urlsplit(href).scheme and not href.startswith("/")


def rebase(href: str, source_dir: Path, target_dir: Path) -> str:
    """A relative ``href`` written in ``source_dir``, as seen from ``target_dir``."""
    if not _is_relative(href):
        return href
    path, _, fragment = href.partition("#")
    folder, _, name = path.rpartition("/")
    prefix = _rebase_folder(folder, str(source_dir), str(target_dir))
    return (
        prefix
        + urllib.parse.quote(urllib.parse.unquote(name), safe=".-_~")
        + (f"#{fragment}" if fragment else "")
    )


@functools.lru_cache(maxsize=4096)
def _rebase_folder(folder: str, source_dir: str, target_dir: str) -> str:
    absolute = os.path.normpath(os.path.join(source_dir, urllib.parse.unquote(folder)))
    relative = os.path.relpath(absolute, target_dir).replace(os.sep, "/")
    if relative == ".":
        return "./"
    if not relative.startswith("."):
        relative = "./" + relative
    return urllib.parse.quote(relative, safe="/.-_~") + "/"


def _link(rel: str, href: str, title: str | None = None, kind: str = "application/json") -> dict:
    link: dict[str, Any] = {"rel": rel, "href": href, "type": kind}
    if title:
        link["title"] = title
    return link


#: How an href of the lab is rewritten for the site: ``(href, source_dir, target_dir)``.
Rewrite = Callable[[str, Path, Path], str]


def _kept_links(
    obj: dict[str, Any], source_dir: Path, target_dir: Path, rewrite: Rewrite = rebase
) -> list[dict[str, Any]]:
    kept = []
    for link in obj.get("links") or []:
        if isinstance(link, dict) and link.get("rel") not in STRUCTURAL:
            link = dict(link)
            if isinstance(link.get("href"), str):
                link["href"] = rewrite(link["href"], source_dir, target_dir)
            kept.append(link)
    return kept


def _rebase_assets(
    obj: dict[str, Any], source_dir: Path, target_dir: Path, rewrite: Rewrite = rebase
) -> None:
    """Rewrite ``obj``'s asset hrefs; ``obj["assets"]`` is replaced, never changed in place."""
    assets = obj.get("assets")
    if not isinstance(assets, dict):
        return
    rebased = dict(assets)
    for key, asset in assets.items():
        if isinstance(asset, dict) and isinstance(asset.get("href"), str):
            rebased[key] = {**asset, "href": rewrite(asset["href"], source_dir, target_dir)}
    obj["assets"] = rebased


def _fingerprint(paths: list[Path]) -> list[list[int]]:
    """(size, mtime) of each input file, [-1, -1] for a missing one: cheap change detection."""
    found = []
    for path in paths:
        try:
            st = os.stat(path)
            found.append([st.st_size, st.st_mtime_ns])
        except FileNotFoundError:
            found.append([-1, -1])
    return found


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class TreeBuilder:
    """Write the STAC tree of a lab into a :class:`Stage`, reusing what did not change.

    ``key`` names everything else the outputs depend on (a caller's templates, settings): a
    different key rebuilds every folder. ``context_files(folder)`` lists more input files per
    folder (a card, a QA report), ``context_data(folder)`` more input bytes (names of other
    folders a page links to): a change in them rebuilds that folder's items. ``facts`` is
    called on every item this build parses; its JSON-able result is remembered per item line,
    so an unchanged item is never parsed again. Items are kept in :attr:`ItemEntry.item` for
    folders of at most ``keep_items`` items. ``parquet`` writes ``items.parquet``; ``html``
    adds ``alternate`` links to the ``index.html`` pages a site writes beside each object.
    ``collection_links(build)`` adds links at the end of a collection's (a card it describes).
    """

    def __init__(
        self,
        lab: Lab,
        stage: Stage,
        *,
        key: str = "",
        facts: ItemFacts | None = None,
        context_files: Callable[[DatasetFolder], list[Path]] | None = None,
        context_data: Callable[[DatasetFolder], bytes] | None = None,
        keep_items: int = 0,
        parquet: bool = False,
        html: bool = False,
        full: bool = False,
        collection_links: Callable[[DatasetBuild], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.lab = lab
        self.stage = stage
        self.final = stage.target
        self.base_url = lab.config.base_url.rstrip("/") + "/" if lab.config.base_url else ""
        self.hrefs = SiteHrefs(lab, self.final)
        rel_target = os.path.relpath(self.final, lab.root)
        self.key = _digest(
            canonical.dumps(
                [
                    TREE_FORMAT,
                    STAC_VERSION,
                    self.base_url,
                    rel_target,
                    self.hrefs.public_url,
                    parquet,
                    html,
                    key,
                ]
            )
        )
        self.facts = facts
        self.context_files = context_files
        self.context_data = context_data
        self.keep_items = keep_items
        self.parquet = parquet
        self.html = html
        self.full = full
        self.collection_links = collection_links
        self.builds: list[DatasetBuild] = []
        self.summary = TreeSummary(self.final, 0, 0, 0.0)
        self._started = time.perf_counter()
        self._previous = self._read_previous()
        self._pool = ThreadPoolExecutor(max_workers=8)

    # -- manifests ----------------------------------------------------------------------

    def _read_previous(self) -> dict[str, Any]:
        path = self.stage.previous_path(MANIFEST)
        if self.full or path is None:
            return {}
        try:
            data = canonical.loads(path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("key") != self.key:
            return {}
        folders = data.get("folders")
        return folders if isinstance(folders, dict) else {}

    def _read_items_manifest(
        self, relative_dir: str
    ) -> tuple[Path, dict[str, Any], list[Block] | None] | None:
        """The previous build's rows file of a folder, its memo and the blocks of its
        ``items.ndjson`` (None: not usable)."""
        path = self.stage.previous_path(f"{relative_dir}/{MANIFEST}")
        rows = self.stage.previous_path(f"{relative_dir}/{ROWS}")
        if path is None or rows is None or not rows.is_file():
            return None
        try:
            data = canonical.loads(path.read_bytes())
            memo = data.get("memo")
            if data.get("rows") != ROWS:
                return None
            memo = memo if isinstance(memo, dict) else {}
            blocks = read_blocks(data.get("blocks"))
            if blocks is not None and (
                sum(b.rows for b in blocks) != int(data.get("count") or 0)
                or (blocks and blocks[-1].rows_at + blocks[-1].rows_size != rows.stat().st_size)
            ):
                blocks = None  # they do not describe this rows file
            return rows, {**memo, "count": int(data.get("count") or 0)}, blocks
        except (OSError, ValueError, AttributeError):
            return None

    # -- the walk -----------------------------------------------------------------------

    def datasets(self) -> Iterator[DatasetBuild]:
        """Build every dataset and model folder, yielding each one once its tree is staged."""
        folders = [("datasets", f) for f in self.lab.datasets()]
        folders += [("models", f) for f in self.lab.models()]
        try:
            for group, folder in folders:
                build = self._build_folder(group, folder)
                self.builds.append(build)
                yield build
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the writer threads (``finish`` does it too)."""
        self._pool.shutdown(wait=True)

    def _inputs(self, folder: DatasetFolder) -> list[Path]:
        extra = self.context_files(folder) if self.context_files else []
        return [folder.collection_path, folder.items_path, *extra]

    def _build_folder(self, group: str, folder: DatasetFolder) -> DatasetBuild:
        relative_dir = f"{group}/{folder.name}"
        inputs = self._inputs(folder)
        data = self.context_data(folder) if self.context_data else b""
        fingerprint = [*_fingerprint(inputs), [len(data), int(_digest(data)[:12], 16)]]
        previous = self._previous.get(relative_dir)
        can_carry = previous is not None and self.stage.can_carry(relative_dir)
        if can_carry and previous is not None and previous.get("inputs") == fingerprint:
            return self._carried(group, folder, previous, fingerprint)
        collection_bytes = folder.collection_path.read_bytes()
        context = _digest(
            collection_bytes
            + b"\0".join(p.read_bytes() if p.is_file() else b"-" for p in inputs[2:])
            + b"\0"
            + data
        )
        old = None
        if can_carry and previous is not None and previous.get("context") == context:
            old = self._read_items_manifest(relative_dir)
        if self.parquet and old is None:
            preload_geoparquet()  # every item will be converted (a few are, without it)
        collection = folder.read_collection()
        build = DatasetBuild(
            group,
            folder,
            "incremental" if old is not None else "full",
            0,
            str(collection.get("title") or folder.name),
            collection=collection,
        )
        build._manifest = {"inputs": fingerprint, "context": context}
        if old is not None:
            build.previous_count = int(old[1].pop("count", 0))
            build.previous_memo = old[1]
        self._write_items(
            build, old[0] if old is not None else None, old[2] if old is not None else None
        )
        same_blocks = old is not None and _same_blocks(old[2], build._blocks)
        if (
            build.status == "incremental"
            and not build.removed
            and not build.changed_count
            and same_blocks
        ):
            # the files were touched but hold the same content: reuse the previous output
            self.stage.discard(relative_dir)
            self.summary.items_reused -= build.count
            assert previous is not None
            return self._carried(group, folder, previous, fingerprint)
        self._write_collection(build)
        return build

    def _carried(
        self, group: str, folder: DatasetFolder, previous: dict[str, Any], fingerprint: list
    ) -> DatasetBuild:
        self.stage.carry(f"{group}/{folder.name}")
        self.summary.folders_carried += 1
        count = int(previous.get("count", 0))
        self.summary.items_reused += count
        build = DatasetBuild(
            group,
            folder,
            "carried",
            count,
            str(previous.get("title") or folder.name),
            extra=dict(previous.get("extra") or {}),
        )
        build._manifest = {**previous, "inputs": fingerprint}
        return build

    def _write_items(
        self, build: DatasetBuild, old_rows: Path | None, old_blocks: list[Block] | None = None
    ) -> None:
        """Stream ``items.ndjson`` into item files, parquet rows and the rows file, merging
        with the previous build's rows (``old_rows``, same order) to reuse unchanged items.
        Where the previous build's ``old_blocks`` of the file are unchanged at its front and
        back (:mod:`eotdl.catalog.rowblocks`), only the lines between are read; the rows of
        the others are copied."""
        folder = build.folder
        relative_dir = build.relative_dir
        final_dir = self.final / relative_dir
        items_rel = f"{relative_dir}/items"
        path = folder.items_path
        stat_before = _fingerprint([path])
        # incremental: the previous items folder is carried and patched, not re-linked file by
        # file; where it cannot be, unchanged files are hard-linked into a fresh folder
        big = build.previous_count > self.keep_items  # no item pages: items/ is huge
        patched = build.status == "incremental" and self.stage.patch(items_rel, keep_unlisted=big)
        if not patched:
            self.stage.path(items_rel).mkdir(parents=True, exist_ok=True)
        parquet_rel = f"{relative_dir}/{PARQUET}"
        writer = None
        if self.parquet and build.status == "full":
            writer = ItemsParquetWriter(self.stage.path(parquet_rel))
        rows_path = self.stage.path(f"{relative_dir}/{ROWS}")
        rows_path.parent.mkdir(parents=True, exist_ok=True)
        # the blocks of the previous file still there at the front and back are skipped
        front: list[Block] = []
        back: list[Block] = []
        delta = 0
        if patched and big and old_rows is not None and old_blocks and path.exists():
            same = unchanged_ends(path, old_blocks)
            front = old_blocks[: same.front]
            back = old_blocks[len(old_blocks) - same.back :] if same.back else []
            delta = same.delta
        start = front[-1].at + front[-1].size if front else 0
        stop = back[0].at + delta if back else None
        rows_start = front[-1].rows_at + front[-1].rows_size if front else 0
        rows_stop = back[0].rows_at if back else None
        upserts: list[dict[str, Any]] = []
        changed: set[str] = set()  # ids written by an incremental build (few)
        gone: list[str] = []  # previous ids passed over by the merge (removed, or out of order)
        kept: dict[str, dict[str, Any]] = {}
        keep = self.keep_items > 0 and not front and not back
        batch: list[tuple[str, bytes]] = []
        count = sum(b.rows for b in front)
        written = 0
        last_id: str | None = front[-1].last if front else None
        in_order = True
        lines = (
            ndjson.iter_lines(
                path, start=start, stop=stop, first_number=sum(b.lines for b in front) + 1
            )
            if path.exists()
            else iter(())
        )
        previous = _old_rows(old_rows, rows_start, rows_stop) if old_rows is not None else iter(())
        current = next(previous, None)
        cutter = BlockCutter(start, rows_start)
        rows_at = rows_start
        try:
            with open(rows_path, "wb") as rows:
                if front:
                    assert old_rows is not None
                    with open(old_rows, "rb") as source:
                        copy_range(source, rows, 0, rows_start)
                for line in lines:
                    digest = _digest(line.data)
                    if current is not None and current[1] == digest:
                        item_id, raw = current[0], current[3]
                        current = next(previous, None)
                        if item_id == last_id:
                            raise _duplicate(f"{path}:{line.number}", item_id)
                        if last_id is not None and item_id < last_id:
                            in_order = False
                        if self.stage.link_previous(f"{items_rel}/{safe_file_name(item_id)}"):
                            rows.write(raw)
                            rows_at += len(raw)
                            cutter.row(line.end, rows_at, item_id)
                            count += 1
                            last_id = item_id
                            continue
                    item = ndjson.parse_line(path, line)
                    if item.get("type") != "Feature":
                        raise InputError(
                            f"{path}:{line.number}: not a STAC Item (type is"
                            f" {item.get('type')!r}, expected 'Feature')"
                        )
                    item_id = str(item.get("id", ""))
                    name = safe_file_name(item_id)
                    if item_id == last_id:
                        raise _duplicate(f"{path}:{line.number}", item_id)
                    if last_id is not None and item_id < last_id:
                        in_order = False
                    last_id = item_id
                    while current is not None and current[0] < item_id:
                        gone.append(current[0])
                        current = next(previous, None)
                    if current is None or current[0] != item_id:
                        build.added += 1
                    if current is not None and current[0] == item_id:
                        same_line, raw = current[1] == digest, current[3]
                        current = next(previous, None)
                        # the same line after a removed one: the merge is back in step
                        if same_line and self.stage.link_previous(f"{items_rel}/{name}"):
                            rows.write(raw)
                            rows_at += len(raw)
                            cutter.row(line.end, rows_at, item_id)
                            count += 1
                            continue
                    facts = self.facts(item) if self.facts else None
                    row = canonical.dumps([item_id, digest, facts]) + b"\n"
                    rows.write(row)
                    rows_at += len(row)
                    cutter.row(line.end, rows_at, item_id)
                    count += 1
                    written += 1
                    if build.status != "full":
                        changed.add(item_id)
                    if keep:
                        kept[item_id] = item
                    if keep and count > self.keep_items:
                        keep, kept = False, {}
                    relative = f"{items_rel}/{name}"
                    batch.append(
                        (relative, self._item_bytes(item, folder.path, final_dir, relative))
                    )
                    if self.parquet:
                        row_item = self._parquet_item(
                            item, folder.path, final_dir, relative_dir, name
                        )
                        if writer is not None:
                            writer.add(row_item)
                        else:
                            upserts.append(row_item)
                    if len(batch) >= 512:
                        self._write_many(batch)
                        batch = []
                while current is not None:
                    gone.append(current[0])
                    current = next(previous, None)
                edit = None
                if (front or back) and old_rows is not None and old_blocks:
                    ends = sum(b.rows for b in front) + sum(b.rows for b in back)
                    edit = RowsEdit(
                        rows_start,
                        rows_stop if rows_stop is not None else os.path.getsize(old_rows),
                        rows_at,
                        sum(b.rows for b in old_blocks) - ends,
                        count - sum(b.rows for b in front),
                    )
                size = os.path.getsize(path) if path.exists() else 0
                cutter.cut(stop if stop is not None else size, rows_at)
                if back:
                    assert old_rows is not None and rows_stop is not None
                    first_back = _first_id(old_rows, rows_stop)
                    if first_back is not None and first_back == last_id:
                        raise _duplicate(f"{path}", first_back)
                    if last_id is not None and first_back is not None and first_back < last_id:
                        in_order = False
                    with open(old_rows, "rb") as source:
                        tail = back[-1].rows_at + back[-1].rows_size - rows_stop
                        copy_range(source, rows, rows_stop, tail)
                    count += sum(b.rows for b in back)
            self.stage.written += 1
            self._write_many(batch)
            blocks: list[Block] | None = [
                *front,
                *cutter.blocks,
                *(b.shifted(delta, rows_at - back[0].rows_at) for b in back),
            ]
            if path.exists():
                fill_digests(path, cutter.blocks)
            if _fingerprint([path]) != stat_before:  # changed while it was read
                blocks = None
            build._blocks = blocks
            if not in_order:
                _check_unique(rows_path, path)
            if keep and count > self.keep_items:
                keep, kept = False, {}
            build.items_kept = keep
            build.count = count
            build.changed_count = written
            build.entries = ItemRows(
                rows_path, count, None if build.status == "full" else changed, kept, edit
            )
            build.removed = sorted(set(gone) - changed - _reused_ids(gone, rows_path, in_order))
            for item_id in build.removed:
                self.stage.drop(f"{items_rel}/{safe_file_name(item_id)}")
            is_changed = bool(upserts) or bool(build.removed)
            if writer is not None:
                writer.close()
                writer = None
            elif self.parquet and build.status == "incremental" and is_changed:
                before = self.stage.previous_path(parquet_rel)
                if before is None or not patch_items_parquet(
                    before,
                    self.stage.path(parquet_rel),
                    upserts,
                    build.removed,
                    self._previous_items(items_rel, [*changed, *build.removed]),
                ):
                    self._rewrite_parquet(build)
            elif self.parquet and not self.stage.link_previous(parquet_rel):
                self._rewrite_parquet(build)
            elif self.parquet:  # the same file: its footer index too (if it had one)
                self.stage.link_previous(f"{relative_dir}/{PARQUET_INDEX}")
            if self.parquet and build.group == "datasets":
                # its card (catalog.croissant) hashes it: start now, while the pages are made
                prefetch_sha256(self.stage.path(parquet_rel))
        finally:
            if writer is not None:
                writer.abort()
        self.summary.items_written += written
        self.summary.items_reused += count - written

    def _previous_items(self, items_rel: str, ids: list[str]) -> dict[str, Any]:
        """The previous build's item files of ``ids`` (parsed; None where unreadable), to
        find their rows in the previous parquet file; an id it lacks had no file."""
        found: dict[str, Any] = {}
        for item_id in ids:
            path = self.stage.previous_path(f"{items_rel}/{safe_file_name(item_id)}")
            if path is None or not path.is_file():
                continue
            try:
                found[item_id] = canonical.loads(path.read_bytes())
            except (OSError, ValueError):
                found[item_id] = None
        return found

    def _rewrite_parquet(self, build: DatasetBuild) -> None:
        """Convert every item again (the previous file is missing or its schema conflicts)."""
        final_dir = self.final / build.relative_dir
        writer = ItemsParquetWriter(self.stage.path(f"{build.relative_dir}/{PARQUET}"))
        try:
            for item in build.folder.iter_items():
                name = safe_file_name(str(item.get("id", "")))
                writer.add(
                    self._parquet_item(item, build.folder.path, final_dir, build.relative_dir, name)
                )
        except BaseException:
            writer.abort()
            raise
        writer.close()

    def _write_many(self, files: list[tuple[str, bytes]]) -> None:
        """Write many small files; file creation is syscall-bound, so threads help."""
        write = self.stage.write_bytes
        if len(files) < 64:
            for relative, data in files:
                write(relative, data)
            return
        list(self._pool.map(lambda f: write(f[0], f[1]), files))

    def _self_link(self, relative: str) -> list[dict[str, Any]]:
        return [_link("self", self.base_url + relative)] if self.base_url else []

    def _item_bytes(
        self, item: dict[str, Any], source_dir: Path, final_dir: Path, relative: str
    ) -> bytes:
        item = dict(item)
        item["links"] = [
            _link("root", "../../../catalog.json"),
            _link("parent", "../collection.json"),
            _link("collection", "../collection.json"),
            *self._self_link(relative),
            *_kept_links(item, source_dir, final_dir / "items", self.hrefs.href),
        ]
        _rebase_assets(item, source_dir, final_dir / "items", self.hrefs.href)
        return canonical.dumps_pretty(item)

    def _parquet_item(
        self, item: dict[str, Any], source_dir: Path, final_dir: Path, relative_dir: str, name: str
    ) -> dict[str, Any]:
        """The item as a row of ``items.parquet``: hrefs relative to the dataset folder."""
        item = dict(item)
        item["links"] = [
            _link("root", "../../catalog.json"),
            _link("collection", "./collection.json"),
            *self._self_link(f"{relative_dir}/items/{name}"),
            *_kept_links(item, source_dir, final_dir, self.hrefs.href),
        ]
        _rebase_assets(item, source_dir, final_dir, self.hrefs.href)
        return item

    def _write_collection(self, build: DatasetBuild) -> None:
        relative_dir = build.relative_dir
        relative = f"{relative_dir}/collection.json"
        if build.status == "incremental" and not build.added and not build.removed:
            # same collection and context (or the build would be full), same item ids
            if self.stage.link_previous(relative):
                return
        final_dir = self.final / relative_dir
        collection = dict(build.collection)
        collection["links"] = [
            _link("root", "../../catalog.json"),
            _link("parent", "../../catalog.json"),
            *self._self_link(f"{relative_dir}/collection.json"),
            *(
                [_link("alternate", "./index.html", "This dataset's page", "text/html")]
                if self.html
                else []
            ),
            *_kept_links(collection, build.folder.path, final_dir, self.hrefs.href),
            canonical.STREAM,  # the item links, written a line at a time below
            *(self.collection_links(build) if self.collection_links else []),
        ]
        _rebase_assets(collection, build.folder.path, final_dir, self.hrefs.href)
        if self.parquet:
            assets = dict(collection.get("assets") or {})
            assets["geoparquet-items"] = {
                "href": f"./{PARQUET}",
                "type": PARQUET_TYPE,
                "title": "Every item of this collection as stac-geoparquet",
                "roles": ["stac-items"],
            }
            collection["assets"] = assets
        item_links = (
            _link("item", f"./items/{quote_name(safe_file_name(item_id))}")
            for item_id in (entry.id for entry in build.entries)
        )
        self.stage.write_stream(relative, canonical.pretty_chunks(collection, [item_links]))

    # -- the end ------------------------------------------------------------------------

    def finish(self) -> TreeSummary:
        """Write ``catalog.json`` and the manifests; return the summary (commit is the
        caller's)."""
        self.close()
        config = self.lab.config
        children = [
            _link("child", f"./{b.relative_dir}/collection.json", b.title) for b in self.builds
        ]
        root = {
            "type": "Catalog",
            "stac_version": STAC_VERSION,
            "id": _slug(config.title) or "eotdl-lab",
            "title": config.title,
            "description": f"{config.title}: Earth-observation training datasets and models.",
            "links": [
                _link("root", "./catalog.json", config.title),
                *self._self_link("catalog.json"),
                *(
                    [_link("alternate", "./index.html", "The lab's home page", "text/html")]
                    if self.html
                    else []
                ),
                *children,
            ],
        }
        self.stage.write_bytes("catalog.json", canonical.dumps_pretty(root))
        folders: dict[str, Any] = {}
        for build in self.builds:
            entry = dict(build._manifest)
            entry.update(count=build.count, title=build.title, extra=build.extra)
            folders[build.relative_dir] = entry
            if build.changed:
                items = {"rows": ROWS, "count": build.count, "memo": build.memo}
                if build._blocks is not None:
                    items["blocks"] = [b.to_list() for b in build._blocks]
                self.stage.write_bytes(
                    f"{build.relative_dir}/{MANIFEST}", canonical.dumps(items) + b"\n"
                )
        manifest = {"format": TREE_FORMAT, "key": self.key, "folders": folders}
        self.stage.write_bytes(MANIFEST, canonical.dumps(manifest) + b"\n")
        self.summary.collections = len(self.builds)
        self.summary.items = sum(b.count for b in self.builds)
        self.summary.seconds = time.perf_counter() - self._started
        return self.summary


def write_stac_tree(
    lab: Lab,
    out: str | os.PathLike[str] | None = None,
    *,
    parquet: bool = False,
    full: bool = False,
) -> TreeSummary:
    """Write the lab's STAC tree into ``out`` (default: the site folder), atomically, reusing
    what an earlier call wrote there for what did not change (``full`` rebuilds everything)."""
    start = time.perf_counter()
    target = Path(out) if out is not None else lab.site_dir
    stage = Stage(target)
    builder: TreeBuilder | None = None
    try:
        builder = TreeBuilder(lab, stage, parquet=parquet, full=full)
        for _ in builder.datasets():
            pass
        summary = builder.finish()
        link_objects(lab, stage.root, stage.target)
        stage.commit()
    except BaseException:
        if builder is not None:
            builder.close()
        stage.abort()
        raise
    summary.seconds = time.perf_counter() - start
    return summary


def _old_rows(
    path: Path, start: int = 0, stop: int | None = None
) -> Iterator[tuple[str, str, Any, bytes]]:
    """The rows of a previous build (those between byte offsets ``start`` and ``stop``):
    ``(id, digest, facts, the raw line)``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            at = start
            for line in handle:
                if stop is not None and at >= stop:
                    return
                at += len(line)
                item_id, digest, facts = canonical.loads(line)
                yield str(item_id), str(digest), facts, line
    except (OSError, ValueError, TypeError):
        return  # an unreadable manifest: the rest is rebuilt


def _same_blocks(old: list[Block] | None, new: list[Block] | None) -> bool:
    """Whether a build's blocks are the previous build's (else its manifest must be written,
    even when every item is the same: the lines moved)."""
    if old is None or new is None:
        return old is new
    return [b.to_list() for b in old] == [b.to_list() for b in new]


def _first_id(path: Path, at: int) -> str | None:
    """The id of the row of a previous build's rows file that starts at byte ``at``."""
    for item_id, _, _, _ in _old_rows(path, at):
        return item_id
    return None


def _duplicate(where: str, item_id: str) -> InputError:
    return InputError(
        f"{where}: duplicate item id {item_id!r}", hint="every item of a dataset needs its own id"
    )


def _check_unique(rows_path: Path, items_path: Path) -> None:
    """Refuse duplicate ids in an ``items.ndjson`` that is not sorted by id (a sorted one is
    checked line by line; this costs a set of the ids, only for files ``eotdl`` did not
    write)."""
    seen: set[str] = set()
    for number, item_id in enumerate(ItemRows(rows_path, 1).ids(), 1):
        if item_id in seen:
            raise _duplicate(f"{items_path} (item {number})", item_id)
        seen.add(item_id)


def _reused_ids(gone: list[str], rows_path: Path, in_order: bool) -> set[str]:
    """Of the previous ids the merge passed over, those still in the folder (possible only
    when ``items.ndjson`` is not sorted by id)."""
    if in_order or not gone:
        return set()
    wanted = set(gone)
    return {i for i in ItemRows(rows_path, 1).ids() if i in wanted}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def iter_tree_files(root: Path) -> Iterator[Path]:
    """Every JSON file of a written tree (for tests and publishing)."""
    yield from sorted(p for p in root.rglob("*.json") if not p.name.startswith("."))
