"""The folder backend (``file://``): the embedded default, a store inside the lab.

Objects are written to a temporary file in ``<root>/.eotdl-tmp/``, verified, flushed, then
linked into place with ``os.link``, which never replaces an existing object; a failed write
leaves nothing visible. Temporary files carry their writer's host and pid: those of a writer
that was killed are removed by the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlparse
from urllib.request import url2pathname

from eotdl.errors import StorageError
from eotdl.storage.base import ObjectStore
from eotdl.storage.hashing import CHUNK
from eotdl.storage.keys import check_key
from eotdl.storage.lease import pid_alive
from eotdl.storage.objects import ObjectInfo, ObjectMissingError, Sink, StoreUnavailableError
from eotdl.storage.source import UploadSource
from eotdl.storage.transfer import TransferOptions

TMP_SUFFIX = ".eotdl-tmp"
#: The folder (at the store's root) holding the writes in progress.
TMP_DIR = ".eotdl-tmp"
_HOST = socket.gethostname().replace("-", "_")
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class FileStore(ObjectStore):
    """Objects as files under a root folder, one file per key."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        public_url: str = "",
        options: TransferOptions | None = None,
    ) -> None:
        super().__init__(options)
        self.root = Path(root).resolve()
        self.url = self.root.as_uri()
        self.public_url = public_url.rstrip("/")

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _check(self, write: bool) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise StorageError(f"the store {self.root} is not a folder")
        if not write:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _storage_error(exc, f"cannot create the store folder {self.root}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailableError(
                f"the store folder {self.root} is not writable",
                hint="fix its permissions, or set [store] url in eotdl.toml to another folder",
            )
        remove_stale_writes(self.root / TMP_DIR)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not os.path.isfile(self._path(key)):
            return None
        return ObjectInfo(key, st.st_size, _mtime(st))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        if folder and any(part in ("", ".", "..") for part in folder[:-1].split("/")):
            return iter(())
        return self._walk(self.root / folder, folder, prefix)

    def _walk(self, folder: Path, relative: str, prefix: str) -> Iterator[ObjectInfo]:
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except (FileNotFoundError, NotADirectoryError):
            return
        # Sorting folders as "name/" gives the same order as sorting the full keys.
        named = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != TMP_DIR:
                    named.append((entry.name + "/", entry))
            elif entry.is_file() and not entry.name.endswith(TMP_SUFFIX):
                named.append((entry.name, entry))
        for name, entry in sorted(named, key=lambda pair: pair[0]):
            key = relative + name
            if name.endswith("/"):
                if key.startswith(prefix) or prefix.startswith(key):
                    yield from self._walk(Path(entry.path), key, prefix)
            elif key.startswith(prefix):
                st = entry.stat()
                yield ObjectInfo(key, st.st_size, _mtime(st))

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectMissingError(f"no object {key} in {self.url}") from None

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with self.open(key) as handle:
            handle.seek(start)
            return handle.read(length)

    def href(self, key: str) -> str:
        if self.public_url:
            return f"{self.public_url}/{quote(check_key(key))}"
        return self._path(key).as_uri()

    def _key_for_own_href(self, href: str) -> str | None:
        """A ``file:`` URL or an absolute path inside the store's folder."""
        parsed = urlparse(href)
        if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
            path = Path(url2pathname(parsed.path))
        elif not parsed.scheme and os.path.isabs(href):
            path = Path(href)
        else:
            return None
        try:
            relative = Path(os.path.normpath(path)).relative_to(self.root)
        except ValueError:
            return None
        return relative.as_posix()

    def _read(self, key: str, sink: Sink, start: int = 0) -> None:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        try:
            handle = open(self._path(key), "rb", buffering=0)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectMissingError(f"no object {key} in {self.url}") from None
        with handle:
            handle.seek(start)
            while True:
                count = handle.readinto(view)
                if not count:
                    return
                sink(view[:count])

    def _write(
        self,
        key: str,
        source: UploadSource,
        *,
        overwrite: bool,
        content_type: str | None,
        advance: Callable[[int], None] | None = None,
    ) -> bool:
        target = self._path(key)
        if not overwrite and target.exists():
            return False
        fd = -1
        tmp = ""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            (self.root / TMP_DIR).mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f"{_HOST}-{os.getpid()}-", suffix=TMP_SUFFIX, dir=self.root / TMP_DIR
            )
            os.fchmod(fd, 0o666 & ~_UMASK)
            for chunk in source.chunks():
                _write_all(fd, chunk)
                if advance is not None:
                    advance(len(chunk))
            os.fsync(fd)
            os.close(fd)
            fd = -1
            if overwrite:
                os.replace(tmp, target)
                return True
            return _link_new(tmp, target)
        except OSError as exc:
            raise _storage_error(exc, f"cannot write {key} into the store {self.root}") from None
        finally:
            if fd >= 0:
                os.close(fd)
            if tmp:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

    def _is_transient(self, exc: BaseException) -> bool:
        return False


def remove_stale_writes(folder: Path) -> int:
    """Remove the temporary files of writers of this host that no longer run."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        host, _, rest = entry.name.partition("-")
        pid = rest.split("-", 1)[0]
        if host == _HOST and pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _link_new(tmp: str, target: Path) -> bool:
    """Give ``tmp`` the name ``target`` unless it exists; False if it did."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if target.exists():  # a filesystem without hard links: rename, checking first
            return False
        os.rename(tmp, target)
    return True


def _mtime(st: os.stat_result) -> dt.datetime:
    return dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)


def _storage_error(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreUnavailableError(
            f"{what}: no space left on device; nothing was stored",
            hint="free some space, or set [store] url in eotdl.toml to a bigger disk",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT):
        return StoreUnavailableError(
            f"{what}: {exc.strerror}", hint="check the folder's permissions"
        )
    return StorageError(f"{what}: {exc.strerror or exc}")
