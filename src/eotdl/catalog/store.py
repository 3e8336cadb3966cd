"""The lab's object store, and how asset hrefs in the lab point into it.

Hrefs into the embedded store (a folder inside the lab) are written relative to the dataset
folder, so a clone of the lab with its store is self-contained and no absolute local path ever
enters git; other stores get the store's own URL for the object.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import urllib.parse
from pathlib import Path

from eotdl.catalog.lab import Lab
from eotdl.errors import InputError
from eotdl.storage import ObjectStore, StoredObject, open_store


def open_lab_store(lab: Lab) -> ObjectStore:
    """The object store configured in ``eotdl.toml``."""
    config = lab.config.store
    return open_store(
        lab.store_url,
        endpoint_url=config.endpoint_url or None,
        region=config.region or None,
        profile=config.profile or None,
        public_url=config.public_url or None,
    )


@dataclasses.dataclass(frozen=True)
class StoreSpec:
    """How another process (a Dask worker) opens the lab's store: its URL and settings, with
    no lab folder needed there (credentials stay that process's own: environment, profile or
    instance role)."""

    url: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    public_url: str | None = None

    @classmethod
    def of(cls, lab: Lab) -> StoreSpec:
        config = lab.config.store
        return cls(
            lab.store_url,
            config.endpoint_url or None,
            config.region or None,
            config.profile or None,
            config.public_url or None,
        )

    def open(self) -> ObjectStore:
        """The store, opened once per process and spec (an S3 client is not free to make)."""
        return _open_spec(self)


@functools.lru_cache(maxsize=4)
def _open_spec(spec: StoreSpec) -> ObjectStore:
    return open_store(
        spec.url,
        endpoint_url=spec.endpoint_url,
        region=spec.region,
        profile=spec.profile,
        public_url=spec.public_url,
    )


def embedded_store_dir(lab: Lab) -> Path | None:
    """The store's folder when it is a ``file://`` store inside the lab, else None."""
    url = lab.store_url
    if not url.startswith("file://"):
        return None
    folder = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).resolve()
    try:
        folder.relative_to(lab.root)
    except ValueError:
        return None
    return folder


def asset_href(lab: Lab, dataset_dir: Path, stored: StoredObject) -> str:
    """The href an item in ``dataset_dir`` uses for ``stored``."""
    folder = embedded_store_dir(lab)
    if folder is None:
        return stored.href
    target = folder / stored.key
    relative = os.path.relpath(target, dataset_dir.resolve()).replace(os.sep, "/")
    return urllib.parse.quote(relative, safe="/.-_~")


# -- where a site's readers find the bytes ----------------------------------------------------
#
# One rule for every deployment: a site's root stands where its store's root stands. An object
# whose key is ``objects/sha256/ab/…`` is at ``objects/sha256/ab/…`` under the site root, and
# the site's hrefs to it are relative (``../../objects/…``), so they resolve from a folder, from
# ``eotdl preview``/``serve`` and from any static host. Each deployment keeps the rule:
# ``_site/`` gets ``objects`` as a link to the store's own ``objects`` folder (file stores);
# ``eotdl publish`` to the lab's store writes the site at the store's root, beside ``objects/``;
# anywhere else the bytes are not beside the site, so the lab's ``[store] public_url`` is
# needed, and with it every object href is that absolute URL instead.

#: The folder of a site (and of a store) holding the objects.
OBJECTS = "objects"


def public_url(lab: Lab) -> str:
    """The URL the store is read from by the site's readers ('' when not set)."""
    return lab.config.store.public_url.rstrip("/")


def file_store_dir(lab: Lab) -> Path | None:
    """The root folder of a ``file://`` (or plain folder) store, else None."""
    url = lab.store_url
    if url.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).resolve()
    if "://" not in url:
        return Path(url).resolve()
    return None


