"""Reading STAC documents (local files, http(s) URLs) and walking a catalog's links.

Bytes come through :mod:`eotdl.catalog.locations`, the one reader.

Walking is iterative with a visited set, so a catalog of any depth or with cycles is read
once per object, in time linear in its size.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eotdl.catalog.jsonfile import MAX_JSON_BYTES, parse_json_object, read_json_object
from eotdl.catalog.locations import http_get, is_url, resolve
from eotdl.errors import InputError

#: Link relations followed when walking a catalog.
FOLLOWED = ("child", "item")


def read_stac(href: str, root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read one STAC JSON document from a local path, ``file://`` or http(s) URL.

    A local document must be a regular file, inside ``root`` when given.
    """
    if is_url(href):
        return parse_json_object(http_get(href, limit=MAX_JSON_BYTES), href)
    if href.startswith("file://"):
        href = urllib.parse.unquote(urllib.parse.urlsplit(href).path)
    return read_json_object(href, root)


@dataclass(frozen=True)
class Visit:
    """An object met while walking: the object, or the error reading it, and where it is."""

    href: str
    obj: dict[str, Any] | None = None
    error: str | None = None


def walk(
    href: str, follow: tuple[str, ...] = FOLLOWED, root: str | os.PathLike[str] | None = None
) -> Iterator[Visit]:
    """Every object reachable from ``href`` through ``child``/``item`` links, each once.

    A local walk reads only files inside ``root`` (default: the folder of ``href``); a
    remote one never reads local files. Links that break these rules are reported as errors.
    """
    start = href if is_url(href) else str(Path(href))
    if root is None and not is_url(start):
        local = urllib.parse.unquote(urllib.parse.urlsplit(start).path) if "://" in start else start
        root = Path(local).resolve().parent
    pending = [start]
    seen = {start}
    while pending:
        current = pending.pop()
        try:
            obj = read_stac(current, None if is_url(current) else root)
        except InputError as exc:
            yield Visit(current, error=exc.message)
            continue
        yield Visit(current, obj)
        links = obj.get("links")
        if not isinstance(links, list):
            continue
        children = []
        for link in links:
            if not isinstance(link, dict) or link.get("rel") not in follow:
                continue
            target = link.get("href")
            if not isinstance(target, str) or not target:
                continue
            try:
                resolved = resolve(current, target)
            except InputError as exc:
                yield Visit(target, error=exc.message)
                continue
            if resolved not in seen:
                seen.add(resolved)
                children.append(resolved)
        pending.extend(reversed(children))
