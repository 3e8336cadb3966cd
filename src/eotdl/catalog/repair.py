"""``eotdl storage repair``: put back the objects ``verify`` finds missing or damaged.

An object's key names the SHA-256 of its bytes, so the right bytes can be recognised
wherever they are: the source each dataset was ingested from (``source`` in its
``recipe.yaml``) and any folder the user names (``--from DIR``) are searched for files of the
expected size, those are hashed, and a file with the right SHA-256 is uploaded over the
damaged object. Files a builder derived are made again (``rebuild``), and lost preview PNGs
are drawn again from their images (same images, same stretch: the same bytes). Objects
whose bytes are found nowhere are reported, with where the lab uses them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eotdl.catalog.assets import AssetProblem, iter_lab_assets, verify_lab
from eotdl.catalog.lab import Lab
from eotdl.catalog.locks import scratch
from eotdl.catalog.previews import PREVIEW_KEY, redraw_previews
from eotdl.catalog.store import open_lab_store
from eotdl.errors import InputError
from eotdl.storage import ObjectStore
from eotdl.storage.hashing import sha256_and_size
from eotdl.storage.keys import sha256_of_key

REPAIRABLE = ("missing", "corrupt")
#: Makes a dataset's local files again into a scratch folder and yields their paths.
Rebuild = Callable[[Lab, str, Path], Iterable[Path]]


@dataclass
class RepairReport:
    """What ``repair`` did: objects put back (key -> the file used) and objects left as
    they were, with why."""

    store: str
    problems: int = 0
    repaired: dict[str, str] = field(default_factory=dict)
    unrepaired: list[AssetProblem] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)
    hashed: int = 0

    @property
    def passed(self) -> bool:
        return not self.unrepaired

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "problems": self.problems,
            "repaired": [{"key": k, "from": v} for k, v in sorted(self.repaired.items())],
            "unrepaired": [p.to_dict() for p in self.unrepaired],
            "searched": self.searched,
            "files_hashed": self.hashed,
            "passed": self.passed,
        }


def repair_lab(
    lab: Lab,
    names: Iterable[str] = (),
    from_dirs: Iterable[str | os.PathLike[str]] = (),
    *,
    store: ObjectStore | None = None,
    rebuild: Rebuild | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> RepairReport:
    """Re-upload the missing or corrupt objects of datasets ``names`` (default: all) from the
    files whose bytes they must hold, found in the datasets' sources or ``from_dirs``, and
    else among the files ``rebuild(lab, dataset, workdir)`` makes again (builders pass it:
    the catalog cannot run a builder itself)."""
    store = store or open_lab_store(lab)
    wanted_names = set(names)
    for name in wanted_names:
        if not lab.dataset(name).exists() and not lab.model(name).exists():
            raise InputError(f"no dataset or model named {name!r} in {lab.root}")
    report = RepairReport(store.url)
    verified = verify_lab(lab, store, workers=workers, progress=progress)
    problems = [p for p in verified.problems if _belongs(p, wanted_names)]
    report.problems = len(problems)
    todo: dict[str, AssetProblem] = {}
    for problem in problems:
        if problem.status not in REPAIRABLE:
            report.unrepaired.append(problem)
        elif sha256_of_key(problem.key) is None:
            report.unrepaired.append(
                _note(problem, "not content-addressed: its bytes cannot be recognised")
            )
        else:
            todo[problem.key] = problem
    if not todo:
        return report
    sizes = _declared_sizes(lab, store, set(todo))
    by_sha = {str(sha256_of_key(key)): key for key in todo}
    wanted_sizes = {sizes[k] for k in todo if k in sizes}
    folders = [Path(d) for d in from_dirs] + _recipe_sources(lab, todo.values())
    found = _find(folders, by_sha, wanted_sizes, report)
    for key, path in found.items():
        store.put_named(key, path, overwrite=True)
        report.repaired[key] = str(path)
    left = {k: p for k, p in todo.items() if k not in found}
    if left and rebuild is not None:  # files a builder derived: make them again, in scratch
        for dataset in sorted({d for p in left.values() for d in _datasets_of(p)}):
            missing = {sha: key for sha, key in by_sha.items() if key in left}
            if not missing:
                break
            try:
                with scratch(lab, f"repair-{dataset}-") as workdir:
                    report.searched.append(f"a rebuild of {dataset}")
                    made = rebuild(lab, dataset, workdir)
                    for key, path in _match(made, missing, wanted_sizes, report).items():
                        store.put_named(key, path, overwrite=True)
                        report.repaired[key] = f"a rebuild of {dataset}"
                        left.pop(key, None)
            except InputError as exc:  # the recipe cannot run here (its source is gone…)
                report.searched[-1] += f" (not possible: {exc.message})"
    if left:  # lost previews: drawn again from their images, they are the same bytes
        _redraw_previews(lab, left, by_sha, wanted_sizes, store, report)
    for problem in left.values():
        report.unrepaired.append(
            _note(problem, "no file with its bytes in " + (", ".join(report.searched) or
                  "any source folder") + "; pass the folder holding it with --from DIR")
        )  # fmt: skip
    if report.repaired:  # check what was written, as verify would
        checks = store.verify_objects(
            ((k, None, sizes.get(k)) for k in report.repaired), workers=workers, progress=False
        )
        for check in checks:
            if check.status != "ok":
                used = report.repaired.pop(check.key)
                report.unrepaired.append(
                    _note(todo[check.key], f"re-uploaded from {used} but: {check.message}")
                )
    return report


def _redraw_previews(
    lab: Lab,
    left: dict[str, AssetProblem],
    by_sha: dict[str, str],
    sizes: set[int],
    store: ObjectStore,
    report: RepairReport,
) -> None:
    """Put back the lost preview PNGs of ``left`` (removed from it) by drawing them again."""
    wanted: dict[str, set[str]] = {}  # dataset -> ids of items whose preview is lost
    for problem in left.values():
        for where in problem.where:
            item = re.search(rf" item=(\S+) asset={PREVIEW_KEY}$", where)
            dataset = _dataset_of(where)
            if item is not None and dataset is not None:
                wanted.setdefault(dataset, set()).add(item.group(1))
    for dataset, ids in sorted(wanted.items()):
        missing = {sha: key for sha, key in by_sha.items() if key in left}
        if not missing:
            return
        with scratch(lab, f"repair-previews-{dataset}-") as workdir:
            report.searched.append(f"previews of {dataset} drawn again")
            made = redraw_previews(lab, lab.dataset(dataset), workdir, ids=ids)
            for key, path in _match(made, missing, sizes, report).items():
                store.put_named(key, path, overwrite=True)
                report.repaired[key] = f"the previews of {dataset}, drawn again"
                left.pop(key, None)


def _belongs(problem: AssetProblem, names: set[str]) -> bool:
    if not names:
        return True
    return any(where.split("/", 2)[1] in names for where in problem.where if "/" in where)


def _note(problem: AssetProblem, why: str) -> AssetProblem:
    return AssetProblem(problem.key, problem.status, f"{problem.message}; {why}",
                        problem.href, problem.where)  # fmt: skip


def _declared_sizes(lab: Lab, store: ObjectStore, keys: set[str]) -> dict[str, int]:
    sizes = {}
    for ref in iter_lab_assets(lab, store):
        if ref.store_key in keys and ref.size is not None:
            sizes[ref.store_key] = ref.size
    return sizes


def _recipe_sources(lab: Lab, problems: Iterable[AssetProblem]) -> list[Path]:
    """The local sources recorded in the recipes of the datasets these problems are in."""
    folders: dict[Path, None] = {}
    for problem in problems:
        for where in problem.where:
            parts = where.split("/", 2)
            if len(parts) < 3 or parts[0] not in ("datasets", "models"):
                continue
            recipe = lab.root / parts[0] / parts[1] / "recipe.yaml"
            try:
                data = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                continue
            source = str(data.get("source", "")) if isinstance(data, dict) else ""
            if not source or "://" in source:
                continue
            fixed = source.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
            path = Path(os.path.normpath(lab.root / fixed))
            if fixed != source:  # a glob: search the folder it starts in
                path = path if fixed.endswith("/") else path.parent
            if path.exists():
                folders[path] = None
    return list(folders)


def _find(
    folders: list[Path], by_sha: dict[str, str], sizes: set[int], report: RepairReport
) -> dict[str, Path]:
    """key -> a file holding its bytes, searching ``folders`` (files of the sizes wanted)."""
    found: dict[str, Path] = {}
    for folder in folders:
        if len(found) == len(by_sha):
            break
        report.searched.append(str(folder))
        rest = {sha: key for sha, key in by_sha.items() if key not in found}
        found.update(_match(_files(folder), rest, sizes, report))
    return found


def _match(
    paths: Iterable[Path], by_sha: dict[str, str], sizes: set[int], report: RepairReport
) -> dict[str, Path]:
    """key -> the first of ``paths`` holding its bytes (only files of the sizes wanted are
    hashed); stops reading ``paths`` once every key is found."""
    found: dict[str, Path] = {}
    if not by_sha:
        return found
    for path in paths:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if sizes and size not in sizes:
            continue
        try:
            sha, _ = sha256_and_size(path)
        except OSError:
            continue
        report.hashed += 1
        key = by_sha.get(sha)
        if key is not None and key not in found:
            found[key] = path
            if len(found) == len(by_sha):
                break
    return found


def _datasets_of(problem: AssetProblem) -> list[str]:
    """The datasets (not models) whose items use the object."""
    return [name for name in map(_dataset_of, problem.where) if name is not None]


def _dataset_of(where: str) -> str | None:
    """The dataset of a place ``datasets/NAME/items.ndjson:LINE …``, or None (a model…)."""
    parts = where.split("/", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "datasets" else None


def _files(folder: Path) -> Iterable[Path]:
    if folder.is_file():
        yield folder
        return
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if not path.is_symlink():
                yield path
