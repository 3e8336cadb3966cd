"""Searching datasets and serving them: item search over stac-geoparquet with CQL2
(:mod:`~eotdl.api.search`, :mod:`~eotdl.api.parquet_engine`, :mod:`~eotdl.api.cql2`), search
from Python as ``eotdl search`` does (:mod:`~eotdl.api.site_search`), and the read-only STAC API
of ``eotdl serve`` (:mod:`~eotdl.api.routes`, :mod:`~eotdl.api.server`,
:mod:`~eotdl.api.openapi`)."""
