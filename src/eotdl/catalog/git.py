"""The few git operations a lab needs: what changed since a ref, and files at a ref.

Everything goes through the ``git`` command line (no library), read-only except for tags.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from eotdl.catalog import card, jsonfile, yamlfile
from eotdl.catalog.paths import PathRefused, open_readable, readable_path
from eotdl.errors import InputError, LabError

WORKTREE = "WORKTREE"


def run_git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in ``repo`` and return its stdout; failures are LabErrors naming the command."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise LabError(
            "git is not installed", hint="install git to use versions and checks"
        ) from None
    if check and result.returncode != 0:
        raise LabError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def is_repo(path: Path) -> bool:
    return run_git(path, "rev-parse", "--is-inside-work-tree", check=False).strip() == "true"


def repo_root(path: Path) -> Path:
    return Path(run_git(path, "rev-parse", "--show-toplevel").strip())


def resolve_ref(repo: Path, ref: str) -> str:
    """The commit id of ``ref``; a clear error when it does not exist."""
    out = run_git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not out.strip():
        raise LabError(
            f"git ref {ref!r} not found",
            hint="fetch it first (e.g. `git fetch origin main`) or name a branch, tag or commit",
        )
    return out.strip()


def merge_base(repo: Path, base: str) -> str:
    """Where the current branch left ``base`` (so a PR is compared with what it started from)."""
    commit = resolve_ref(repo, base)
    out = run_git(repo, "merge-base", commit, "HEAD", check=False).strip()
    return out or commit


def changed_paths(repo: Path, base: str) -> list[str]:
    """Paths (relative to the repo) that differ between ``base`` and the working tree.

    Names are read NUL-separated, so any file name (spaces, newlines, non-ASCII) comes back
    exactly as it is on disk.
    """
    out = run_git(repo, "diff", "--name-only", "-z", "--no-renames", base, "--")
    return sorted({p for p in out.split("\0") if p} | set(untracked_paths(repo)))


def untracked_paths(repo: Path) -> list[str]:
    """Files git does not track yet (and does not ignore), relative to the repo."""
    out = run_git(repo, "ls-files", "-z", "--others", "--exclude-standard")
    return sorted(p for p in out.split("\0") if p)


def _worktree_file(repo: Path, path: str) -> Path | None:
    """The working-tree file ``path`` if eotdl may read it (inside the repo, regular); None
    when it is absent. A symlink leading out of the repo or a special file is refused."""
    file = repo / path
    if not file.exists() and not file.is_symlink():
        return None
    if file.is_dir() and not file.is_symlink():
        return None
    try:
        return readable_path(file, repo)
    except PathRefused:
        raise
    except InputError:
        return None


def show(repo: Path, ref: str, path: str) -> bytes | None:
    """The bytes of ``path`` at ``ref`` (``WORKTREE`` reads the file), None when absent.

    A JSON, card or YAML file larger than its reader's limit is refused before it is read
    (InputError), so a huge ``collection.json`` in some old commit cannot exhaust memory.
    """
    limit = _limit_for(path)
    if ref == WORKTREE:
        file = _worktree_file(repo, path)
        if file is None:
            return None
        if limit is not None:
            _check_size(file.stat().st_size, limit, path, "the working tree")
        with open_readable(file, repo) as handle:
            return handle.read()
    if limit is not None:
        size = run_git(repo, "cat-file", "-s", f"{ref}:{path}", check=False).strip()
        if not size.isdigit():
            return None
        _check_size(int(size), limit, path, ref)
    result = subprocess.run(
        ["git", "show", f"{ref}:{path}"],
        cwd=repo,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return result.stdout if result.returncode == 0 else None


def _limit_for(path: str) -> int | None:
    """The size limit of the reader of ``path`` (None: read as a stream, or not parsed)."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(".json"):
        return jsonfile.MAX_JSON_BYTES
    if name == "readme.md":
        return card.MAX_CARD_BYTES
    if name.endswith((".yaml", ".yml")):
        return yamlfile.MAX_YAML_BYTES
    return None


