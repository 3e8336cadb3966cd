"""Searching datasets and serving them: item search over stac-geoparquet with CQL2
(:mod:`~eotdl.api.search`, :mod:`~eotdl.api.parquet_engine`, :mod:`~eotdl.api.cql2`), search
from Python as ``eotdl search`` does (:func:`search_lab`, a :class:`SearchPage` of Items), and
the read-only STAC API of ``eotdl serve`` (:func:`stac_api_server`; or :func:`load_index` a
:class:`SiteIndex` once and :func:`make_server` over it; :mod:`~eotdl.api.routes`,
:mod:`~eotdl.api.openapi`).

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.api.index import SiteIndex, load_index
    from eotdl.api.server import make_server, stac_api_server
    from eotdl.api.site_search import SearchPage, search_lab

__all__ = ["SearchPage", "SiteIndex", "load_index", "make_server", "search_lab", "stac_api_server"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SiteIndex": "eotdl.api.index",
        "load_index": "eotdl.api.index",
        "make_server": "eotdl.api.server",
        "stac_api_server": "eotdl.api.server",
        "SearchPage": "eotdl.api.site_search",
        "search_lab": "eotdl.api.site_search",
    },
)
