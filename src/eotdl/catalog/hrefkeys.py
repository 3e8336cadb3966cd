"""Which object of the lab's store an href names: one set of rules for every reader.

Every part that turns an asset href back into a store key (verify and gc, QA, the PR check,
previews, labelling, the site build) asks :class:`StoreKeys` (or :func:`store_key`). The
rules, in order; an href that matches none names no object of the store:

1. An empty href names nothing.
2. A **relative** href (no scheme, no leading ``/``) is resolved against the folder of the
   document holding it, lexically (``..`` is applied to the path as written, links are not
   followed). It must stay inside the lab: one that climbs out with ``..`` names nothing,
   wherever it lands. It names an object when it lands inside the store's folder, which it
   can only do when the store is a ``file://`` folder inside the lab (the embedded store).
   Under a built site, the ``objects`` link the build makes (see :mod:`eotdl.catalog.store`)
   counts as the store's ``objects`` folder.
3. An **absolute local path** or a ``file:`` URL names an object when it is inside the folder
   of a file store.
4. A **URL** under the store's ``public_url``, an ``s3://bucket/prefix/`` URL of an S3 store,
   or that bucket's URL at the store's endpoint names the object at the rest of the URL.
   The store's backend owns rules 3 and 4 (:meth:`~eotdl.storage.ObjectStore.key_for_href`,
   the inverse of the ``href`` it writes for a key).

Every key is a valid relative key (:func:`eotdl.storage.keys.check_key`): no ``..``, no
absolute path, no empty part. :func:`site_object_key` is the one rule for hrefs of a built
site read without its lab (a thumbnail's key on the home page).
"""

from __future__ import annotations

import functools
import os
import urllib.parse
from dataclasses import dataclass
from urllib.parse import unquote

from eotdl.catalog.lab import Lab
from eotdl.catalog.store import OBJECTS, embedded_store_dir, file_store_dir, open_lab_store
from eotdl.errors import EotdlError, InputError
from eotdl.storage import ObjectStore
from eotdl.storage.keys import CONTENT_PREFIX, check_key

#: Why a relative href names no object (the messages QA shows).
CLIMBS_OUT = "climbs out of the lab with '..'"
NO_STORE_FOLDER = "a relative path, but the lab's store is not a folder inside the lab"
OUTSIDE_STORE = "points inside the lab but outside its store"
#: Why an absolute href names no object.
NOT_IN_STORE = "points outside the lab's store"


@dataclass(frozen=True)
class HrefTarget:
    """Where an href leads: ``key`` in the lab's store, or None and ``why_not`` says why."""

    key: str | None
    why_not: str = ""


class StoreKeys:
    """The store keys the hrefs of one lab name (the rules of this module).

    Opens the store only when an absolute href needs it; relative hrefs are resolved per
    folder once (cached), so a pass over 100k items stays linear.
    """

    def __init__(self, lab: Lab, store: ObjectStore | None = None) -> None:
        self.lab = lab
        self._store = store
        folder = file_store_dir(lab)
        self.store_dir = os.fspath(folder) if folder is not None else None
        self.embedded = embedded_store_dir(lab) is not None
        self.lab_root = os.fspath(lab.root)
        self._links: dict[str, str | None] = {}

    @property
    def store(self) -> ObjectStore:
        """The lab's store (opened on first use)."""
        if self._store is None:
            self._store = open_lab_store(self.lab)
        return self._store

    def key(self, href: str, source_dir: str | os.PathLike[str]) -> str | None:
        """The store key ``href`` (written in a document in ``source_dir``) names, or None."""
        return self._find(href, source_dir)[0]

    def locate(self, href: str, source_dir: str | os.PathLike[str]) -> HrefTarget:
        """The key ``href`` names, or why it names none."""
        return HrefTarget(*self._find(href, source_dir))

    def _find(self, href: str, source_dir: str | os.PathLike[str]) -> tuple[str | None, str]:
        if not href:
            return None, "empty href"
        parts = urllib.parse.urlsplit(href)
        if not parts.scheme and not href.startswith("/"):
            return self._relative(parts.path, os.fspath(source_dir))
        try:
            key = self.store.key_for_href(href)
        except (EotdlError, ValueError):  # a store that cannot be opened holds nothing
            key = None
        return (key, "") if key is not None else (None, NOT_IN_STORE)

    def _relative(self, path: str, source_dir: str) -> tuple[str | None, str]:
        folder, _, name = path.rpartition("/")
        target, inside, why_not = _lexical(
            folder, source_dir, self.lab_root, self.store_dir, self.embedded
        )
        if inside is None and why_not != CLIMBS_OUT and self.store_dir is not None:
            if target not in self._links:  # the file system is asked once per folder
                self._links[target] = _through_objects_link(target, self.lab_root, self.store_dir)
            inside = self._links[target]
        if inside is None:
            return None, why_not
        name = unquote(name)
        if name in ("", ".", "..") or "/" in name or "\\" in name or "\x00" in name:
            return None, OUTSIDE_STORE  # the folder is a valid key prefix: only the name
        return inside + name, ""