def _check_size(size: int, limit: int, path: str, where: str) -> None:
    if size > limit:
        raise InputError(
            f"{path} at {where}: {size / 1e6:.0f} MB is larger than the"
            f" {limit / (1024 * 1024):.0f} MiB limit for this file",
            hint="a STAC document, card or recipe is kilobytes; keep the data in the store",
        )


def stream_lines(repo: Path, ref: str, path: str) -> Iterator[bytes]:
    """The lines of ``path`` at ``ref``, streamed (memory stays flat for big files)."""
    if ref == WORKTREE:
        file = _worktree_file(repo, path)
        if file is not None:
            with open_readable(file, repo) as handle:
                yield from handle
        return
    process = subprocess.Popen(
        ["git", "show", f"{ref}:{path}"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        yield from process.stdout
    finally:
        process.stdout.close()
        process.wait()


def diff_lines(
    repo: Path, base: str, path: str, target: str = WORKTREE
) -> tuple[list[bytes], list[bytes]]:
    """Lines removed and added in ``path`` from ``base`` to ``target`` (git's own diff)."""
    args = ["diff", "--no-color", "--unified=0", "--no-renames", base]
    if target != WORKTREE:
        args.append(target)
    args += ["--", path]
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise LabError(f"git {' '.join(args)} failed: {result.stderr.decode().strip()}")
    removed, added = [], []
    for line in result.stdout.split(b"\n"):
        if line.startswith(b"---") or line.startswith(b"+++"):
            continue
        if line.startswith(b"-"):
            removed.append(line[1:])
        elif line.startswith(b"+"):
            added.append(line[1:])
    return removed, added


def tags(repo: Path, pattern: str = "*") -> list[str]:
    return [t for t in run_git(repo, "tag", "--list", pattern).splitlines() if t]


def create_tag(repo: Path, name: str, message: str) -> None:
    run_git(repo, "tag", "-a", name, "-m", message)


def is_shallow(repo: Path) -> bool:
    """Whether ``repo`` is a shallow clone (older commits are not there)."""
    return run_git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"


def show_prefix(repo: Path) -> str:
    """Where ``repo`` (a folder inside a work tree) is, relative to the top ("" at the top,
    else ending with "/")."""
    return run_git(repo, "rev-parse", "--show-prefix").strip()


def blob_versions(repo: Path, pathspecs: list[str]) -> dict[str, str]:
    """Every blob (id -> path) of the files matching ``pathspecs`` in any commit of any ref,
    in the reflog, or in the index: all the versions git holds of those files."""
    blobs: dict[str, str] = {}
    log = run_git(
        repo, "log", "--all", "--reflog", "-m", "--raw", "--no-abbrev", "--no-renames",
        "--format=", "--", *pathspecs,
    )  # fmt: skip
    for line in log.splitlines():
        if not line.startswith(":"):
            continue
        meta, _, path = line.partition("\t")
        for blob in meta.split()[2:4]:
            if blob.strip("0"):
                blobs.setdefault(blob, path)
    for line in run_git(repo, "ls-files", "-s", "--full-name", "--", *pathspecs).splitlines():
        meta, _, path = line.partition("\t")
        blobs.setdefault(meta.split()[1], path)
    return blobs


def read_blobs(repo: Path, blobs: dict[str, str]) -> Iterator[tuple[str, bytes]]:
    """(path, content) of each blob (id -> path), streamed through one
    ``git cat-file --batch``; a blob git does not have (pruned, partial clone) is skipped."""
    if not blobs:
        return
    process = subprocess.Popen(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin = process.stdin

    def feed() -> None:
        try:
            for blob in blobs:
                stdin.write(f"{blob}\n".encode())
        finally:
            stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        for path in blobs.values():
            header = process.stdout.readline().decode().split()
            if len(header) < 3 or header[1] != "blob":
                continue  # "missing": a blob of a pruned or partial clone
            data = process.stdout.read(int(header[2]))
            process.stdout.read(1)
            yield path, data
    finally:
        feeder.join()
        process.stdout.close()
        process.wait()
