"""The lab's object store, and how asset hrefs in the lab point into it.

Hrefs into the embedded store (a folder inside the lab) are written relative to the dataset
folder, so a clone of the lab with its store is self-contained and no absolute local path ever
enters git; other stores get the store's own URL for the object.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from eotdl.catalog.lab import Lab
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


def resolve_asset(lab: Lab, dataset_dir: Path, href: str) -> str | None:
    """The store key an asset href of the lab refers to (None when it is not in the store)."""
    folder = embedded_store_dir(lab)
    parts = urllib.parse.urlsplit(href)
    if folder is not None and not parts.scheme and not href.startswith("/"):
        absolute = (dataset_dir / urllib.parse.unquote(parts.path)).resolve()
        try:
            return absolute.relative_to(folder).as_posix()
        except ValueError:
            return None
    return open_lab_store(lab).key_for_href(href)