def store_key(lab: Lab, source_dir: str | os.PathLike[str], href: str) -> str | None:
    """The key of the lab's store that ``href``, written in ``source_dir``, names (or None).

    One call; to resolve many hrefs, make one :class:`StoreKeys` and reuse it.
    """
    return StoreKeys(lab).key(href, source_dir)


@functools.lru_cache(maxsize=4096)
def _lexical(
    folder: str, source_dir: str, lab_root: str, store_dir: str | None, embedded: bool
) -> tuple[str, str | None, str]:
    """Where the folder part of a relative href leads, as written (no link followed): the
    folder, its key prefix in the embedded store ("" or ending in "/"; None when not there)
    and why not."""
    target = os.path.normpath(os.path.join(os.path.abspath(source_dir), unquote(folder)))
    if _below(target, lab_root) is None:
        return target, None, CLIMBS_OUT
    inside = _below(target, store_dir) if embedded and store_dir is not None else None
    if inside is None:
        return target, None, OUTSIDE_STORE if embedded else NO_STORE_FOLDER
    prefix = _valid_prefix(inside + "/" if inside else "")
    return target, prefix, "" if prefix is not None else OUTSIDE_STORE


def _through_objects_link(target: str, lab_root: str, store_dir: str) -> str | None:
    """The key prefix of the folder ``target`` when it is under a built site's ``objects``
    link to the store's ``objects`` folder (the one link a site holds), else None."""
    objects = os.path.realpath(os.path.join(store_dir, OBJECTS))
    current = target
    while _below(current, lab_root) is not None:
        if os.path.basename(current) == OBJECTS and os.path.islink(current):
            if os.path.realpath(current) != objects:
                return None
            rest = _below(target, current)
            return _valid_prefix(OBJECTS + "/" + (rest + "/" if rest else ""))
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return None


def _valid_prefix(prefix: str) -> str | None:
    """``prefix`` ("" or ending in "/") if a valid name after it makes a valid key."""
    try:
        check_key(prefix + "x")
    except InputError:
        return None
    return prefix


def _below(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` (posix, "" for the root itself), None when outside."""
    relative = os.path.relpath(path, root)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return "" if relative == os.curdir else relative.replace(os.sep, "/")


def key_under(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> str | None:
    """The key of the local ``path`` in a store whose folder (or local mirror) is ``folder``:
    its path below ``folder``, ``..`` applied lexically; None when it leaves ``folder`` or is
    not a valid key."""
    inside = _below(os.path.abspath(path), os.path.abspath(folder))
    if not inside:
        return None
    try:
        return check_key(inside)
    except InputError:
        return None


def site_object_key(href: str) -> str | None:
    """The content-addressed key an href of a built site names, read without the lab.

    By the site's rule (:mod:`eotdl.catalog.store`) an object is at its key under the site's
    root (``../../objects/sha256/…``) or under the store's ``public_url``: the key starts at
    the path's ``objects/sha256/`` segment.
    """
    path = urllib.parse.urlsplit(href).path
    marker = path.find(CONTENT_PREFIX)
    while marker > 0 and path[marker - 1] != "/":
        marker = path.find(CONTENT_PREFIX, marker + 1)
    if marker < 0:
        return None
    try:
        return check_key(unquote(path[marker:]))
    except InputError:
        return None
