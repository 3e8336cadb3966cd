"""The example third-party package (fieldnotes/) and the broken builders, installed through
their entry points for the tests that ask (see plugin_install.py)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_install import Installed, install, write_dist_info

from eotdl.builders import registry

HERE = Path(__file__).resolve().parent
#: The example package: pyproject.toml and src/eotdl_fieldnotes/.
FIELDNOTES = HERE / "fieldnotes"


@pytest.fixture
def fieldnotes(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Installed]:
    """The example package, installed from its pyproject.toml's entry points."""
    project = tomllib.loads((FIELDNOTES / "pyproject.toml").read_text(encoding="utf-8"))
    site = tmp_path_factory.mktemp("site-packages")
    meta = project["project"]
    write_dist_info(site, meta["name"], meta["version"], meta["entry-points"])
    yield from install(monkeypatch, [FIELDNOTES / "src", site])


@pytest.fixture
def broken_builders(
    fieldnotes: Installed, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Installed]:
    """tests/thirdparty/broken_builders.py's builders, each breaking one promise."""
    site = tmp_path_factory.mktemp("site-packages")
    entries = {
        "unstable-ids": "broken_builders:UnstableIdsBuilder",
        "leaky-paths": "broken_builders:LeakyPathsBuilder",
        "one-file": "broken_builders:OneFileBuilder",
    }
    write_dist_info(site, "eotdl-broken-builders", "0.0.1", {registry.GROUP: entries})
    yield from install(monkeypatch, [HERE, site])