class SiteHrefs:
    """Rewrite a lab's hrefs for a site rooted at ``site_root`` by the one rule above.

    An href into the lab's store becomes ``<up to the site root>/objects/…`` (or the store's
    ``public_url`` with the key); any other relative href is rebased so it still resolves from
    its new folder; other absolute hrefs are kept. Cached per folder: linear in the hrefs.
    """

    def __init__(self, lab: Lab, site_root: Path) -> None:
        self.lab = lab
        self.site_root = os.path.normpath(os.fspath(site_root))
        self.public_url = public_url(lab)
        self.lab_root = os.path.normpath(os.fspath(lab.root))
        from eotdl.catalog.hrefkeys import StoreKeys  # it builds on this module

        self.keys = StoreKeys(lab)
        self.store_hrefs = 0

    def key_of(self, href: str, source_dir: Path) -> str | None:
        """The store key ``href`` (written in ``source_dir``) points to, or None (the rules of
        :mod:`eotdl.catalog.hrefkeys`)."""
        return self.keys.key(href, source_dir)

    def object_href(self, key: str, target_dir: Path) -> str:
        """The href of the object ``key`` from a document in ``target_dir``."""
        self.store_hrefs += 1
        quoted = urllib.parse.quote(key, safe="/.-_~")
        if self.public_url:
            return f"{self.public_url}/{quoted}"
        return _up_to(os.fspath(target_dir), self.site_root) + quoted

    def href(self, href: str, source_dir: Path, target_dir: Path) -> str:
        """``href`` written in ``source_dir``, as written in ``target_dir`` of the site."""
        key = self.key_of(href, source_dir)
        if key is not None and key.startswith(OBJECTS + "/"):
            fragment = urllib.parse.urlsplit(href).fragment
            return self.object_href(key, target_dir) + (f"#{fragment}" if fragment else "")
        if href.startswith(("file:", "/")) or os.path.isabs(href):
            raise InputError(
                f"{source_dir}: the href {href!r} is a local path, which the site's readers"
                " cannot reach",
                hint="put the file in the lab's store (`eotdl ingest` does) or use a public URL",
            )
        from eotdl.catalog.tree import rebase

        # the site mirrors the lab (datasets/<name>/, models/<name>/): a link between lab
        # documents points to the same place in the site, never back into the lab
        return rebase(href, self._in_site(os.fspath(source_dir)), target_dir)

    def _in_site(self, source_dir: str) -> Path:
        return Path(_mirrored(source_dir, self.lab_root, self.site_root))


@functools.lru_cache(maxsize=4096)
def _mirrored(folder: str, lab_root: str, site_root: str) -> str:
    relative = os.path.relpath(os.path.normpath(folder), lab_root)
    if relative == ".." or relative.startswith(".." + os.sep):
        return folder
    return os.path.normpath(os.path.join(site_root, relative))


@functools.lru_cache(maxsize=4096)
def _up_to(folder: str, root: str) -> str:
    relative = os.path.relpath(root, os.path.normpath(folder)).replace(os.sep, "/")
    return "./" if relative == "." else relative + "/"


def link_objects(lab: Lab, site_folder: Path, final_site: Path) -> bool:
    """Make ``objects`` in a site folder a link to the store's ``objects`` folder (a relative
    link when the site ends up at ``final_site``), so the built site holds the bytes by the
    rule above. False when the store is not a folder (or has a ``public_url``)."""
    store_dir = file_store_dir(lab)
    if store_dir is None or public_url(lab):
        return False
    (store_dir / OBJECTS).mkdir(parents=True, exist_ok=True)  # never a dangling link
    link = site_folder / OBJECTS
    target = os.path.relpath(store_dir / OBJECTS, final_site.resolve())
    if link.is_symlink() and os.readlink(link) == target:
        return True
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)
    return True


def objects_mount(site_root: Path) -> Path | None:
    """The folder a server of ``site_root`` serves under ``/objects/`` (the link the build
    made), or None. For servers that do not follow links: mount this at ``/objects/``."""
    link = Path(site_root) / OBJECTS
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None
