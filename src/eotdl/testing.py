"""The contract every builder passes, eotdl's own and third-party ones (TensorFlow Datasets
style): one implementation, which eotdl's test suite runs on each built-in builder.

A builder registered in the ``eotdl.builders`` entry-point group checks itself in a few lines::

    from eotdl.testing import Case, check_builder

    def test_contract(tmp_path):
        source = tmp_path / "source"
        write_tiny_source(source)                      # your seeded, tiny input
        case = Case(str(source), split="random:0.5,0.5", items=4,
                    splits={"train": 2, "validate": 2})
        check_builder("my-kind", case, tmp_path / "work")

:func:`check_builder` ingests the case into a fresh lab exactly as ``eotdl ingest`` does, then
requires: every object valid against its STAC schemas (offline: ``eotdl schemas sync`` or
``EOTDL_SCHEMA_MIRROR`` fills the cache), the expected item count, unique ids, with a split
every item in one of ``train``/``validate``/``test`` with the expected counts and no file in
two splits, the same ``items.ndjson`` byte for byte from a second lab and from ``eotdl
rebuild`` (so the same checksums), and no absolute local path anywhere in the lab. A broken
promise raises :class:`ContractError` (an ``AssertionError``, so pytest shows it as a failure)
saying which.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.builders.ingestion import ingest, rebuild
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.locations import is_remote, local_path
from eotdl.catalog.store import file_store_dir
from eotdl.catalog.validate import validate_target
from eotdl.catalog.vocabulary import SPLITS, item_split

__all__ = ["Case", "ContractError", "ContractResult", "check_builder"]

#: The dataset name the contract ingests into.
DATASET = "ds"


@dataclass
class Case:
    """A source for a builder, the options to use, and what the result must hold.

    ``items`` and ``splits`` (split name -> item count) are checked when given; ``serve`` is
    something the case keeps alive while it is built (a server with a ``close()``), closed by
    :func:`check_builder` at the end.
    """

    source: str
    options: dict[str, Any] = field(default_factory=dict)
    split: str | None = None
    items: int | None = None
    splits: dict[str, int] | None = None
    serve: Any = None


class ContractError(AssertionError):
    """A builder broke the contract: the message says which promise and where."""


@dataclass
class ContractResult:
    """What the contract built: the lab, and the dataset's Items (for checks of your own)."""

    lab: Lab
    items: list[dict[str, Any]]


def _require(condition: object, message: str) -> None:
    if not condition:
        raise ContractError(message)


def check_builder(kind: str, case: Case, workdir: str | os.PathLike[str]) -> ContractResult:
    """Build ``case`` with builder ``kind`` into labs under ``workdir`` (made if missing) and
    check the contract; raises :class:`ContractError` when the builder breaks it."""
    work = Path(workdir)
    try:
        return _check(kind, case, work)
    finally:
        if case.serve is not None:
            case.serve.close()


def _ingest(lab: Lab, kind: str, case: Case) -> int:
    result = ingest(
        lab, kind, case.source, DATASET, dict(case.options), split=case.split, progress=False
    )
    return result.saved.items


def _check(kind: str, case: Case, work: Path) -> ContractResult:
    lab = init_lab(work / "lab")
    saved = _ingest(lab, kind, case)
    folder = lab.dataset(DATASET)

    report = validate_target(str(lab.root))
    _require(
        report.ok,
        f"builder {kind!r}: the dataset is not valid STAC:\n"
        + "\n".join(p.format() for p in report.problems[:5]),
    )
    items = list(folder.iter_items())
    _require(items, f"builder {kind!r} made no items from {case.source}")
    _require(
        saved == len(items), f"builder {kind!r}: ingest reported {saved} items, wrote {len(items)}"
    )
    if case.items is not None:
        _require(
            len(items) == case.items,
            f"builder {kind!r} made {len(items)} items, the case expects {case.items}",
        )
    ids = Counter(str(item["id"]) for item in items)
    twice = sorted(i for i, n in ids.items() if n > 1)
    _require(not twice, f"builder {kind!r}: item ids used more than once: {twice[:5]}")
    if case.split:
        _check_splits(kind, case, items)

    first = folder.items_path.read_bytes()
    again = init_lab(work / "lab2")
    _ingest(again, kind, case)
    _require(
        again.dataset(DATASET).items_path.read_bytes() == first,
        f"builder {kind!r}: a second run on the same source made different items"
        " (ids, order, properties or checksums must not depend on time, randomness or paths)",
    )
    checksums = _checksums(items)
    rebuild(lab, DATASET, progress=False)
    _require(
        folder.items_path.read_bytes() == first,
        f"builder {kind!r}: `eotdl rebuild` from recipe.yaml made different items"
        " (every option that changes the output must be recorded by recipe_options())",
    )
    _require(
        _checksums(folder.iter_items()) == checksums,
        f"builder {kind!r}: the rebuilt assets have other checksums",
    )
    _check_no_local_paths(kind, lab, [work, *_local_sources(case.source)])
    return ContractResult(lab, items)


def _check_splits(kind: str, case: Case, items: list[dict[str, Any]]) -> None:
    per_split = Counter(item_split(item) for item in items)
    unknown = sorted(str(s) for s in per_split if s not in SPLITS)
    _require(not unknown, f"builder {kind!r} with --split {case.split}: items in splits {unknown}")
    if case.splits is not None:
        _require(
            dict(per_split) == case.splits,
            f"builder {kind!r}: items per split {dict(per_split)}, the case expects {case.splits}",
        )
    owner: dict[str, str | None] = {}
    for item in items:
        split = item_split(item)
        for key, asset in item["assets"].items():
            checksum = asset.get("file:checksum")
            if checksum and "data" in asset.get("roles", ["data"]):
                first = owner.setdefault(checksum, split)
                _require(
                    first == split,
                    f"builder {kind!r}: item {item['id']} asset {key!r} holds a file that is"
                    f" also in split {first!r} (a file in two splits leaks across them)",
                )


def _checksums(items: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(str(a.get("file:checksum", "")) for i in items for a in i["assets"].values())


def _local_sources(source: str) -> list[Path]:
    return [] if is_remote(source) else [Path(local_path(source))]


def _check_no_local_paths(kind: str, lab: Lab, roots: list[Path]) -> None:
    needles = {str(p).encode() for root in roots for p in (root.absolute(), root.resolve())}
    store = file_store_dir(lab)
    for path in sorted(lab.root.rglob("*")):
        if not path.is_file() or (store is not None and path.resolve().is_relative_to(store)):
            continue
        data = path.read_bytes()
        for needle in needles:
            _require(
                needle not in data,
                f"builder {kind!r}: an absolute local path ({needle.decode()}) in"
                f" {path.relative_to(lab.root)}: hrefs and properties must not name local paths",
            )
