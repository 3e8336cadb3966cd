"""The static site: a lab's STAC tree, stac-geoparquet files, search index and HTML pages.

:func:`build_site` (``eotdl build``) writes it incrementally and atomically and returns a
:class:`SiteSummary`; :func:`make_server` (``eotdl preview``) serves it on 127.0.0.1, and
:func:`start_site` does so in a background thread (a :class:`RunningSite`, for scripts and
tests); :func:`publish_site` (``eotdl publish``) uploads it and returns a
:class:`PublishSummary`.

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.site.build import SiteSummary, build_site
    from eotdl.site.publish import PublishSummary, publish_site
    from eotdl.site.serve import RunningSite, make_server, start_site

__all__ = [
    "PublishSummary",
    "RunningSite",
    "SiteSummary",
    "build_site",
    "make_server",
    "publish_site",
    "start_site",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SiteSummary": "eotdl.site.build",
        "build_site": "eotdl.site.build",
        "PublishSummary": "eotdl.site.publish",
        "publish_site": "eotdl.site.publish",
        "RunningSite": "eotdl.site.serve",
        "make_server": "eotdl.site.serve",
        "start_site": "eotdl.site.serve",
    },
)
