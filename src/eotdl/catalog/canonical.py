"""Canonical JSON: sorted keys, no insignificant whitespace, UTF-8.

Identical content gives identical bytes, so a git diff of ``items.ndjson`` shows exactly the
items that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
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


#: A placeholder element of a list given to :func:`pretty_chunks`, where a stream's elements go.
STREAM = "\x00eotdl-stream\x00"
_END = object()


def pretty_chunks(obj: Any, streams: Sequence[Iterable[Any]]) -> Iterator[bytes]:
    """``dumps_pretty(obj)`` a piece at a time, for objects too big to hold: the n-th
    :data:`STREAM` element of a list (in document order) stands for the elements of
    ``streams[n]``, any number, serialised as they come. An element given as ``bytes`` is
    taken as already serialised by :func:`pretty_element` (say, spooled to a file)."""
    pieces = dumps_pretty(obj).split(dumps(STREAM))
    if len(pieces) != len(streams) + 1:
        raise ValueError(f"{len(pieces) - 1} placeholders for {len(streams)} streams")
    for n, stream in enumerate(streams):
        before, after = pieces[n], pieces[n + 1]
        indent = before[before.rfind(b"\n") + 1 :]
        elements = iter(stream)
        first = next(elements, _END)
        if first is _END:  # take the placeholder out, and one comma with it
            if before.endswith(b",\n" + indent):
                before = before[: -len(indent) - 2]
            elif after.startswith(b",\n"):
                after = after[2 + len(indent) :]
            else:  # it was the only element
                before = before[: -len(indent) - 1]
                after = after[after.index(b"]") :]
            pieces[n + 1] = after
            yield before
            continue
        yield before
        separator = b",\n" + indent
        chunk = [_indented(first, indent)]
        for element in elements:
            chunk.append(separator)
            chunk.append(_indented(element, indent))
            if len(chunk) >= 4096:
                yield b"".join(chunk)
                chunk = []
        yield b"".join(chunk)
    yield pieces[-1]


def pretty_element(obj: Any) -> bytes:
    """``obj`` as :func:`dumps_pretty` writes it, without the trailing newline."""
    return orjson.dumps(obj, option=_OPTIONS | orjson.OPT_INDENT_2)


def _indented(element: Any, indent: bytes) -> bytes:
    data = element if isinstance(element, bytes) else pretty_element(element)
    return data.replace(b"\n", b"\n" + indent) if indent else data
