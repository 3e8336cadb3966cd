"""The one test every builder passes (TensorFlow Datasets style), run on every built-in one.

Each builder kind has a case in ``tests/builders/cases/``; :func:`eotdl.testing.check_builder`
(the same check third-party builders run) builds it into a fresh lab, validates every object
offline, checks the counts per split and that no item or file is in two splits, builds again
and rebuilds from the recipe and gets identical items and checksums, and finds no absolute
local path anywhere in the lab.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import cases
import pytest

from eotdl.builders import registry
from eotdl.testing import check_builder

CASES = sorted(m.name for m in pkgutil.iter_modules(cases.__path__))


def _case_module(name: str):
    return importlib.import_module(f"cases.{name}")


def test_every_builtin_builder_has_a_case():
    kinds = {_case_module(name).KIND for name in CASES}
    missing = set(registry.BUILTIN) - kinds
    assert not missing, f"builders without a contract case: {sorted(missing)}"


@pytest.mark.parametrize("name", CASES)
def test_builder_contract(name: str, tmp_path: Path, shared_mirror: Path):
    module = _case_module(name)
    check_builder(module.KIND, module.make_case(tmp_path / "source"), tmp_path)
