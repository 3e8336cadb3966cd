"""The static site: a lab's STAC tree, stac-geoparquet files, search index and HTML pages.

`build_site` (``eotdl build``) writes it incrementally and atomically, `make_server`
(``eotdl preview``) serves it on 127.0.0.1, `publish_site` (``eotdl publish``) uploads it.
"""
