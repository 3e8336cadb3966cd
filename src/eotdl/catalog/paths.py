"""Which local files may be read, and which links may be followed: the one guard.

Every reader of local files (cards, items, collections, assets, QA, build, check, ingest, get,
validate) asks :func:`readable_path` (or opens through :func:`open_readable`) before it reads:
the path is resolved with symlinks followed, must stay inside the folder it belongs to (the
lab, the dataset folder, the declared source folder) and must be a regular file, so neither a
symlink to ``/proc/self/environ`` nor ``/dev/stdin`` nor a FIFO is ever opened.

:func:`check_link` is the rule for links: a document read from the network (``http(s)://``,
``s3://``) never makes eotdl read a local file, whatever its hrefs say.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from pathlib import Path
from typing import BinaryIO

from eotdl.errors import InputError

#: URL schemes whose documents are remote; their links may only lead to other remote places.
REMOTE_SCHEMES = ("http", "https", "s3")
#: Pseudo file systems: their "regular files" (``/proc/self/environ``) are never data.
SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


class PathRefused(InputError):
    """A local path eotdl will not read: outside its folder, a special file, or a link out."""


def _location_kind(location: str) -> str:
    """``remote`` for http(s)/s3 URLs, ``local`` for paths and ``file://``, else ``other``."""
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme in REMOTE_SCHEMES:
        return "remote"
    if scheme in ("", "file") or (len(scheme) == 1 and location[1:2] == ":"):
        return "local"
    return "other"


def is_local(location: str) -> bool:
    """Whether ``location`` names a local file (a path or a ``file://`` URL)."""
    return _location_kind(location) == "local"


def is_remote(location: str) -> bool:
    """Whether ``location`` is an ``http(s)://`` or ``s3://`` URL."""
    return _location_kind(location) == "remote"


