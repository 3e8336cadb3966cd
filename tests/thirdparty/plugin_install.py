"""Installing a package for a test the way pip does: its source folder on ``sys.path`` and a
``*.dist-info`` folder holding its ``entry_points.txt``, so
``importlib.metadata.entry_points(group="eotdl.builders")``, hence eotdl's builder registry,
finds it (in this process, and in a child given :meth:`Installed.env`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eotdl.builders import registry


def write_dist_info(
    site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]
) -> Path:
    """The ``NAME-VERSION.dist-info`` folder pip would write, with what importlib.metadata
    reads: ``METADATA`` (name, version) and ``entry_points.txt``."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in entries.items())
    (folder / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@dataclass
class Installed:
    """Folders put on ``sys.path`` for an installed package."""

    paths: list[Path]

    def env(self) -> dict[str, str]:
        """The environment for a child process that sees the package too."""
        path = [str(p) for p in self.paths]
        if os.environ.get("PYTHONPATH"):
            path.append(os.environ["PYTHONPATH"])
        return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def install(monkeypatch: pytest.MonkeyPatch, paths: list[Path]) -> Iterator[Installed]:
    """Put ``paths`` first on ``sys.path`` for one test (a fixture's body: ``yield from``);
    the builder registry reads the entry points again on either side of it."""
    for path in reversed(paths):
        monkeypatch.syspath_prepend(str(path))
    registry.available.cache_clear()
    yield Installed(paths)
    registry.available.cache_clear()
