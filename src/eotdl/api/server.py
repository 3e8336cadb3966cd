"""The HTTP side of ``eotdl serve``: the site server of :mod:`eotdl.catalog.siteserver` (the
same one ``eotdl preview`` runs) with :class:`eotdl.api.routes.StacApi` answering first."""

from __future__ import annotations

import os

from eotdl.api.index import SiteIndex
from eotdl.api.parquet_engine import ParquetTable
from eotdl.api.routes import StacApi
from eotdl.catalog.siteserver import SiteServer
from eotdl.errors import InputError


def make_server(
    site: SiteIndex,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    log: bool | None = None,
) -> SiteServer:
    """A server answering the STAC API for ``site``, and its files (call serve_forever).

    ``log``: print a line per request (default: when ``EOTDL_SERVE_LOG`` is set).
    """
    if log is None:
        log = bool(os.environ.get("EOTDL_SERVE_LOG"))
    for entry in site.entries.values():
        if isinstance(entry.table, ParquetTable):
            entry.table.keep()  # a server answers many searches: decode their columns once
    try:
        return SiteServer(
            (host, port), root=site.local_root, app=StacApi(site), public_url=public_url, log=log
        )
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pass another --port (0 picks a free one)",
        ) from None