def check_link(base: str, target: str) -> str:
    """Return ``target`` if a document at ``base`` may lead to it, else raise PathRefused.

    The rule: a remote document (``http(s)://``, ``s3://``) never leads to a local path or a
    ``file://`` URL, so a catalog on the network cannot make eotdl read (and copy, upload or
    publish) a file of the machine that reads it.
    """
    if is_remote(base) and not is_remote(target):
        raise PathRefused(
            f"{base} links to {target!r}, a local path in a remote catalog; refusing to read"
            " it (a remote catalog may not make eotdl read local files)",
            hint="the catalog's hrefs must be http(s):// or s3:// URLs or relative to it;"
            " fix the catalog, or download it and read it from a folder you trust",
        )
    return target


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def readable_path(path: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> Path:
    """``path`` resolved (symlinks followed) if eotdl may read it, else raise PathRefused.

    It must exist, be a regular file (no folder, FIFO, device, socket, ``/proc`` entry) and,
    when ``root`` is given, resolve inside ``root`` (itself resolved). A missing file raises
    InputError ("no such file"), which callers may treat as absence.
    """
    given = Path(path)
    try:
        resolved = given.resolve(strict=True)
    except FileNotFoundError:
        raise InputError(f"{given}: no such file") from None
    except (OSError, RuntimeError) as exc:  # symlink loops, permission
        raise PathRefused(f"{given}: cannot be resolved ({exc})") from None
    if root is not None:
        top = Path(root).resolve()
        if not _inside(resolved, top):
            via = " through a symlink" if _has_symlink(given) else ""
            raise PathRefused(
                f"{given}: leads outside {top}{via} (to {resolved}); eotdl reads only files"
                " inside the lab or the folder it was given",
                hint="replace the symlink or path with the file itself, inside that folder",
            )
    if any(_inside(resolved, system) for system in SYSTEM_FOLDERS):
        raise PathRefused(
            f"{given}: is a system file ({resolved}); eotdl reads only data files",
            hint="point at a regular file of your own",
        )
    try:
        mode = resolved.stat().st_mode
    except OSError as exc:
        raise PathRefused(f"{given}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{given}: is a folder, expected a file")
    if not stat.S_ISREG(mode):
        raise PathRefused(
            f"{given}: is not a regular file ({_kind(mode)}); eotdl reads only regular files",
            hint="point at a regular file",
        )
    return resolved


def open_readable(path: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> BinaryIO:
    """Open ``path`` for reading in binary after :func:`readable_path` allows it.

    The file is opened without blocking and checked again on the open descriptor, so a file
    swapped for a FIFO between the check and the open cannot stall the reader.
    """
    resolved = readable_path(path, root)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(resolved, flags)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise PathRefused(f"{path}: cannot be opened ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PathRefused(f"{path}: is not a regular file; eotdl reads only regular files")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_limited(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None,
    limit: int,
    what: str,
    setting: str = "",
) -> bytes:
    """The bytes of a readable file, refusing one larger than ``limit`` before reading it.

    ``setting`` names the environment variable that raises the limit (said in the hint).
    """
    with open_readable(path, root) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise InputError(
                f"{path}: {_size(size)} is larger than the {_size(limit)} limit for {what}",
                hint=f"is this really {what}?"
                + (f" Set {setting} to raise the limit" if setting else ""),
            )
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{path}: larger than the {_size(limit)} limit for {what}")
    return data


def local_href_path(folder: str | os.PathLike[str], href: str) -> Path | None:
    """The local path an asset href of a document in ``folder`` names (None: not local)."""
    parts = urllib.parse.urlsplit(href)
    if not href or not is_local(href):
        return None
    if parts.scheme == "file":
        return Path(urllib.parse.unquote(parts.path))
    if len(parts.scheme) == 1:
        return Path(href)
    return Path(folder) / urllib.parse.unquote(parts.path)


def local_source_root(document: str) -> Path:
    """The folder a local STAC document may read files from: the lab holding it (the
    nearest folder above with ``eotdl.toml``), else the document's own folder."""
    folder = Path(_local(document)).resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "eotdl.toml").is_file():
            return candidate
    return folder


def check_local_source(document: str, target: str) -> None:
    """Refuse ``target`` (an href resolved from ``document``) if reading it would leave the
    document's lab or folder, or would read a special file; remote targets pass, and so do
    missing files (the transfer reports them)."""
    check_link(document, target)
    if is_remote(target) or not is_local(target):
        return
    path = Path(_local(target))
    if path.exists() or path.is_symlink():
        root = None if is_remote(document) else local_source_root(document)
        readable_path(path, objects_link_target(path) or root)


def objects_link_target(path: Path) -> Path | None:
    """For a path under a built site's ``objects`` link (the one link a site holds: it points
    at the store's objects, see :mod:`eotdl.catalog.store`), the folder that link points at."""
    absolute = Path(os.path.abspath(path))
    for parent in absolute.parents:
        link = parent / "objects"
        if link.is_symlink() and absolute.is_relative_to(link) and link.resolve().is_dir():
            return link.resolve()
    return None


def _local(location: str) -> str:
    parts = urllib.parse.urlsplit(location)
    if parts.scheme == "file":
        return urllib.parse.unquote(parts.path)
    return location


class LocalRoot:
    """A folder whose files may be read: everything it reads must resolve inside it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalRoot({str(self.root)!r})"

    def path(self, path: str | os.PathLike[str]) -> Path:
        """``path`` resolved, if it may be read (see :func:`readable_path`)."""
        return readable_path(path, self.root)

    def allows(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` may be read (an existing regular file inside the root)."""
        try:
            self.path(path)
        except InputError:
            return False
        return True

    def open(self, path: str | os.PathLike[str]) -> BinaryIO:
        return open_readable(path, self.root)


def _has_symlink(path: Path) -> bool:
    current = path if path.is_absolute() else Path.cwd() / path
    for part in (current, *current.parents):
        if part.is_symlink():
            return True
    return False


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} bytes"
