"""Replace a few row groups of a Parquet file without re-encoding the others.

A Parquet file is its row groups' bytes followed by a footer (Thrift compact protocol) that
says where each row group's column chunks lie. To change a few rows of a million, the new file
is the old file's row-group bytes copied as they are (in the kernel), the rewritten row groups
appended after them by an ordinary Parquet writer (which records their absolute offsets), and a
new footer: the old one with its list of row groups spliced — the bytes of each kept row group
copied verbatim (their offsets did not move), the new ones put in their place in the order.
The replaced row groups' old bytes stay in the file, unreferenced; once they are more than
:data:`MAX_DEAD_SHARE` of it, :func:`splice_row_groups` declines and the caller writes the file
compactly.

Only the few Thrift constructs a footer needs are walked (structs, lists, binaries, varints);
files with page indexes, bloom filters or encryption (which hold offsets elsewhere) are declined.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog import canonical
from eotdl.catalog.rowblocks import copy_range

MAGIC = b"PAR1"
#: Above this share of unreferenced bytes, a splice is declined (the file is rewritten).
MAX_DEAD_SHARE = 0.2

_BOOL_TRUE, _BOOL_FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY = 1, 2, 3, 4, 5, 6, 7, 8
_LIST, _SET, _MAP, _STRUCT = 9, 10, 11, 12


class _Declined(Exception):
    """The file uses something a splice does not handle."""


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _skip_varint(buf: bytes, i: int) -> int:
    while buf[i] >= 0x80:
        i += 1
    return i + 1


def _list_header(buf: bytes, i: int) -> tuple[int, int, int]:
    """A Thrift compact list (or set) header at ``i``: its size, element type and the offset
    of its first element."""
    header = buf[i]
    size, element = header >> 4, header & 0x0F
    if size == 15:
        size, i = _varint(buf, i + 1)
        return size, element, i
    return size, element, i + 1


def _skip(buf: bytes, i: int, kind: int) -> int:
    """The offset just past a value of Thrift compact type ``kind`` starting at ``i``."""
    if kind in (_I16, _I32, _I64):
        return _skip_varint(buf, i)
    if kind == _BINARY:
        size, i = _varint(buf, i)
        return i + size
    if kind == _STRUCT:
        return _skip_struct(buf, i)
    if kind in (_LIST, _SET):
        size, element, i = _list_header(buf, i)
        if element in (_BOOL_TRUE, _BOOL_FALSE, _BYTE):
            return i + size
        for _ in range(size):
            i = _skip(buf, i, element)
        return i
    if kind == _BYTE:
        return i + 1
    if kind == _DOUBLE:
        return i + 8
    if kind == _MAP:
        size, i = _varint(buf, i)
        if not size:
            return i
        kinds = buf[i]
        i += 1
        for _ in range(size):
            i = _skip(buf, i, kinds >> 4)
            i = _skip(buf, i, kinds & 0x0F)
        return i
    if kind in (_BOOL_TRUE, _BOOL_FALSE):
        return i
    raise _Declined(f"unknown Thrift type {kind}")


def _fields(buf: bytes, i: int) -> tuple[list[tuple[int, int, int, int]], int]:
    """The fields of the struct at ``i``: ``(id, type, value start, value end)``, and the
    offset past its end."""
    out: list[tuple[int, int, int, int]] = []
    field = 0
    while True:
        header = buf[i]
        i += 1
        if header == 0:
            return out, i
        kind, delta = header & 0x0F, header >> 4
        if delta:
            field += delta
        else:
            raw, i = _varint(buf, i)
            field = (raw >> 1) ^ -(raw & 1)
        end = _skip(buf, i, kind)
        out.append((field, kind, i, end))
        i = end


def _skip_struct(buf: bytes, i: int) -> int:
    return _fields(buf, i)[1]


def _zigzag(value: int) -> bytes:
    return _uvarint((value << 1) ^ (value >> 63))


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        if value < 0x80:
            out.append(value)
            return bytes(out)
        out.append((value & 0x7F) | 0x80)
        value >>= 7


def _header(field: int, last: int, kind: int) -> bytes:
    delta = field - last
    if 0 < delta <= 15:
        return bytes([(delta << 4) | kind])
    return bytes([kind]) + _zigzag(field)


@dataclass
class Footer:
    """A file's footer: its bytes, top-level fields and each row group's bytes within it,
    with its rows and compressed bytes."""

    data: bytes
    fields: list[tuple[int, int, int, int]]
    row_groups: list[tuple[int, int]]  # spans in ``data``
    sizes: list[tuple[int, int]]  # (rows, compressed bytes) of each row group
    #: What a caller keeps per row group with the index (JSON), if anything.
    extra: list[Any] | None = None

    def to_index(self) -> bytes:
        """What :func:`read_footer` needs to skip walking this footer again."""
        digest = hashlib.sha256(self.data).hexdigest()
        index: dict[str, Any] = {
            "format": 1,
            "footer": digest,
            "fields": self.fields,
            "groups": [[*g, *s] for g, s in zip(self.row_groups, self.sizes, strict=True)],
        }
        if self.extra is not None and len(self.extra) == len(self.row_groups):
            index["extra"] = self.extra
        return canonical.dumps(index)

    def row_group(self, index: int) -> bytes:
        start, end = self.row_groups[index]
        return self.data[start:end]

    def field(self, number: int) -> bytes | None:
        for field, _, start, end in self.fields:
            if field == number:
                return self.data[start:end]
        return None


def index_path(path: Path) -> Path:
    """Where the index of ``path``'s footer is kept (a hidden file beside it)."""
    return path.with_name(f".{path.name}.footer.json")


