"""Item ids made from source names (files, table rows): safe characters only, and no two
samples with one id."""

from __future__ import annotations

import re
from collections.abc import Iterable

from eotdl.errors import InputError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_id(*parts: str) -> str:
    """An item id from name parts: joined by '-', no '/' or odd characters, no leading '.'."""
    text = "-".join(_UNSAFE.sub("_", p) for p in parts if p)
    text = text.lstrip(".-")
    if not text:
        raise InputError(f"cannot make an item id from {parts!r}", hint="rename the file")
    return text


def check_unique_ids(ids: Iterable[tuple[str, str]]) -> None:
    """Refuse two samples with one id; ``ids`` holds (item id, what it was made from)."""
    seen: dict[str, str] = {}
    for item_id, origin in ids:
        if item_id in seen:
            raise InputError(
                f"{seen[item_id]} and {origin} give the same item id {item_id!r}",
                hint="rename one of them (ids come from file names, with odd characters"
                " replaced by '_')",
            )
        seen[item_id] = origin
