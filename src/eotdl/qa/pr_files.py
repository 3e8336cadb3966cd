"""What files a pull request adds or changes, and whether each may be there.

Every changed path is looked at on disk without following links: a symlink, a special file
(FIFO, device, socket, submodule) or a file outside the lab's layout is an error (after a
merge, ``build`` and ``publish`` would read it with the lab's credentials around); a file
over the size threshold is named; a change to the lab's settings or CI (``eotdl.toml``,
``.gitignore``, ``.github/``) needs a maintainer's review.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from eotdl.catalog.git import changed_paths, untracked_paths
from eotdl.catalog.lab import Lab, lab_path_role
from eotdl.qa.findings import ERROR, WARNING, Finding

#: Files larger than this (bytes) are named in the report; items.ndjson is exempt.
LARGE_FILE_BYTES = int(os.environ.get("EOTDL_CHECK_LARGE_FILE_BYTES", 1024 * 1024))
#: Exit status of ``eotdl check`` when the only verdict is "a maintainer must review".
MAINTAINER_EXIT = 3


@dataclass
class ChangedFiles:
    """The verdict on the files a pull request touched."""

    paths: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    maintainer: list[str] = field(default_factory=list)
    #: (group, name) of dataset/model folders holding an unsafe file: never read.
    unsafe_folders: set[tuple[str, str]] = field(default_factory=set)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    def to_dict(self) -> dict[str, object]:
        return {
            "changed": len(self.paths),
            "maintainer_review": self.maintainer,
            "findings": [f.to_dict() for f in self.findings],
        }


def check_changed_files(
    lab: Lab, repo: Path, base: str, large_file_bytes: int = LARGE_FILE_BYTES
) -> ChangedFiles:
    """Look at every path changed since ``base`` (committed, staged, unstaged, and untracked
    ones under ``datasets/`` and ``models/``, which the dataset checks would read)."""
    result = ChangedFiles(changed_paths(repo, base))
    untracked = set(untracked_paths(repo))
    prefix = lab.root.relative_to(repo.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    for path in result.paths:
        relative = path[len(prefix) :] if path.startswith(prefix) else None
        if path in untracked and not (relative or "").startswith(("datasets/", "models/")):
            continue  # a local file not (yet) in the branch, which nothing of the lab reads
        if relative is None:
            role = "maintainer" if path.startswith(".github/") else "unknown"
        else:
            role = lab_path_role(relative)
        if role == "maintainer":
            result.maintainer.append(path)
        unsafe = _file_problem(repo, path)
        if unsafe:
            result.findings.append(
                Finding(
                    ERROR,
                    "file-unsafe",
                    path,
                    f"{path}: {unsafe}; a lab holds only regular files",
                    "replace it with the regular file itself (or remove it)",
                    check="files",
                )
            )
        elif role == "unknown" and _exists(repo / path):
            result.findings.append(
                Finding(
                    ERROR,
                    "file-layout",
                    path,
                    f"{path}: not part of the lab layout (datasets/NAME/ and models/NAME/ hold"
                    " README.md, collection.json, items.ndjson, recipe.yaml and the card's"
                    " images)",
                    "remove it from the pull request, or ask a maintainer",
                    check="files",
                )
            )
        elif not unsafe and _exists(repo / path) and not path.endswith("/items.ndjson"):
            size = (repo / path).lstat().st_size
            if size > large_file_bytes:
                result.findings.append(
                    Finding(
                        WARNING,
                        "file-large",
                        path,
                        f"{path}: {size / (1024 * 1024):.1f} MiB, larger than the"
                        f" {large_file_bytes / (1024 * 1024):.1f} MiB expected in git",
                        "put large files in the object store with `eotdl ingest`",
                        check="files",
                    )
                )
        if (unsafe or role == "unknown") and relative is not None:
            parts = relative.split("/")
            if len(parts) >= 2 and parts[0] in ("datasets", "models"):
                result.unsafe_folders.add((parts[0], parts[1]))
    return result


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _file_problem(repo: Path, relative: str) -> str:
    """Why the changed path is not a plain regular file ('' when it is one, or is gone)."""
    path = current = repo / relative
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror})"
    # a symlinked folder on the way (datasets/x -> /etc) is as bad as a symlinked file
    parts = relative.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        parent = repo.joinpath(*parts[:depth])
        if parent.is_symlink():
            return f"lies in {parent.name}/, which is a symlink to {os.readlink(parent)}"
    if mode is None:
        return ""
    if stat.S_ISLNK(mode):
        return f"is a symlink (to {os.readlink(current)})"
    if stat.S_ISDIR(mode):
        return "is a folder in git's eyes (a submodule or nested repository)"
    if not stat.S_ISREG(mode):
        return "is a special file (FIFO, device or socket)"
    return ""
