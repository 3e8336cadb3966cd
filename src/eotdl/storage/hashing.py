"""SHA-256 of files and streams, and ``file:checksum`` multihashes (sha2-256 only)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from eotdl.errors import InputError

#: Bytes read at a time: large enough that hashing and copying run outside the GIL.
CHUNK = 1024 * 1024
#: Multihash prefix of a sha2-256 digest: code 0x12, length 0x20.
SHA256_MULTIHASH = "1220"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 (hex) of a file, read in chunks."""
    return sha256_and_size(path)[0]


_Key = tuple[str, int, int, int]
_PREFETCHED: dict[_Key, Future[tuple[str, int]]] = {}
_PREFETCH_LOCK = threading.Lock()
_PREFETCH_POOL: list[ThreadPoolExecutor] = []


def _key(path: str | os.PathLike[str]) -> _Key:
    st = os.stat(path)
    return os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino


def prefetch_sha256(path: str | os.PathLike[str]) -> None:
    """Start hashing ``path`` in a background thread: a later :func:`sha256_and_size` of the
    same, unchanged file (same size, time and inode) takes the result instead of reading it
    again, so a big file written early in a job is hashed while the job does other work."""
    try:
        key = _key(path)
    except OSError:
        return
    with _PREFETCH_LOCK:
        if key in _PREFETCHED:
            return
        if not _PREFETCH_POOL:
            _PREFETCH_POOL.append(ThreadPoolExecutor(1, thread_name_prefix="eotdl-sha256"))
        _PREFETCHED[key] = _PREFETCH_POOL[0].submit(_sha256_and_size, path)


def sha256_and_size(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The SHA-256 (hex) and size of a file, read in chunks into one reused buffer (or the
    result of a :func:`prefetch_sha256` of the file as it is now)."""
    if _PREFETCHED:
        try:
            key = _key(path)
        except OSError:
            key = None
        with _PREFETCH_LOCK:
            ahead = _PREFETCHED.pop(key, None) if key is not None else None
        if ahead is not None:
            try:
                return ahead.result()
            except OSError:
                pass  # hashed while it changed or went: hash it now
    return _sha256_and_size(path)


def _sha256_and_size(path: str | os.PathLike[str]) -> tuple[str, int]:
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(view)
            if not count:
                break
            digest.update(view[:count])
            size += count
    return digest.hexdigest(), size


def multihash_sha256(sha256_hex: str) -> str:
    """The ``file:checksum`` multihash (hex) of a SHA-256 hex digest."""
    return SHA256_MULTIHASH + sha256_hex.lower()


def sha256_of_checksum(checksum: str) -> str:
    """The SHA-256 hex digest inside a ``file:checksum`` multihash; InputError for others."""
    value = checksum.strip().lower()
    if value.startswith(SHA256_MULTIHASH) and _HEX64.match(value[4:]):
        return value[4:]
    if value[:2] in ("12", "13", "14", "15", "16", "17", "1b", "1c", "1d"):
        raise InputError(
            f"file:checksum {checksum!r} is not a sha2-256 multihash",
            hint="eotdl writes and verifies sha2-256 multihashes (prefix 1220)",
        )
    raise InputError(f"file:checksum {checksum!r} is not a valid multihash")


def verify_file(
    path: str | os.PathLike[str], checksum: str | None = None, size: int | None = None
) -> bool:
    """Whether the file exists and has this size and ``file:checksum`` (either may be None)."""
    try:
        actual_size = os.stat(path).st_size
    except FileNotFoundError:
        return False
    if size is not None and actual_size != size:
        return False
    if checksum is None:
        return True
    return sha256_file(path) == sha256_of_checksum(checksum)
