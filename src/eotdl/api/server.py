"""The HTTP side of ``eotdl serve``: the site server of :mod:`eotdl.catalog.siteserver` (the
same one ``eotdl preview`` runs) with :class:`eotdl.api.routes.StacApi` answering first."""

from __future__ import annotations

import os

from eotdl.api.index import SiteIndex, load_index
from eotdl.api.parquet_engine import ParquetTable
from eotdl.api.routes import StacApi
from eotdl.catalog.lab import Lab
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


def stac_api_server(
    where: Lab | str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    endpoint_url: str | None = None,
    log: bool | None = None,
) -> SiteServer:
    """The server ``eotdl serve`` runs: the STAC API and the files of a built site (a folder,
    an ``http(s)://`` URL or an ``s3://`` prefix) or of a lab (default: ``$EOTDL_LAB``, else the
    lab here, its built site when there is one). Call ``serve_forever()`` on it (``port`` 0
    picks a free port; ``server.url`` is where it answers)."""
    index = load_index(where, endpoint_url=endpoint_url)
    return make_server(index, host, port, public_url, log)
