"""Build a folder beside its target and swap it in at the end: a failed build changes nothing.

A :class:`Stage` is a fresh folder next to the target (``.<name>.XXXX``). A build writes what
changed into it and reuses what did not change from the previous target in one of three ways:

- a file is hard-linked (:meth:`Stage.link_previous`; a copy where links are not possible);
- a whole folder is *carried* (:meth:`Stage.carry`): moved from the previous target into the
  stage when the build is committed, so an unchanged dataset of 10k files costs one rename;
- a folder is *patched* (:meth:`Stage.patch`): carried too, with the files written into it
  during the build put in place and the files neither written nor kept removed, at commit. A
  one-item change in a folder of 10k item files then costs a few renames, not 10k links.

:meth:`Stage.commit` does those renames, journalled, then swaps the stage in with two more;
if any of them fails, the journal is played back and the previous target is as it was, as it
is after any failure before the commit. A lock on the target's parent folder keeps two builds
from interleaving, and stale stages of killed builds are removed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from eotdl.errors import LabError

_PATCHES = ".patches"
_REPLACED = ".replaced"


@dataclass
class _Patch:
    """A folder carried from the previous target and changed at commit."""

    previous: set[str]
    written: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    #: Keep every previous file not written and not dropped (no sets of every name kept).
    keep_unlisted: bool = False
    dropped: set[str] = field(default_factory=set)
    folder: str = ""


class Stage:
    """A staging folder for ``target``; use as a context manager or call commit/abort."""

    def __init__(self, target: str | os.PathLike[str], *, reuse_previous: bool = True) -> None:
        self.target = Path(target).resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.target.parent)
        try:
            _remove_stale(self.target)
            self.root = Path(
                tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent)
            )
        except BaseException:
            _unlock(self._lock_fd)
            raise
        has_previous = self.target.is_dir() and reuse_previous
        self.previous: Path | None = self.target if has_previous else None
        self._carried: list[str] = []
        self._patches: dict[str, _Patch] = {}
        self._can_link = True
        self.linked = 0
        self.written = 0

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def path(self, relative: str) -> Path:
        """The staged path of ``relative`` (a '/'-separated path inside the target)."""
        return self.root / relative

    def previous_path(self, relative: str) -> Path | None:
        """The path of ``relative`` in the previous target, or None without one."""
        return self.previous / relative if self.previous is not None else None

    def _patch_of(self, relative: str) -> tuple[_Patch, str] | None:
        if self._patches:
            folder, _, name = relative.rpartition("/")
            patch = self._patches.get(folder)
            if patch is not None:
                return patch, name
        return None

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write a new file into the stage (parent folders are created)."""
        patched = self._patch_of(relative)
        if patched is not None:
            patch, name = patched
            patch.written.add(name)
            patch.kept.discard(name)
            relative = f"{_PATCHES}/{relative}"
        path = os.path.join(self.root, relative)
        try:
            _write_file(path, data)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _write_file(path, data)
        self.written += 1

    def write_stream(self, relative: str, chunks: Iterable[bytes]) -> None:
        """Write a new file from pieces (a file too big to hold at once)."""
        patched = self._patch_of(relative)
        if patched is not None:
            patch, name = patched
            patch.written.add(name)
            patch.kept.discard(name)
            relative = f"{_PATCHES}/{relative}"
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        self.written += 1

    def keep_previous(self, relative: str) -> bool:
        """:meth:`link_previous`, except that a file of a folder patched with
        ``keep_unlisted`` is taken to be there without looking (a build that recorded it in
        its manifest wrote it): ten thousand list pages of a million items cost no stat."""
        patched = self._patch_of(relative)
        if patched is not None and patched[0].keep_unlisted and self.previous is not None:
            patch, name = patched
            if name in patch.written or name in patch.dropped:
                return False
            self.linked += 1
            return True
        return self.link_previous(relative)

    def link_previous(self, relative: str) -> bool:
        """Reuse ``relative`` from the previous target (hard link, copy, or kept in a patched
        folder); False if the previous target does not have it."""
        if self.previous is None:
            return False
        patched = self._patch_of(relative)
        if patched is not None:
            patch, name = patched
            if patch.keep_unlisted:
                if name in patch.written or name in patch.dropped:
                    return False
                if not os.path.exists(os.path.join(patch.folder, name)):
                    return False
                self.linked += 1
                return True
            if name not in patch.previous or name in patch.written:
                return False
            patch.kept.add(name)
            self.linked += 1
            return True
        source = os.path.join(self.previous, relative)
        dest = os.path.join(self.root, relative)
        if self._can_link:
            try:
                os.link(source, dest)
                self.linked += 1
                return True
            except FileNotFoundError:
                if not os.path.exists(source):
                    return False
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                return self.link_previous(relative)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                self._can_link = False
        try:
            shutil.copyfile(source, dest)
        except FileNotFoundError:
            if not os.path.exists(source):
                return False
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(source, dest)
        self.linked += 1
        return True

    def discard(self, relative: str) -> None:
        """Remove a staged file or folder (to carry the previous one instead)."""
        for folder in [f for f in self._patches if f == relative or f.startswith(relative + "/")]:
            del self._patches[folder]
            shutil.rmtree(self.root / _PATCHES / folder, ignore_errors=True)
        path = self.root / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    def can_carry(self, relative_dir: str) -> bool:
        """Whether the previous target has the folder ``relative_dir`` to carry over."""
        previous = self.previous_path(relative_dir)
        return previous is not None and previous.is_dir()

    def carry(self, relative_dir: str) -> None:
        """Move the folder ``relative_dir`` of the previous target into the stage on commit."""
        if not self.can_carry(relative_dir):
            raise LabError(f"cannot carry {relative_dir}: the previous site does not have it")
        self._carried.append(relative_dir)

    def patch(self, relative_dir: str, *, keep_unlisted: bool = False) -> bool:
        """Carry the flat folder ``relative_dir`` and change it in place at commit: files
        written into it replace or join the previous ones, files kept with
        :meth:`link_previous` stay, all others go. ``keep_unlisted``: all others stay too,
        except those named to :meth:`drop` (for a folder of a million files, where sets of the
        names kept would be most of the memory). False (nothing done) if there is no previous
        folder to patch; the caller then writes and links as usual."""
        previous = self.previous_path(relative_dir)
        if previous is None or not previous.is_dir() or (self.root / relative_dir).exists():
            return False
        if keep_unlisted:
            self._patches[relative_dir] = _Patch(set(), keep_unlisted=True, folder=str(previous))
            return True
        names = {entry.name for entry in os.scandir(previous) if entry.is_file()}
        self._patches[relative_dir] = _Patch(names)
        return True

    def drop(self, relative: str) -> None:
        """Remove a previous file of a folder patched with ``keep_unlisted`` at commit (in
        other patched folders, a file not written or kept goes anyway)."""
        patched = self._patch_of(relative)
        if patched is not None and patched[0].keep_unlisted:
            patch, name = patched
            patch.dropped.add(name)
            if name in patch.written:
                patch.written.discard(name)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root / _PATCHES / relative)

    def commit(self) -> None:
        """Move carried and patched folders in, then swap the stage in place of the target."""
        journal: list[tuple[Path, Path]] = []
        try:
            try:
                self._move_carried(journal)
                self._apply_patches(journal)
                _swap(self.root, self.target)
            except BaseException:
                _play_back(journal)
                raise
        except BaseException:
            self.abort()
            raise
        _unlock(self._lock_fd)
        self._lock_fd = -1

    def abort(self) -> None:
        """Remove the stage; the target stays as it was."""
        shutil.rmtree(self.root, ignore_errors=True)
        if self._lock_fd >= 0:
            _unlock(self._lock_fd)
            self._lock_fd = -1

    def _move_carried(self, journal: list[tuple[Path, Path]]) -> None:
        for relative in [*self._carried, *self._patches]:
            dest = self.root / relative
            if dest.exists():
                raise LabError(f"internal error: {relative} was both carried and written")
            dest.parent.mkdir(parents=True, exist_ok=True)
            _rename(self.target / relative, dest, journal)

    def _apply_patches(self, journal: list[tuple[Path, Path]]) -> None:
        for relative, patch in self._patches.items():
            folder = self.root / relative
            replaced = self.root / _REPLACED / relative
            replaced.mkdir(parents=True, exist_ok=True)
            new = self.root / _PATCHES / relative
            if patch.keep_unlisted:
                gone = sorted(n for n in patch.dropped if (folder / n).exists())
            else:
                gone = sorted(patch.previous - patch.kept)
            for name in gone:
                _rename(folder / name, replaced / name, journal)
            for name in sorted(patch.written):
                _rename(new / name, folder / name, journal)
        for extra in (_PATCHES, _REPLACED):
            if (self.root / extra).exists():
                _rename(self.root / extra, self.target.parent / f".{self.target.name}{extra}",
                        journal)  # fmt: skip


