"""Checks on the bytes: every asset is in the store, with its declared checksum and size;
every label item's ``source`` links lead somewhere that exists."""

from __future__ import annotations

import posixpath
import urllib.parse
from collections.abc import Iterator

from eotdl.catalog.hrefkeys import HrefTarget
from eotdl.catalog.vocabulary import AssetRef, asset_refs, is_label_item
from eotdl.errors import EotdlError
from eotdl.qa.context import QAContext
from eotdl.qa.findings import ERROR, WARNING, Finding, error, info, item_ref, warning
from eotdl.storage import keys
from eotdl.storage.hashing import sha256_of_checksum


def check_assets(ctx: QAContext) -> Iterator[Finding]:
    """Every asset in the lab's store exists and re-hashes to its file:checksum and file:size."""
    entries: list[tuple[str, str | None, int | None]] = []
    owners: dict[str, list[AssetRef]] = {}
    for item in ctx.iter_items():
        for ref in asset_refs(item):
            obj = item_ref(ref.item_id, ref.key)
            key = ctx.store_key(ref.href)
            if key is None:
                yield info(
                    "asset-external",
                    obj,
                    f"{ref.href} is outside the lab's store: not verified",
                    "upload it with `eotdl ingest` so the lab holds every byte it lists",
                )
                continue
            if ref.checksum is None:
                yield warning(
                    "asset-no-checksum",
                    obj,
                    "the asset has no file:checksum: downloads cannot be verified",
                    "re-ingest the dataset (the builders write file:checksum and file:size)",
                )
            elif not _valid_checksum(ref.checksum):
                yield error(
                    "asset-bad-checksum",
                    obj,
                    f"file:checksum {ref.checksum!r} is not a sha2-256 multihash",
                    "write file:checksum as '1220' + the SHA-256 hex digest",
                )
                continue
            if key not in owners:
                entries.append((key, ref.checksum, ref.size))
            owners.setdefault(key, []).append(ref)
    if not entries:
        return
    try:
        results = ctx.verify_objects(entries)
    except EotdlError as exc:
        yield error("store-unreachable", "store", exc.message, exc.hint or "check [store] settings")
        return
    declared = {key: (checksum, size) for key, checksum, size in entries}
    for result in results:
        if result.status == "ok":
            continue
        for ref in owners.get(result.key, []):
            obj = item_ref(ref.item_id, ref.key)
            if result.status == "missing":
                yield error(
                    "asset-missing",
                    obj,
                    f"{ref.href} is not in the store",
                    "upload it again (`eotdl ingest` or `eotdl rebuild`)",
                )
            elif result.status == "corrupt":
                checksum, size = declared[result.key]
                what = "size" if size is not None and result.size != size else "checksum"
                yield error(
                    f"asset-{what}",
                    obj,
                    f"the stored bytes do not match the declared file:{what}: {result.message}",
                    "re-upload the file, or correct file:checksum/file:size to the real bytes",
                )
            else:
                yield error(
                    "asset-unreadable",
                    obj,
                    f"could not read {ref.href}: {result.message}",
                    "check the store",
                )


def _valid_checksum(checksum: str) -> bool:
    try:
        sha256_of_checksum(checksum)
    except EotdlError:
        return False
    return True


