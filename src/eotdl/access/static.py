"""Files of a built site as HTTP responses: content types a static host would send, and
single byte ranges (for COGs and parquet footers)."""

from __future__ import annotations

import mimetypes
import os

from eotdl.access.responses import GEOJSON, JSON, Response


def file_response(path: str, range_header: str | None) -> Response:
    """The file at ``path`` (or the byte range asked for) as a response."""
    kind = _content_type(path)
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if range_header:
            span = _parse_range(range_header, size)
            if span is None:
                return Response(416, b"", kind, {"Content-Range": f"bytes */{size}"})
            start, end = span
            handle.seek(start)
            data = handle.read(end - start + 1)
            return Response(206, data, kind, {"Content-Range": f"bytes {start}-{end}/{size}"})
        return Response(200, handle.read(), kind)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first:
            start = int(first)
            end = int(last) if last else size - 1
        else:
            start, end = max(0, size - int(last)), size - 1
    except ValueError:
        return None
    end = min(end, size - 1)
    return (start, end) if start <= end else None


def _content_type(path: str) -> str:
    name = path.lower()
    if name.endswith(".json"):
        return JSON
    if name.endswith(".geojson"):
        return GEOJSON
    if name.endswith(".parquet"):
        return "application/vnd.apache.parquet"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"
