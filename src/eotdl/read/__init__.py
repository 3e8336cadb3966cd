"""Reading datasets: finding ``NAME[@VERSION]`` on a lab, a built site or any static STAC
catalog (:func:`locate`, giving a :class:`Located`), downloading its metadata and
chosen assets verified (:func:`get`, ``eotdl get``, returning a :class:`GetResult`), the
filters every reader shares (splits, bbox, datetime: :class:`ItemFilter`) and
stac-geoparquet from any location (:func:`read_parquet`).

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.read.download import GetResult, get
    from eotdl.read.filters import ItemFilter
    from eotdl.read.finding import Located, locate
    from eotdl.read.parquet import read_parquet

__all__ = ["GetResult", "ItemFilter", "Located", "get", "locate", "read_parquet"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "GetResult": "eotdl.read.download",
        "get": "eotdl.read.download",
        "ItemFilter": "eotdl.read.filters",
        "Located": "eotdl.read.finding",
        "locate": "eotdl.read.finding",
        "read_parquet": "eotdl.read.parquet",
    },
)
