"""Reading datasets: finding ``NAME[@VERSION]`` on a lab, a built site or any static STAC
catalog (:mod:`~eotdl.read.locate`), downloading its metadata and chosen assets verified
(:mod:`~eotdl.read.download`, ``eotdl get``), the filters every reader shares (splits, bbox,
datetime; :mod:`~eotdl.read.filters`) and stac-geoparquet from any location
(:mod:`~eotdl.read.parquet`)."""
