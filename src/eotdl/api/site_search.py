"""Searching a lab or a built site from Python, as ``eotdl search`` does.

:func:`search_lab` finds the site (by :func:`~eotdl.catalog.lab.locate_lab_or_site`), builds
and checks the query, runs it over the site's stac-geoparquet files and returns the Items with
every asset href absolute (a local path or a URL), ready to download or open.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from eotdl.api.index import SiteIndex, load_index
from eotdl.api.search import SearchResult, parse_query
from eotdl.errors import InputError
from eotdl.read.finding import absolute_assets

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@dataclass
class SearchPage:
    """The Items found (at most ``limit``), and how many matched in all."""

    items: list[dict[str, Any]]
    matched: int

    @property
    def returned(self) -> int:
        return len(self.items)

    def feature_collection(self) -> dict[str, Any]:
        """The page as one GeoJSON FeatureCollection (with STAC API's counts)."""
        return {
            "type": "FeatureCollection",
            "features": self.items,
            "numberMatched": self.matched,
            "numberReturned": self.returned,
        }


def search_lab(
    lab: Lab | str | os.PathLike[str] | None = None,
    *,
    collections: Sequence[str] = (),
    ids: str | Sequence[str] | None = None,
    bbox: str | Sequence[float] | None = None,
    datetime: str | None = None,
    filter: str | dict[str, Any] | None = None,  # CQL2, named as in the STAC API
    sortby: str | None = None,
    limit: int = 100,
    endpoint_url: str | None = None,
) -> SearchPage:
    """Search the Items of a lab or a built site.

    ``lab``: a lab folder, or a built site (folder, ``http(s)://`` URL or ``s3://`` prefix
    holding ``catalog.json``); default ``$EOTDL_LAB``, else the lab here (its built site when
    there is one). ``ids`` and ``bbox`` take lists or comma-separated text; ``datetime`` is
    ``A``, ``A/B``, ``../B`` or ``A/..`` (RFC 3339 or plain dates); ``filter`` is CQL2-text or
    CQL2-JSON (text or a dict); ``sortby`` like ``-datetime,+id``; ``limit`` 0 means all.
    ``endpoint_url``: the S3 endpoint for an ``s3://`` site (default: ``AWS_ENDPOINT_URL``).
    Bad input raises :class:`~eotdl.errors.InputError` naming what to fix.
    """
    if limit < 0:
        raise InputError(f"limit {limit}: must be 0 (all) or more")
    params: dict[str, Any] = {
        "collections": ",".join(collections) or None,
        "ids": ids if ids is None or isinstance(ids, str) else ",".join(ids),
        "bbox": bbox if bbox is None or isinstance(bbox, str) else ",".join(map(str, bbox)),
        "datetime": datetime,
        "filter": orjson.dumps(filter).decode() if isinstance(filter, dict) else filter,
        "sortby": sortby,
    }
    query = parse_query(params, "GET", strict=False)
    query.limit = limit or sys.maxsize
    site = load_index(lab, endpoint_url=endpoint_url)
    unknown = sorted(set(collections) - set(site.entries))
    if unknown:
        raise InputError(
            f"no collection {', '.join(map(repr, unknown))} here",
            hint=f"collections: {', '.join(site.entries) or 'none'}",
        )
    result = site.index.search(query)
    return SearchPage(_absolute(site, result), result.matched)


def _absolute(site: SiteIndex, result: SearchResult) -> list[dict[str, Any]]:
    """The page's items with asset hrefs made absolute (local paths or URLs)."""
    return [
        absolute_assets(item, table.base or site.entries[table.collection_id].location)
        for item, (table, _) in zip(result.items(), result.rows, strict=True)
    ]
