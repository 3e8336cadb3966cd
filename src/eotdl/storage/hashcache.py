"""A local cache of file SHA-256s keyed by path and stat, so unchanged files are not re-read.

Like rsync and make, a file whose size, mtime, ctime and inode are unchanged is taken to be
unchanged (ctime cannot be set back by users). The cache is a SQLite file under
``$EOTDL_CACHE_DIR`` (default ``~/.cache/eotdl``); any problem with it just disables it.
``EOTDL_HASH_CACHE=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

from eotdl.storage.cachedir import cache_dir

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
    " ctime_ns INTEGER, ino INTEGER, dev INTEGER, sha256 TEXT)"
)


def _signature(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class HashCache:
    """Path + stat -> SHA-256 lookups; new entries are written in one transaction by flush()."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[object, ...]] = []
        self._db: sqlite3.Connection | None = None
        if os.environ.get("EOTDL_HASH_CACHE", "1").lower() in ("0", "false", "no"):
            return
        target = path or cache_dir() / "hashes.sqlite"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(target, timeout=5, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(_SCHEMA)
            self._db = db
        except (OSError, sqlite3.Error):
            self._db = None

    def lookup(self, path: str, st: os.stat_result) -> str | None:
        """The cached SHA-256 of ``path`` if its stat is unchanged, else None."""
        if self._db is None:
            return None
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT size, mtime_ns, ctime_ns, ino, dev, sha256 FROM files WHERE path = ?",
                    (path,),
                ).fetchone()
            except sqlite3.Error:
                return None
        if row is None or tuple(row[:5]) != _signature(st):
            return None
        return str(row[5])

    def lookup_many(self, entries: list[tuple[str, os.stat_result]]) -> dict[str, str]:
        """The cached SHA-256s of the unchanged files among ``entries``, by path."""
        found: dict[str, str] = {}
        if self._db is None:
            return found
        wanted = dict(entries)
        names = list(wanted)
        for start in range(0, len(names), 500):
            batch = names[start : start + 500]
            marks = ",".join("?" * len(batch))
            with self._lock:
                try:
                    rows = self._db.execute(
                        "SELECT path, size, mtime_ns, ctime_ns, ino, dev, sha256 FROM files"
                        f" WHERE path IN ({marks})",
                        batch,
                    ).fetchall()
                except sqlite3.Error:
                    return found
            for row in rows:
                if tuple(row[1:6]) == _signature(wanted[row[0]]):
                    found[row[0]] = str(row[6])
        return found

    def remember(self, path: str, st: os.stat_result, sha256_hex: str) -> None:
        if self._db is not None:
            with self._lock:
                self._pending.append((path, *_signature(st), sha256_hex))

    def flush(self) -> None:
        """Write the entries remembered since the last flush."""
        if self._db is None:
            return
        with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return
            with contextlib.suppress(sqlite3.Error), self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows
                )

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