def disk_full(exc: BaseException, target: Path) -> LabError | None:
    """A clear error for a write that ran out of space (or quota), else None."""
    if not isinstance(exc, OSError):
        return None
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT) and "No space left" not in str(exc):
        return None
    return LabError(
        f"no space left on the device holding {target}; nothing was changed there",
        hint="free some space (or build into another folder with -o) and run it again",
    )


def _rename(source: Path, dest: Path, journal: list[tuple[Path, Path]]) -> None:
    os.rename(source, dest)
    journal.append((source, dest))


def _play_back(journal: list[tuple[Path, Path]]) -> None:
    """Undo journalled renames, last first."""
    for source, dest in reversed(journal):
        with contextlib.suppress(OSError):
            os.rename(dest, source)
    journal.clear()


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target`` with two renames; what is left over is removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    for leftover in (old, *(target.with_name(f".{target.name}{x}") for x in (_PATCHES, _REPLACED))):
        if leftover is not None and leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)


def _remove_stale(target: Path) -> None:
    """Remove stages and old copies left by builds that were killed (we hold the lock)."""
    prefix = f".{target.name}."
    for entry in target.parent.iterdir():
        if entry.name.startswith(prefix) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _lock(folder: Path) -> int:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LabError(
            f"another build is writing into {folder} right now",
            hint="wait for it to finish, then run the command again",
        ) from None
    return fd


def _unlock(fd: int) -> None:
    if fd < 0:
        return
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
