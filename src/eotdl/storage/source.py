"""What an upload reads: a file (or bytes) with the SHA-256 and size it must have.

Every read hashes what it returns; :meth:`UploadSource.confirm` then refuses the upload if
the bytes sent are not the bytes that were hashed, or if the file changed meanwhile.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Protocol

from eotdl.errors import StorageError
from eotdl.storage.hashing import CHUNK


class BufferSource(Protocol):
    """Where part buffers come from and go back to (a pool, or one reused buffer)."""

    def get(self) -> bytearray: ...

    def put(self, buffer: bytearray) -> None: ...


class _Reuse:
    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer

    def get(self) -> bytearray:
        return self.buffer

    def put(self, buffer: bytearray) -> None:
        pass


def _read_into(handle: io.RawIOBase, view: memoryview) -> int:
    """Fill ``view`` from ``handle`` (short only at the end of the file)."""
    total = 0
    while total < len(view):
        count = handle.readinto(view[total:])
        if not count:
            break
        total += count
    return total


class SourceChangedError(StorageError):
    """A file changed while it was being uploaded: nothing was stored."""


def stat_signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """What must stay the same while a file is uploaded (ctime moves on any write)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True)
class UploadSource:
    """A file or in-memory bytes to upload, with its expected SHA-256 (hex) and size."""

    name: str
    sha256: str
    size: int
    path: str | os.PathLike[str] | None = None
    data: bytes | None = None
    stat: os.stat_result | None = None

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> UploadSource:
        return cls(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data)

    def read_all(self, rehash: bool = True) -> bytes:
        """The whole content, checked against the expected size and file stat, and (unless
        the receiver checks the SHA-256 itself) re-hashed."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        with open(self.path, "rb") as handle:
            data = handle.read(self.size + 1)
        self.confirm(hashlib.sha256(data).hexdigest() if rehash else self.sha256, len(data))
        return data

    def parts(
        self, part_size: int, buffers: BufferSource | None = None
    ) -> Generator[tuple[int, memoryview], None, None]:
        """Yield (part number from 1, bytes) in order; after the last, verify the whole.

        File parts are read into buffers taken from ``buffers`` (fresh ones if None); each
        yielded view's buffer then belongs to the consumer.
        """
        digest = hashlib.sha256()
        count = 0
        number = 0
        for view in self._blocks(part_size, buffers):
            digest.update(view)
            count += len(view)
            number += 1
            yield number, view
        self.confirm(digest.hexdigest(), count)

    def chunks(self) -> Iterator[memoryview]:
        """Yield the content in chunks through one reused buffer; then verify the whole."""
        buffer = bytearray(CHUNK)
        return (view for _, view in self.parts(CHUNK, _Reuse(buffer)))

    def _blocks(self, size: int, buffers: BufferSource | None) -> Iterator[memoryview]:
        if self.data is not None:
            whole = memoryview(self.data)
            for start in range(0, len(self.data), size):
                yield whole[start : start + size]
            return
        assert self.path is not None
        remaining = self.size + 1  # one byte more than expected reveals a growing file
        with open(self.path, "rb", buffering=0) as handle:
            while remaining > 0:
                buffer = buffers.get() if buffers is not None else bytearray(size)
                view = memoryview(buffer)[: min(size, remaining, len(buffer))]
                count = _read_into(handle, view)
                if not count:
                    if buffers is not None:
                        buffers.put(buffer)
                    return
                remaining -= count
                yield view[:count]

    def confirm(self, sha256_hex: str, size: int) -> None:
        """Raise SourceChangedError unless the bytes read match what was hashed before."""
        changed = sha256_hex != self.sha256 or size != self.size
        if self.path is not None and self.stat is not None:
            try:
                now = os.stat(self.path)
            except FileNotFoundError:
                changed = True
            else:
                changed = changed or stat_signature(now) != stat_signature(self.stat)
        if changed:
            raise SourceChangedError(
                f"{self.name} changed while it was being uploaded; nothing was stored",
                hint="upload it again once nothing is writing to it",
            )
