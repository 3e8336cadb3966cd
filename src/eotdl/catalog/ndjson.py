"""``items.ndjson``: one STAC Item per line, sorted by id, canonical JSON.

Reading streams line by line (memory stays flat whatever the file size); writing sorts by id
while holding only the ids and line offsets in memory, and refuses duplicate ids.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eotdl.atomic import atomic_write
from eotdl.catalog import canonical
from eotdl.catalog.jsonfile import decode_json_object
from eotdl.catalog.paths import open_readable
from eotdl.errors import InputError

#: The longest line accepted as one Item. Real Items are kilobytes; a line this long is
#: almost always a file that is not ndjson (a whole catalog on one line, a binary file).
MAX_LINE_BYTES = int(os.environ.get("EOTDL_MAX_LINE_BYTES", 16 * 1024 * 1024))
#: The largest ndjson file read (a million kilobyte-sized Items fit well below it).
MAX_FILE_BYTES = int(os.environ.get("EOTDL_MAX_NDJSON_BYTES", 8 * 1024 * 1024 * 1024))


@dataclass(frozen=True)
class Line:
    """One non-empty line of an ndjson file: its 1-based number and stripped bytes, and
    (``end``) the offset just past its newline."""

    number: int
    data: bytes
    end: int = 0


def iter_lines(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    start: int = 0,
    stop: int | None = None,
    first_number: int = 1,
) -> Iterator[Line]:
    """Yield the non-blank lines of ``path`` without ever reading one longer than the limit.

    The file must be a regular file (inside ``root`` when given) no larger than
    ``MAX_FILE_BYTES``; see :func:`eotdl.catalog.paths.readable_path`. ``start`` and ``stop``
    read only the lines between two line boundaries (byte offsets); ``first_number`` is the
    number of the line at ``start``.
    """
    p = Path(path)
    with open_readable(p, root) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{p}: {size / 1e9:.1f} GB is larger than the"
                f" {MAX_FILE_BYTES / 1e9:.1f} GB limit for one ndjson file",
                hint="split the dataset, or set EOTDL_MAX_NDJSON_BYTES to raise the limit",
            )
        if start:
            handle.seek(start)
        number = first_number - 1
        read = start
        while stop is None or read < stop:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            read += len(raw)
            if read > MAX_FILE_BYTES:
                raise InputError(
                    f"{p}:{number}: the file grew past the {MAX_FILE_BYTES / 1e9:.1f} GB limit"
                    " for one ndjson file while it was read"
                )
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise InputError(
                    f"{p}:{number}: line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB;"
                    " an ndjson file holds one STAC Item per line",
                    hint="is this really an ndjson file? Set EOTDL_MAX_LINE_BYTES to accept"
                    " longer lines",
                )
            data = raw.strip()
            if data:
                yield Line(number, data, read)


def parse_line(path: str | os.PathLike[str], line: Line) -> dict[str, Any]:
    """Parse one line as a JSON object, with an error that names the file and line."""
    return decode_json_object(line.data, f"{path}:{line.number}", "a STAC Item")


def iter_items(
    path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield every Item of an ndjson file, streaming; raise InputError on the first bad line."""
    for line in iter_lines(path, root):
        obj = parse_line(path, line)
        if obj.get("type") != "Feature":
            raise InputError(
                f"{path}:{line.number}: not a STAC Item (type is {obj.get('type')!r},"
                " expected 'Feature')"
            )
        yield obj


def write_items(path: str | os.PathLike[str], items: Iterable[Mapping[str, Any]]) -> int:
    """Write ``items`` to ``path`` as canonical ndjson sorted by id; return the count.

    Items are spooled to a temporary file first, so memory holds only ids and offsets. A
    duplicate or missing id raises InputError and leaves ``path`` untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    index: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    with tempfile.TemporaryFile(dir=target.parent) as spool:
        offset = 0
        for position, item in enumerate(items, start=1):
            item_id = item.get("id")
            if not isinstance(item_id, str) or not item_id:
                raise InputError(f"item #{position} has no string 'id'")
            if item_id in seen:
                raise InputError(
                    f"duplicate item id {item_id!r}",
                    hint="every item of a dataset needs its own id",
                )
            seen.add(item_id)
            data = canonical.dumps(item) + b"\n"
            spool.write(data)
            index.append((item_id, offset, len(data)))
            offset += len(data)
        index.sort()
        spool.flush()
        with atomic_write(target, "wb") as out:
            for _, start, length in index:
                spool.seek(start)
                out.write(spool.read(length))
    return len(index)
