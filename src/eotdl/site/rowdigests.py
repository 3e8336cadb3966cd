"""A build's rows file (``.eotdl-items.ndjson``) in blocks of a fixed number of lines.

A digest of each block's bytes says which blocks changed since the last build without parsing
a row (reading and hashing bytes is cheap; parsing a million rows is not), so the pages of a
dataset parse only the blocks that changed (:mod:`eotdl.site.folderpages`). Memory is one
read chunk and one block, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eotdl.catalog.rowblocks import RowsEdit, block_digest

#: Rows per block: a million rows are a few hundred blocks.
BLOCK_LINES = 4096
_CHUNK = 8 << 20


@dataclass(frozen=True)
class Block:
    """Lines ``first`` to ``first + lines`` of a rows file, bytes ``start`` to ``end``."""

    first: int
    lines: int
    start: int
    end: int
    digest: str


def _digest(data: bytes | memoryview) -> str:
    return block_digest(data)


def _end_of_lines(buf: bytes, pos: int, wanted: int, guess: int) -> int:
    """The offset after the ``wanted``-th newline from ``pos`` (-1: ``buf`` has fewer).

    ``guess`` is where it is probably (the last block's mean line length says): one count to
    there, then a few finds forward or back."""
    guess = min(len(buf), max(pos + 1, guess))
    found = buf.count(b"\n", pos, guess)
    if found >= wanted:
        end = guess
        for _ in range(found - wanted + 1):
            end = buf.rfind(b"\n", pos, end)
        return end + 1
    end = guess
    for _ in range(wanted - found):
        at = buf.find(b"\n", end)
        if at < 0:
            return -1
        end = at + 1
    return end


def _blocks(path: Path, lines: int) -> Iterator[tuple[Block, bytes, int, int]]:
    """Each block, with the buffer holding it and its offsets in that buffer."""
    with open(path, "rb") as handle:
        buf = handle.read(_CHUNK)
        offset = pos = first = 0
        mean = 256
        while buf:
            end, count = _end_of_lines(buf, pos, lines, pos + lines * mean), lines
            if end < 0:
                more = handle.read(_CHUNK)
                if more:
                    buf, offset, pos = buf[pos:] + more, offset + pos, 0
                    continue
                if pos == len(buf):
                    return
                end = len(buf)  # the last block: fewer lines
                count = buf.count(b"\n", pos, end) + (0 if buf.endswith(b"\n", pos, end) else 1)
            view = memoryview(buf)[pos:end]
            block = Block(first, count, offset + pos, offset + end, _digest(view))
            view.release()
            yield block, buf, pos, end
            first += count
            mean = max(1, (end - pos) // count)
            pos = end


def edited_blocks(
    path: Path, old: list[tuple[str, int, int]], edit: RowsEdit, count: int, lines: int = 0
) -> list[Block] | None:
    """:func:`scan_blocks` of a rows file given the previous file's blocks (``old``: digest,
    start, end) and how it was edited: only the blocks the edit touched are read; the others'
    digests are kept and their offsets moved. None when rows were added or removed (every
    block after the edit holds other lines)."""
    lines = lines or BLOCK_LINES
    if edit.old_rows != edit.new_rows or not old:
        return None
    shift = edit.new_stop - edit.old_stop
    touched = [
        i for i, (_, start, end) in enumerate(old) if end > edit.start and start < edit.old_stop
    ]
    blocks: list[Block] = []
    for index, (digest, start, end) in enumerate(old):
        first = index * lines
        count_here = min(lines, count - first)
        if touched and touched[0] <= index <= touched[-1]:
            continue
        moved = shift if start >= edit.old_stop else 0
        blocks.append(Block(first, count_here, start + moved, end + moved, digest))
    if touched:
        low, high = old[touched[0]][1], old[touched[-1]][2] + shift
        with open(path, "rb") as handle:
            handle.seek(low)
            data = handle.read(high - low)
        if len(data) != high - low:
            return None
        made: list[Block] = []
        pos = 0
        for index in touched:
            first = index * lines
            want = min(lines, count - first)
            end = pos
            for _ in range(want):
                at = data.find(b"\n", end)
                end = len(data) if at < 0 else at + 1
            made.append(Block(first, want, low + pos, low + end, _digest(data[pos:end])))
            pos = end
        if pos != len(data):
            return None  # the lines do not fill the blocks as before
        blocks[touched[0] : touched[0]] = made
    return blocks


def scan_blocks(path: Path, lines: int = 0) -> list[Block]:
    """The blocks of a rows file (``lines`` rows each; default :data:`BLOCK_LINES`)."""
    return [block for block, _, _, _ in _blocks(path, lines or BLOCK_LINES)]


def iter_blocks(path: Path, lines: int = 0) -> Iterator[tuple[Block, list[bytes]]]:
    """Each block of a rows file with its lines (newline kept off)."""
    for block, buf, pos, end in _blocks(path, lines or BLOCK_LINES):
        yield block, split_lines(buf[pos:end])


def read_block(path: Path, block: Block) -> list[bytes]:
    """The lines of one block (its bytes read again by offset)."""
    return read_lines(path, block.start, block.end)[1]


def read_lines(path: Path, start: int, end: int) -> tuple[str, list[bytes]]:
    """The digest of bytes ``start`` to ``end`` of a file ("" if it is shorter), and their
    lines."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    return (_digest(data) if len(data) == end - start else ""), split_lines(data)


def split_lines(data: bytes) -> list[bytes]:
    """The lines of whole rows (a last newline is not an empty row)."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines
