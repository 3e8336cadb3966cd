"""Canonical JSON: sorted keys, no insignificant whitespace, UTF-8.

Identical content gives identical bytes, so a git diff of ``items.ndjson`` shows exactly the
items that changed.
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any) -> bytes:
    """Serialise ``obj`` as canonical JSON bytes (no trailing newline)."""
    return orjson.dumps(obj, option=_OPTIONS)


def dumps_pretty(obj: Any) -> bytes:
    """Serialise ``obj`` as sorted, 2-space indented JSON with a trailing newline."""
    return orjson.dumps(obj, option=_OPTIONS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def loads(data: bytes | str) -> Any:
    """Parse JSON text (raises ``orjson.JSONDecodeError``, a ``ValueError``)."""
    return orjson.loads(data)
