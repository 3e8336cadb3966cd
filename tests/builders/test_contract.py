"""The one test every builder passes (TensorFlow Datasets style).

Each builder kind has a case in ``tests/builders/cases/``. For each: build into a fresh lab,
validate every object offline, check the counts per split and that no item or file is in two
splits, build again and rebuild from the recipe and get identical items and checksums, and
find no absolute local path anywhere in the lab.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from pathlib import Path

import cases
import pytest

from eotdl.builders import registry
from eotdl.builders.ingest import ingest, rebuild
from eotdl.catalog.lab import init_lab
from eotdl.catalog.validate import validate_target

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
    case = module.make_case(tmp_path / "source")
    try:
        lab = init_lab(tmp_path / "lab")
        result = ingest(
            lab,
            module.KIND,
            case.source,
            "ds",
            dict(case.options),
            split=case.split,
            progress=False,
        )
        folder = lab.dataset("ds")

        report = validate_target(str(lab.root))
        assert report.ok, "\n".join(p.format() for p in report.problems[:5])

        items = list(folder.iter_items())
        if case.items is not None:
            assert len(items) == case.items == result.saved.items
        ids = [i["id"] for i in items]
        assert len(ids) == len(set(ids))
        if case.split:
            per_split = Counter(i["properties"]["ml-aoi:split"] for i in items)
            if case.splits is not None:
                assert dict(per_split) == case.splits
            owner: dict[str, str] = {}
            for item in items:
                split = item["properties"]["ml-aoi:split"]
                for asset in item["assets"].values():
                    checksum = asset.get("file:checksum")
                    if checksum and "data" in asset.get("roles", ["data"]):
                        assert owner.setdefault(checksum, split) == split, "a file in two splits"

        first = folder.items_path.read_bytes()
        checksums = sorted(a.get("file:checksum", "") for i in items for a in i["assets"].values())

        again = init_lab(tmp_path / "lab2")
        ingest(
            again,
            module.KIND,
            case.source,
            "ds",
            dict(case.options),
            split=case.split,
            progress=False,
        )
        assert again.dataset("ds").items_path.read_bytes() == first, "second run differs"

        rebuild(lab, "ds", progress=False)
        assert folder.items_path.read_bytes() == first, "rebuild from recipe.yaml differs"
        assert checksums == sorted(
            a.get("file:checksum", "") for i in folder.iter_items() for a in i["assets"].values()
        )

        for path in lab.root.rglob("*"):
            if path.is_file() and "store" not in path.relative_to(lab.root).parts[:1]:
                text = path.read_bytes()
                assert str(tmp_path).encode() not in text, f"absolute local path in {path}"
    finally:
        if case.serve is not None:
            case.serve.close()
