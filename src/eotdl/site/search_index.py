"""``search-index.json``: what the home page searches and filters, one compact row per dataset.

Rows are arrays under a ``fields`` header (names are not repeated a thousand times): id, title,
tasks, kind, license, quality level, bbox, time range, item count, size, thumbnail, page URL,
group (datasets or models) and the words text search matches. Written with a JSON serializer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eotdl.catalog import canonical

FORMAT = 1
FIELDS = [
    "id",
    "title",
    "tasks",
    "kind",
    "license",
    "level",
    "bbox",
    "start",
    "end",
    "items",
    "size",
    "thumbnail",
    "url",
    "group",
    "text",
]


def _text(summary: dict[str, Any]) -> str:
    words = [
        summary.get("id", ""),
        summary.get("title", ""),
        summary.get("description", ""),
        " ".join(summary.get("tags") or []),
        " ".join(summary.get("authors") or []),
    ]
    return " ".join(" ".join(str(w) for w in words).lower().split())


def search_index(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The index as a JSON-able dict."""
    rows = []
    for s in summaries:
        row = dict(s, text=_text(s))
        rows.append([row.get(name) for name in FIELDS])
    return {"format": FORMAT, "fields": FIELDS, "rows": rows}


def search_index_bytes(summaries: Iterable[dict[str, Any]]) -> bytes:
    """The index serialised (compact canonical JSON)."""
    return canonical.dumps(search_index(summaries)) + b"\n"


def read_search_index(data: bytes) -> list[dict[str, Any]]:
    """Rows of a serialised index as dicts (for tests and other readers)."""
    index = canonical.loads(data)
    fields = index["fields"]
    return [dict(zip(fields, row, strict=True)) for row in index["rows"]]