def write_index(path: Path, extra: Callable[[Path], list[Any]] | None = None) -> None:
    """Walk the footer of the Parquet file at ``path`` once and keep its index beside it, so
    a later splice need not walk it (seconds at a million rows); ``extra(path)`` gives what
    to keep per row group with it."""
    try:
        footer, _ = read_footer(path, use_index=False)
        if extra is not None:
            footer.extra = extra(path)
    except (_Declined, IndexError, struct.error, OSError, pa.ArrowException):
        index_path(path).unlink(missing_ok=True)
        return
    write_bytes_atomic(index_path(path), footer.to_index())


def _from_index(path: Path, data: bytes) -> Footer | None:
    try:
        index = canonical.loads(index_path(path).read_bytes())
        if index.get("format") != 1 or index.get("footer") != hashlib.sha256(data).hexdigest():
            return None
        fields = [(int(f), int(k), int(a), int(b)) for f, k, a, b in index["fields"]]
        groups = [(int(a), int(b)) for a, b, _, _ in index["groups"]]
        sizes = [(int(r), int(c)) for _, _, r, c in index["groups"]]
        extra = index.get("extra")
        if not isinstance(extra, list) or len(extra) != len(groups):
            extra = None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return Footer(data, fields, groups, sizes, extra)


def read_footer(path: Path, use_index: bool = True) -> tuple[Footer, int]:
    """The footer of the Parquet file at ``path`` and where it starts (from its index when
    that describes these footer bytes)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 12:
            raise _Declined("too short for a Parquet file")
        handle.seek(size - 8)
        tail = handle.read(8)
        if tail[4:] != MAGIC:
            raise _Declined("not a plain Parquet file")
        length = struct.unpack("<I", tail[:4])[0]
        start = size - 8 - length
        handle.seek(start)
        data = handle.read(length)
    indexed = _from_index(path, data) if use_index else None
    return (indexed if indexed is not None else parse_footer(data)), start


def parse_footer(data: bytes) -> Footer:
    fields, _ = _fields(data, 0)
    if any(field in (8, 9) for field, *_ in fields):
        raise _Declined("an encrypted file")
    groups: list[tuple[int, int]] = []
    for field, kind, start, _end in fields:
        if field != 4:
            continue
        if kind != _LIST:
            raise _Declined("row_groups is not a list")
        size, _, i = _list_header(data, start)
        for _ in range(size):
            end = _skip_struct(data, i)
            groups.append((i, end))
            i = end
    sizes = [(_rows_of(data[a:b]), _compressed_of(data[a:b])) for a, b in groups]
    return Footer(data, fields, groups, sizes)


def _check_plain(group: bytes) -> None:
    """Decline row groups whose column chunks point outside their own bytes."""
    fields, _ = _fields(group, 0)
    for field, _, start, _end in fields:
        if field != 1:
            continue
        size, _, i = _list_header(group, start)
        for _ in range(size):
            chunk, i = _fields(group, i)
            names = {f for f, *_ in chunk}
            if names & {1, 4, 5, 6, 7, 8, 9}:
                raise _Declined("column chunks with page indexes, paths or encryption")
            for f, _, s, _e in chunk:
                if f == 3:
                    meta, _ = _fields(group, s)
                    if any(m == 14 for m, *_ in meta):
                        raise _Declined("bloom filters")


#: The offsets in a row group (field → what to do): RowGroup.columns, RowGroup.file_offset,
#: ColumnChunk.file_offset and .meta_data, and the page offsets of ColumnMetaData.
_META_PLAN: dict[int, object] = {9: "shift", 10: "shift", 11: "shift"}
_CHUNK_PLAN: dict[int, object] = {2: "shift", 3: ("struct", _META_PLAN)}
_GROUP_PLAN: dict[int, object] = {1: ("list", _CHUNK_PLAN), 5: "shift"}


def _shifted(buf: bytes, i: int, plan: dict[int, object], by: int) -> tuple[bytes, int]:
    """The struct at ``i`` with the offsets ``plan`` names moved by ``by`` bytes."""
    fields, end = _fields(buf, i)
    out = bytearray()
    at = i
    for field, kind, start, value_end in fields:
        out += buf[at:start]  # the field's header, as it was
        action = plan.get(field)
        if action == "shift" and kind == _I64:
            raw, _ = _varint(buf, start)
            out += _zigzag(((raw >> 1) ^ -(raw & 1)) + by)
        elif isinstance(action, tuple) and action[0] == "struct" and kind == _STRUCT:
            value, _ = _shifted(buf, start, action[1], by)
            out += value
        elif isinstance(action, tuple) and action[0] == "list" and kind == _LIST:
            size, _, j = _list_header(buf, start)
            out += buf[start:j]
            for _ in range(size):
                value, j = _shifted(buf, j, action[1], by)
                out += value
        elif action is not None:
            raise _Declined(f"field {field} is not of the type a Parquet footer gives it")
        else:
            out += buf[start:value_end]
        at = value_end
    out += buf[at:end]  # the stop byte
    return bytes(out), end


def _rows_of(group: bytes) -> int:
    for field, _, start, _ in _fields(group, 0)[0]:
        if field == 3:
            raw, _ = _varint(group, start)
            return (raw >> 1) ^ -(raw & 1)
    raise _Declined("a row group without num_rows")


def _compressed_of(group: bytes) -> int:
    for field, _, start, _ in _fields(group, 0)[0]:
        if field == 6:
            raw, _ = _varint(group, start)
            return (raw >> 1) ^ -(raw & 1)
    raise _Declined("a row group without total_compressed_size")


def _assembled(old: Footer, groups: list[bytes], sizes: list[tuple[int, int]]) -> Footer:
    """``old`` with ``groups`` as its row groups (and their rows as num_rows), indexed."""
    out = bytearray()
    fields: list[tuple[int, int, int, int]] = []
    spans: list[tuple[int, int]] = []
    last = 0
    for field, kind, start, end in old.fields:
        out += _header(field, last, kind)
        last = field
        at = len(out)
        if field == 3:
            out += _zigzag(sum(rows for rows, _ in sizes))
        elif field == 4:
            count = len(groups)
            if count < 15:
                out.append((count << 4) | _STRUCT)
            else:
                out.append(0xF0 | _STRUCT)
                out += _uvarint(count)
            for group in groups:
                spans.append((len(out), len(out) + len(group)))
                out += group
        else:
            out += old.data[start:end]
        fields.append((field, kind, at, len(out)))
    out.append(0)
    return Footer(bytes(out), fields, spans, sizes)


def _cut_footer(out: BinaryIO, path: Path, start: int) -> tuple[Footer, list[bytes]]:
    """A pyarrow writer that began at ``start`` of ``out`` (the file at ``path``) has just
    closed: its footer, read back and cut off the file, and its row groups with their offsets
    moved to where their bytes are (the writer counted them from where it began)."""
    out.flush()
    end = out.tell()
    with open(path, "rb") as back:
        back.seek(end - 8)
        length = struct.unpack("<I", back.read(4))[0]
        back.seek(end - 8 - length)
        footer = parse_footer(back.read(length))
    groups = [
        _shifted(footer.row_group(i), 0, _GROUP_PLAN, start)[0]
        for i in range(len(footer.row_groups))
    ]
    out.seek(end - 8 - length)  # the writer's own footer goes
    out.truncate()
    return footer, groups


class SegmentedWriter:
    """Write a Parquet file a segment of a few row groups at a time, with one footer.

    pyarrow's writer keeps the metadata of every row group it wrote, as objects, until it
    closes: about 44 kB a row group of 60 columns, 43 MB for a million rows in row groups of
    1,024, 430 MB for ten million. Here each segment is written by a writer of its own, its
    footer cut off and its row groups' metadata kept as footer bytes (about 5 kB a row group,
    offsets moved to where the segment lies); the file's footer is the first segment's with
    every row group in it. Each segment's 4-byte magic stays in the file, unreferenced."""

    def __init__(self, path: Path, schema: pa.Schema, groups_per_segment: int = 64) -> None:
        self.path = Path(path)
        self.schema = schema
        self.groups_per_segment = groups_per_segment
        self._out = open(self.path, "wb")  # noqa: SIM115 - closed by close() or abort()
        self._writer: pq.ParquetWriter | None = None
        self._start = 0
        self._in_segment = 0
        self._template: Footer | None = None
        self._groups: list[bytes] = []
        self._sizes: list[tuple[int, int]] = []

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Write ``batch`` as one row group."""
        if self._writer is None:
            self._start = self._out.tell()
            self._writer = pq.ParquetWriter(self._out, self.schema)
        self._writer.write_batch(batch)
        self._in_segment += 1
        if self._in_segment >= self.groups_per_segment:
            self._end_segment()

    def close(self) -> None:
        """Write the footer and close the file."""
        try:
            if self._writer is None and self._template is None:
                pq.ParquetWriter(self._out, self.schema).close()  # no rows: a plain empty file
                return
            if self._writer is not None:
                self._end_segment()
            assert self._template is not None
            footer = _assembled(self._template, self._groups, self._sizes)
            self._out.write(footer.data + struct.pack("<I", len(footer.data)) + MAGIC)
        finally:
            self._out.close()

    def abort(self) -> None:
        """Close and remove the file."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self._out.close()
        self.path.unlink(missing_ok=True)

    def _end_segment(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        self._in_segment = 0
        footer, groups = _cut_footer(self._out, self.path, self._start)
        if self._template is None:
            self._template = footer
        elif footer.field(2) != self._template.field(2):
            raise ValueError("a segment was written with another schema")
        self._groups.extend(groups)
        self._sizes.extend(footer.sizes)


def splice_row_groups(
    previous: Path,
    path: Path,
    replace: dict[int, pa.Table],
    extra: Callable[[pa.Table], Any] | None = None,
    schema: pa.Schema | None = None,
) -> bool:
    """Write ``path`` as ``previous`` with each row group ``i`` of ``replace`` replaced by the
    rows of its table (empty: the row group goes). ``extra(table)`` is what the index keeps
    for a new row group (kept ones keep theirs). False (nothing written) when the file is not
    one this can splice, or would hold too many unreferenced bytes. ``schema``: the file's
    Arrow schema, if the caller has read it already."""
    try:
        return _splice(previous, path, replace, extra, schema)
    except (_Declined, IndexError, struct.error, pa.ArrowException):
        Path(path).unlink(missing_ok=True)
        index_path(Path(path)).unlink(missing_ok=True)
        return False


def _splice(
    previous: Path,
    path: Path,
    replace: dict[int, pa.Table],
    extra_of: Callable[[pa.Table], Any] | None,
    schema: pa.Schema | None,
) -> bool:
    footer, data_end = read_footer(previous)
    count = len(footer.row_groups)
    if any(index < 0 or index >= count for index in replace):
        raise _Declined("no such row group")
    old_groups = [footer.row_group(i) for i in range(count)]
    for index in replace:
        _check_plain(old_groups[index])
    schema = schema if schema is not None else pq.read_schema(previous)
    tables = [replace[i] for i in sorted(replace) if replace[i].num_rows]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(previous, "rb") as source, open(path, "wb") as out:
        copy_range(source, out, 0, data_end)
        new_groups: list[bytes] = []
        if tables:
            start = out.tell()
            writer = pq.ParquetWriter(out, schema)
            try:
                for table in tables:
                    writer.write_table(table, row_group_size=max(1, table.num_rows))
            finally:
                writer.close()
            added, new_groups = _cut_footer(out, path, start)
            if added.field(2) != footer.field(2):
                raise _Declined("the new rows' schema is not the file's")
            if len(new_groups) != len(tables):
                raise _Declined("a replacement did not make one row group")
            for group in new_groups:
                _check_plain(group)
        spliced: list[bytes] = []
        sizes: list[tuple[int, int]] = []
        extra: list[Any] | None = [] if footer.extra is not None and extra_of else None
        fresh = iter(new_groups)
        for index, group in enumerate(old_groups):
            if index not in replace:
                spliced.append(group)
                sizes.append(footer.sizes[index])
                if extra is not None and footer.extra is not None:
                    extra.append(footer.extra[index])
            elif replace[index].num_rows:
                made = next(fresh)
                spliced.append(made)
                sizes.append((_rows_of(made), _compressed_of(made)))
                if extra is not None and extra_of is not None:
                    extra.append(extra_of(replace[index]))
        body = out.tell()
        if body - sum(c for _, c in sizes) > MAX_DEAD_SHARE * body:
            raise _Declined("too much of the file would be unreferenced")
        made_footer = _assembled(footer, spliced, sizes)
        made_footer.extra = extra
        out.write(made_footer.data + struct.pack("<I", len(made_footer.data)) + MAGIC)
    write_bytes_atomic(index_path(path), made_footer.to_index())
    return True