def source_link_target(href: str) -> str:
    """The item id a ``source`` link names: its file name without ``.json``."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(href).path)
    name = posixpath.basename(path.rstrip("/"))
    return name[: -len(".json")] if name.endswith(".json") else name


def check_label_sources(ctx: QAContext) -> Iterator[Finding]:
    """Label items link (``rel: source``) to source imagery that exists: an item of this
    dataset, or an asset in the store."""
    ids = ctx.item_ids
    fix = "link each label item to its imagery: {'rel': 'source', 'href': ITEM-or-ASSET}"
    for item in ctx.iter_items():
        if not is_label_item(item):
            continue
        obj = item_ref(item["id"])
        links = [
            link
            for link in item.get("links") or []
            if isinstance(link, dict) and link.get("rel") == "source"
        ]
        if not links:
            yield warning(
                "label-no-source", obj, "the label item has no 'source' link to its imagery", fix
            )
            continue
        for link in links:
            href = str(link.get("href", ""))
            found = _source_state(ctx, href, ids)
            if found == "ok":
                continue
            if found == "external":
                yield info(
                    "label-source-external",
                    obj,
                    f"source link {href!r} points outside the lab: not checked (no network)",
                    "import the source imagery into the lab so the dataset is self-contained",
                )
                continue
            yield error(
                "label-source-missing",
                obj,
                f"source link {href!r} leads to no item of this dataset and no stored asset",
                fix,
            )


def _source_state(ctx: QAContext, href: str, ids: set[str]) -> str:
    """ "ok" (an item or a stored object), "external" (a URL outside the lab) or "missing"."""
    if source_link_target(href) in ids:
        return "ok"
    key = ctx.store_key(href)
    if key is None:
        scheme = urllib.parse.urlsplit(href).scheme
        return "external" if scheme in ("http", "https", "s3", "gs") else "missing"
    try:
        return "ok" if ctx.store.head(key) is not None else "missing"
    except EotdlError:
        return "missing"


def check_changed_assets(ctx: QAContext) -> list[Finding]:
    """The asset hrefs of a pull request's changed items: inside the lab's store (no local
    path, no '..', no other host), there, and with the declared file:size and file:checksum
    (one HEAD each: the content-addressed key says the checksum, nothing is re-hashed)."""
    findings: list[Finding] = []
    folder = ctx.folder.path
    store = ctx.store
    for item in ctx.iter_items():
        item_id = str(item.get("id"))
        for key, asset in sorted((item.get("assets") or {}).items()):
            href = str((asset or {}).get("href", ""))
            where = f"asset {key!r} ({href})"
            target = ctx.store_keys.locate(href, folder)
            problem = _href_problem(href, target)
            if problem:
                findings.append(
                    Finding(
                        ERROR,
                        "href-outside",
                        item_id,
                        f"{where}: {problem}",
                        "upload the file with `eotdl ingest` so it lives in the"
                        " lab's store, and point at it there",
                    )
                )
                continue
            object_key = target.key
            if object_key is None:
                continue
            info = store.head(object_key)
            if info is None:
                findings.append(
                    Finding(
                        ERROR,
                        "asset-missing",
                        item_id,
                        f"{where}: not in the lab's store",
                        "upload it (eotdl ingest does) before opening the PR",
                    )
                )
                continue
            size = asset.get("file:size")
            if isinstance(size, int) and size != info.size:
                findings.append(
                    Finding(
                        ERROR,
                        "asset-size",
                        item_id,
                        f"{where}: file:size {size} but the store holds {info.size} bytes",
                        "fix file:size",
                    )
                )
            checksum = asset.get("file:checksum")
            expected = keys.sha256_of_key(object_key)
            if isinstance(checksum, str) and expected is not None:
                try:
                    declared = sha256_of_checksum(checksum)
                except EotdlError as exc:
                    findings.append(
                        Finding(
                            ERROR,
                            "asset-checksum",
                            item_id,
                            f"{where}: {exc.message}",
                            "fix file:checksum",
                        )
                    )
                    continue
                if declared != expected:
                    findings.append(
                        Finding(
                            ERROR,
                            "asset-checksum",
                            item_id,
                            f"{where}: file:checksum does not match the"
                            " content-addressed object it points at",
                            "fix file:checksum or the href",
                        )
                    )
            elif checksum is None:
                findings.append(
                    Finding(
                        WARNING,
                        "asset-no-checksum",
                        item_id,
                        f"{where}: no file:checksum",
                        "add file:checksum",
                    )
                )
    return findings


def _href_problem(href: str, target: HrefTarget) -> str:
    """Why ``href`` is not an object of the lab's store, or "" when it is one. A local path
    is refused even into the store: a pull request's hrefs must resolve for every reader."""
    parts = urllib.parse.urlsplit(href)
    if href and (parts.scheme == "file" or href.startswith("/") or len(parts.scheme) == 1):
        return "an absolute local path, which no reader can follow"
    return target.why_not
