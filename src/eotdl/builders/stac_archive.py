"""Safe extraction of a STAC catalog shipped as an archive (``.tar.gz``, ``.tar``, ``.zip``…).

Every member is checked before anything is written: no absolute names, no ``..``, no links,
devices or other special files, and a cap on the number of members and on the total size
(zip members are also stopped at their declared size while being copied, so a lying header
cannot write more). Mac resource forks (``__MACOSX/``, ``._*``, ``.DS_Store``) are skipped.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from eotdl.errors import InputError

#: Names (lower case) that mark a source as an archive.
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")
#: Most members an archive may hold.
MAX_MEMBERS = 1_000_000
_CHUNK = 1 << 20


def is_archive(name: str) -> bool:
    """Whether ``name`` (a path or URL) names an archive we can extract."""
    return name.lower().split("?", 1)[0].endswith(ARCHIVE_SUFFIXES)


@dataclass(frozen=True)
class _Member:
    name: str
    size: int
    is_dir: bool


def _junk(parts: tuple[str, ...]) -> bool:
    return parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def _safe_parts(archive: Path, name: str) -> tuple[str, ...]:
    """The path parts of a member name, or InputError when it could escape the folder."""
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or "\x00" in text:
        raise InputError(
            f"{archive}: member {name!r} has an absolute path; refusing to extract it",
            hint="repack the archive with relative member names",
        )
    parts = tuple(p for p in PurePosixPath(text).parts if p not in ("", "."))
    if ".." in parts:
        raise InputError(
            f"{archive}: member {name!r} climbs out of the archive with '..'; refusing to"
            " extract it",
            hint="repack the archive with member names inside one folder",
        )
    return parts


def _tar_members(archive: Path, tar: tarfile.TarFile) -> Iterator[tuple[_Member, tarfile.TarInfo]]:
    for info in tar:
        if info.issym() or info.islnk():
            raise InputError(
                f"{archive}: member {info.name!r} is a link; refusing to extract it",
                hint="repack the archive with the files themselves, not links",
            )
        if not (info.isfile() or info.isdir()):
            raise InputError(
                f"{archive}: member {info.name!r} is not a regular file or folder;"
                " refusing to extract it"
            )
        yield _Member(info.name, info.size if info.isfile() else 0, info.isdir()), info


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> Iterator[tuple[_Member, zipfile.ZipInfo]]:
    for info in zf.infolist():
        mode = (info.external_attr >> 16) & 0o170000
        if mode and mode not in (0o100000, 0o040000):  # anything but a file or a folder
            raise InputError(
                f"{archive}: member {info.filename!r} is a link or special file;"
                " refusing to extract it"
            )
        yield _Member(info.filename, info.file_size, info.is_dir()), info


def _check_all(archive: Path, members: list[_Member], max_bytes: int) -> None:
    if len(members) > MAX_MEMBERS:
        raise InputError(f"{archive}: more than {MAX_MEMBERS} members; refusing to extract it")
    total = 0
    for member in members:
        _safe_parts(archive, member.name)
        total += member.size
        if total > max_bytes:
            raise InputError(
                f"{archive}: its members add up to more than {max_bytes // (1 << 20)} MiB;"
                " refusing to extract it",
                hint="raise --max-extract-mb if the archive really is that large",
            )


def _copy(archive: Path, name: str, source: IO[bytes], dest: Path, size: int) -> None:
    written = 0
    with open(dest, "xb") as out:
        while True:
            block = source.read(_CHUNK)
            if not block:
                break
            written += len(block)
            if written > size:
                raise InputError(
                    f"{archive}: member {name!r} holds more bytes than its header declares;"
                    " refusing to extract it"
                )
            out.write(block)


def extract_archive(archive: Path, dest: Path, max_bytes: int) -> Path:
    """Extract ``archive`` into the empty folder ``dest``, after checking every member."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zip_pairs = list(_zip_members(archive, zf))
                _check_all(archive, [m for m, _ in zip_pairs], max_bytes)
                for member, zinfo in zip_pairs:
                    if not member.is_dir:
                        with zf.open(zinfo) as source:
                            _write_member(archive, member, source, dest)
                    else:
                        _write_member(archive, member, None, dest)
        else:
            with tarfile.open(archive, mode="r:*") as tar:
                tar_pairs = list(_tar_members(archive, tar))
                _check_all(archive, [m for m, _ in tar_pairs], max_bytes)
                for member, tinfo in tar_pairs:
                    stream = tar.extractfile(tinfo) if not member.is_dir else None
                    _write_member(archive, member, stream, dest)
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        EOFError,
        OSError,
        RuntimeError,  # an encrypted zip member
        NotImplementedError,  # a zip compression method Python lacks
    ) as exc:
        if isinstance(exc, FileExistsError):
            raise InputError(
                f"{archive}: two members have the same name ({exc.filename})"
            ) from None
        raise InputError(f"{archive}: not a readable archive ({exc})") from None
    return dest


def _write_member(archive: Path, member: _Member, source: IO[bytes] | None, dest: Path) -> None:
    parts = _safe_parts(archive, member.name)
    if not parts or _junk(parts):
        return
    target = dest.joinpath(*parts)
    if member.is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is None:
        raise InputError(f"{archive}: member {member.name!r} cannot be read")
    _copy(archive, member.name, source, target, member.size)


def find_root(folder: Path) -> Path:
    """The root STAC document of an extracted archive: the shallowest catalog.json (or
    collection.json when there is none)."""
    for name in ("catalog.json", "collection.json"):
        found = sorted(
            (len(p.relative_to(folder).parts), str(p))
            for p in folder.rglob(name)
            if p.is_file() and not _junk(p.relative_to(folder).parts)
        )
        if found:
            depth = found[0][0]
            shallowest = [path for d, path in found if d == depth]
            if len(shallowest) > 1:
                raise InputError(
                    f"the archive holds {len(shallowest)} {name} files at the same depth:"
                    f" {', '.join(os.path.relpath(p, folder) for p in shallowest[:5])}",
                    hint="import one of them: extract the archive and give its path",
                )
            return Path(shallowest[0])
    raise InputError(
        "the archive holds no catalog.json or collection.json",
        hint="an archive must contain a STAC catalog (catalog.json) or collection",
    )
