"""The Content-Type of every file of a built site, as a static host would send it (shared by
the site server, `eotdl preview`, `eotdl serve` and `eotdl publish`)."""

from __future__ import annotations

import mimetypes
import posixpath

from eotdl.catalog.geoparquet import MEDIA_TYPE as PARQUET

_BY_SUFFIX = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".parquet": PARQUET,
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".map": "application/json",
    ".ico": "image/x-icon",
    ".xml": "application/xml",
}


def content_type(relative: str) -> str:
    """The media type to serve ``relative`` (a '/'-separated path in the site) with.

    STAC Items (``…/items/<id>.json``) are GeoJSON Features: ``application/geo+json``.
    """
    relative = relative.lstrip("/")
    suffix = posixpath.splitext(relative)[1].lower()
    if suffix == ".json" and posixpath.basename(posixpath.dirname(relative)) == "items":
        return "application/geo+json"
    known = _BY_SUFFIX.get(suffix)
    if known:
        return known
    return mimetypes.guess_type(relative)[0] or "application/octet-stream"
