"""Reading single JSON documents (a Collection, a Catalog, an Item) with clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.paths import read_limited
from eotdl.errors import InputError

#: The largest single JSON document accepted (a STAC object is kilobytes to a few megabytes).
MAX_JSON_BYTES = int(os.environ.get("EOTDL_MAX_JSON_BYTES", 64 * 1024 * 1024))


def parse_json_object(data: bytes, source: str) -> dict[str, Any]:
    """Parse ``data`` as one JSON object; ``source`` names it in errors."""
    if len(data) > MAX_JSON_BYTES:
        raise InputError(
            f"{source}: {len(data) / 1e6:.0f} MB is larger than the"
            f" {MAX_JSON_BYTES // (1024 * 1024)} MiB limit for one STAC document",
            hint="is this really a STAC JSON file? Set EOTDL_MAX_JSON_BYTES to raise the limit",
        )
    return decode_json_object(data, source)


def decode_json_object(data: bytes, source: str, expected: str = "") -> dict[str, Any]:
    """UTF-8 JSON text as one JSON object (``expected`` says which, e.g. "a STAC Item");
    ``source`` (a file, or a file and line) names it in errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source}: not UTF-8 text (byte {exc.start})", hint="STAC JSON must be UTF-8 encoded"
        ) from None
    try:
        obj = canonical.loads(text)
    except ValueError as exc:
        raise InputError(f"{source}: malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        which = f" ({expected})" if expected else ""
        raise InputError(f"{source}: expected a JSON object{which}, got {json_kind(obj)}")
    return obj


def json_kind(value: Any) -> str:
    """What a JSON value that is not an object is, for messages: an array, null, a str…"""
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def read_json_object(
    path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Read a JSON object from a file, refusing oversized, non-UTF-8 or malformed files.

    The file must be a regular file and, when ``root`` is given, resolve inside it (see
    :func:`eotdl.catalog.paths.readable_path`).
    """
    data = read_limited(path, root, MAX_JSON_BYTES, "one STAC document", "EOTDL_MAX_JSON_BYTES")
    return parse_json_object(data, str(Path(path)))
