"""``eotdl preview``: serve a built site on 127.0.0.1, as a static host would.

The server is :class:`eotdl.catalog.siteserver.SiteServer`, the same one ``eotdl serve`` runs
with its STAC API switched on: the site's content types (``application/geo+json`` for items,
``application/vnd.apache.parquet``, …), ``index.html`` for folders, the site's ``404.html`` for
what is missing, byte ranges, files streamed, permissive CORS, and nothing outside the site or
starting with a dot.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from eotdl.catalog.siteserver import SiteServer
from eotdl.errors import InputError

DEFAULT_PORT = 8000


@dataclass
class RunningSite:
    """A preview server running in a background thread (for tests and scripts)."""

    server: SiteServer
    url: str
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(
    root: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    quiet: bool = False,
) -> SiteServer:
    """A server for the site folder ``root`` (``port`` 0 picks a free port)."""
    folder = Path(root).resolve()
    if not (folder / "index.html").is_file() and not (folder / "catalog.json").is_file():
        raise InputError(
            f"{folder} is not a built site (no index.html or catalog.json)",
            hint="run `eotdl build` first, or pass the site folder with --dir",
        )
    try:
        return SiteServer((host, port), root=folder, log=not quiet)
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pass another --port (0 picks a free one)",
        ) from None


def server_url(server: SiteServer) -> str:
    """The URL of the site a server serves."""
    return server.url


def start_site(root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0) -> RunningSite:
    """Serve ``root`` in a background thread; ``stop()`` (or ``with``) ends it."""
    server = make_server(root, host, port, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningSite(server, server_url(server), thread)
