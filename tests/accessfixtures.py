"""Fixtures for the read, api and ml tests: a built lab for the session, a slow HTTP server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from accessdata import SlowServer, build_site, chips_lab, start_slow_server
from eotdl.catalog.lab import Lab


@pytest.fixture(scope="session")
def chips(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """A read-only lab with ``chips`` and its built site (with items.parquet) in ``_site``."""
    root = tmp_path_factory.mktemp("chips")
    lab = chips_lab(root)
    build_site(lab)
    return lab


@pytest.fixture
def chips_copy(chips: Lab, tmp_path: Path) -> Lab:
    """A private copy of the chips lab that a test may damage."""
    target = tmp_path / "lab"
    shutil.copytree(chips.root, target, symlinks=True)
    return Lab(target)


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[SlowServer]:
    root = tmp_path / "www"
    root.mkdir()
    server, served = start_slow_server(root)
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
