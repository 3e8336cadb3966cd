"""Real git repositories holding a lab, for tests that play pull requests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from eotdl.catalog.lab import Lab, init_lab
from stacgen import collection, item


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def make_repo(path: Path) -> Lab:
    """A lab in a fresh git repo with one commit on main."""
    lab = init_lab(path)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Ada Lovelace")
    git(path, "config", "user.email", "ada@example.org")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init lab")
    return lab


def write_dataset(
    lab: Lab, name: str, items: list[dict[str, Any]], version: str = "1.0.0", **extra: Any
) -> None:
    folder = lab.dataset(name)
    folder.write_collection({**collection(name), "version": version, **extra})
    folder.write_items(items)


def items(n: int, **props: Any) -> list[dict[str, Any]]:
    return [item(f"i{k:03d}", **props) for k in range(n)]


def commit(lab: Lab, message: str, author: str | None = None) -> str:
    git(lab.root, "add", "-A")
    args = ["commit", "-q", "-m", message]
    if author:
        args += ["--author", author]
    git(lab.root, *args)
    return git(lab.root, "rev-parse", "HEAD").strip()
