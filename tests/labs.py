"""One seeded lab factory for the tests: site, read/api/ml, train, QA and pull requests share it.

    lab = make_lab(tmp_path, [Dataset("chips", "classification_folders", per_class=2)], build=True)

makes ``tmp_path/lab`` (sources under ``tmp_path/sources``). A dataset's ``source`` is one of:

- a module of ``tests/builders/cases`` (``classification_folders``, ``segmentation_pairs``,
  ``detection``, ``rasters``, ``rasters_masks``, ``points``): the contract test's seeded source,
  sized by the options (its ``make_case`` keywords), made into a dataset by the builder itself,
  bytes in the lab's store;
- ``synthetic``: seeded STAC items of ``scripts/synthetic.py`` with no real bytes (``count``,
  ``seed``, ``labelled``: classes, random splits and gaps for search; ``stand_ins``: a small
  object in the store for every asset, so the site's links resolve), for tests of scale;
- ``stub``: the minimal items of ``stacgen`` (``count`` of them, ``i000``…), for diffs, versions
  and pull requests.

Models (:class:`Model`) go in the same list, made in order after the datasets before them.
``git`` commits the new lab, then each dataset or model; ``tag`` also tags each version.
Everything is seeded: the same call makes the same bytes. A plugin (tests/conftest.py loads it):
``shared_lab(contents, **settings)`` makes a lab once per session (read-only); ``chips`` is one,
built; ``chips_copy`` a private copy of it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from synthetic import make_collection, make_item

import stacgen
from eotdl.builders.ingestion import ingest
from eotdl.catalog.card import Card
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.tree import write_stac_tree

#: The builders' seeded sources (the contract test's cases).
CASES = Path(__file__).parent / "builders" / "cases"
#: The classes of the default chips (``classification_folders``'s own).
CHIP_CLASSES = ["Forest", "Pasture", "River"]
#: What ``labelled`` synthetic items draw their ``class`` property from.
SEARCH_CLASSES = ["forest", "water", "urban"]


class Dataset:
    """A dataset ``name`` for :func:`make_lab`, made from ``source`` (a builder case,
    ``synthetic`` or ``stub``; ``options`` are its keywords).

    ``version`` and ``collection`` (merged, dicts key by key) change collection.json; ``card``
    (the fields of :class:`Card`) writes README.md; ``splits`` sets the items' splits in the
    order of their ids, in place of the builder's; ``split_seed`` seeds the builder's split;
    ``files`` are written into the dataset's folder (paths relative to it).
    """

    def __init__(
        self,
        name: str,
        source: str,
        *,
        version: str | None = None,
        card: Mapping[str, Any] | None = None,
        collection: Mapping[str, Any] | None = None,
        splits: Sequence[str] | None = None,
        split_seed: int = 0,
        files: Mapping[str, bytes] | None = None,
        **options: Any,
    ) -> None:
        self.name = name
        self.source = source
        self.options = options
        self.version = version
        self.card = card
        self.collection = collection
        self.splits = splits
        self.split_seed = split_seed
        self.files = files

    def __repr__(self) -> str:  # every field: :func:`shared_lab` tells labs apart by it
        return f"Dataset({sorted(vars(self).items())!r})"


@dataclass(frozen=True)
class Model:
    """A model folder for :func:`make_lab`: one item with MLM fields whose ``weights`` asset is
    the first asset of ``dataset``'s first item (real bytes when the dataset has them),
    ``derived_from`` the dataset."""

    name: str
    dataset: str
    card: Mapping[str, Any] | None = None


def make_lab(
    root: Path,
    contents: Iterable[Dataset | Model] = (),
    *,
    build: bool = False,
    git: bool = False,
    tag: bool = False,
    title: str | None = None,
    store_url: str | None = None,
    store: Mapping[str, str] | None = None,
    install: str | None = None,
    previews: bool = False,
    name: str = "lab",
) -> Lab:
    """A new lab in ``root/name`` (``root/lab``) holding ``contents``, made in order; the
    builders' sources go in ``root/sources``.

    ``store_url`` and ``store`` (more ``[store]`` settings: ``endpoint_url``, ``public_url``)
    configure the object store; ``build`` writes the STAC tree with its ``items.parquet`` into
    the site folder (what readers and the API read; the HTML site is ``eotdl.site``'s);
    ``previews`` adds previews to every dataset, as ``eotdl ingest`` does.
    """
    settings: dict[str, Any] = {}
    if title is not None:
        settings["title"] = title
    if store_url is not None:
        settings["store_url"] = store_url
    if install is not None:
        settings["install"] = install
    lab = init_lab(root / name, **settings)
    if store:
        lab = set_store(lab, **store)
    if git or tag:
        git_init(lab.root)
        commit(lab, "init lab")
    for n, part in enumerate(contents):
        add(lab, part, root / "sources" / f"{part.name}-{n}")
        if git or tag:
            folder = lab.model(part.name) if isinstance(part, Model) else lab.dataset(part.name)
            commit(lab, f"{part.name} {folder.read_collection().get('version', '')}".strip())
            if tag:
                from eotdl.catalog.published import tag_versions

                tag_versions(lab)
    if previews:
        from eotdl.catalog.previews import add_previews

        for folder in lab.datasets():
            add_previews(lab, folder)
    if build:
        build_stac_tree(lab)
    return lab


def add(lab: Lab, part: Dataset | Model, sources: Path | None = None) -> None:
    """Put one dataset or model in ``lab``; a builder's sources are written under ``sources``
    (by default ``sources/<name>`` beside the lab)."""
    sources = sources or lab.root.parent / "sources" / part.name
    if isinstance(part, Model):
        _add_model(lab, part)
        return
    if part.source == "synthetic":
        _add_synthetic(lab, part.name, **part.options)
    elif part.source == "stub":
        _add_stub(lab, part.name, **part.options)
    else:
        if not (CASES / f"{part.source}.py").is_file():
            known = sorted(p.stem for p in CASES.glob("[a-z]*.py"))
            raise ValueError(f"no source {part.source!r}: synthetic, stub or one of {known}")
        module = importlib.import_module(f"cases.{part.source}")
        case = module.make_case(sources, **part.options)
        try:
            ingest(
                lab,
                module.KIND,
                case.source,
                part.name,
                {k: str(v) if isinstance(v, Path) else v for k, v in case.options.items()},
                split=case.split,
                seed=part.split_seed,
                progress=False,
            )
        finally:
            if case.serve is not None:  # a server the case started (a STAC API)
                case.serve.close()
    folder = lab.dataset(part.name)
    if part.splits is not None:
        order = sorted(i["id"] for i in folder.iter_items())
        chosen = dict(zip(order, part.splits, strict=True))
        items = list(folder.iter_items())
        for item in items:
            item["properties"]["ml-aoi:split"] = chosen[item["id"]]
        folder.write_items(items)
    if part.version is not None or part.collection:
        collection = folder.read_collection()
        if part.version is not None:
            collection["version"] = part.version
        folder.write_collection(_merge(collection, part.collection or {}))
    if part.card is not None:
        folder.write_card(Card(**part.card))
    for relative, data in (part.files or {}).items():
        target = folder.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _merge(base: dict[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# -- datasets without a builder -----------------------------------------------------------


def synthetic_items(
    name: str,
    count: int,
    seed: int = 0,
    *,
    labelled: bool = False,
    split_names: Sequence[str] = ("train", "validation", "test"),
    offset: tuple[float, float] = (0.0, 0.0),
) -> list[dict[str, Any]]:
    """``count`` synthetic items (eo, projection, raster, file fields), seeded.

    ``labelled``: a ``class`` and a random split for every item, some missing
    ``eo:cloud_cover``, some with a time range (what the search tests filter on); otherwise the
    splits go round ``split_names`` (none if empty). ``offset`` moves them (degrees).
    """
    rng = random.Random(seed)
    items = []
    for i in range(count):
        item = make_item(i, name, seed)
        props = item["properties"]
        if labelled:
            props["class"] = rng.choice(SEARCH_CLASSES)
            props["ml-aoi:split"] = rng.choice(["train", "validate", "test"])
            if rng.random() < 0.15:
                del props["eo:cloud_cover"]
            if rng.random() < 0.1:
                start = props["datetime"]
                end = _plus_days(start, rng.randint(1, 60))
                props["start_datetime"] = start
                props["end_datetime"] = end
        elif split_names:
            props["ml-aoi:split"] = split_names[i % len(split_names)]
        if offset != (0.0, 0.0):
            _shift(item, *offset)
        items.append(item)
    return items


def search_datasets(counts: Mapping[str, int]) -> list[Dataset]:
    """``labelled`` synthetic datasets of ``counts[name]`` items each, seeded by their order."""
    return [
        Dataset(name, "synthetic", count=count, seed=seed, labelled=True)
        for seed, (name, count) in enumerate(counts.items())
    ]


def _plus_days(stamp: str, days: int) -> str:
    start = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (start + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shift(item: dict[str, Any], dx: float, dy: float) -> None:
    ring = item["geometry"]["coordinates"][0]
    item["geometry"]["coordinates"] = [[[x + dx, y + dy] for x, y in ring]]
    w, s, e, n = item["bbox"]
    item["bbox"] = [w + dx, s + dy, e + dx, n + dy]


def _add_synthetic(
    lab: Lab,
    name: str,
    count: int,
    seed: int = 0,
    stand_ins: bool = False,
    **options: Any,
) -> None:
    folder = lab.dataset(name)
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write_collection(make_collection(name, count))
    items = synthetic_items(name, count, seed, **options)
    folder.write_items(items)
    if stand_ins:
        _store_stand_ins(folder.path, items)


def _store_stand_ins(folder: Path, items: list[dict[str, Any]]) -> None:
    """A small object in the lab's store for every asset the items reference (the bytes are
    not what their checksums say: for tests that follow links, never for ones that verify)."""
    for item in items:
        for asset in item.get("assets", {}).values():
            path = (folder / asset["href"]).resolve()
            if "objects" in path.parts and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"synthetic stand-in for " + item["id"].encode())


def stub_items(n: int, **props: Any) -> list[dict[str, Any]]:
    """``n`` minimal items ``i000``, ``i001``… with ``props``."""
    return [stacgen.item(f"i{k:03d}", **props) for k in range(n)]


def write_stub(
    lab: Lab, name: str, items: list[dict[str, Any]], version: str = "1.0.0", **extra: Any
) -> None:
    """Write (or rewrite) dataset ``name``: a minimal collection at ``version`` plus ``extra``
    fields, and ``items``: how the pull-request tests make each change."""
    folder = lab.dataset(name)
    folder.write_collection({**stacgen.collection(name), "version": version, **extra})
    folder.write_items(items)


def _add_stub(lab: Lab, name: str, count: int, **props: Any) -> None:
    write_stub(lab, name, stub_items(count, **props))


def _add_model(lab: Lab, part: Model) -> None:
    source = lab.dataset(part.dataset)
    first = next(source.iter_items())
    folder = lab.model(part.name)
    folder.path.mkdir(parents=True, exist_ok=True)
    collection = make_collection(part.name, 1)
    collection["title"] = "A chip classifier"
    derived = {"rel": "derived_from", "href": f"../../datasets/{part.dataset}/collection.json"}
    collection["links"] = [*collection.get("links", []), derived]
    folder.write_collection(collection)
    item = make_item(0, part.name)
    item["properties"].update(
        {
            "mlm:name": "resnet-chips",
            "mlm:architecture": "ResNet-18",
            "mlm:tasks": ["classification"],
            "mlm:framework": "pytorch",
        }
    )
    item["links"].append(dict(derived))
    weights = dict(next(iter(first["assets"].values())))
    weights["href"] = _rebase(weights["href"], source.path, folder.path)
    item["assets"] = {"weights": weights}
    folder.write_items([item])
    if part.card is not None:
        folder.write_card(Card(**part.card))


def _rebase(href: str, old: Path, new: Path) -> str:
    """A relative href from ``old`` made relative to ``new`` (absolute ones kept)."""
    if "://" in href or href.startswith("/"):
        return href
    return Path(os.path.relpath((old / href).resolve(), new.resolve())).as_posix()


# -- lab settings, git, copies --------------------------------------------------------------


def set_store(lab: Lab, **settings: str) -> Lab:
    """The lab with more ``[store]`` settings in eotdl.toml (``endpoint_url``, ``public_url``)."""
    config = lab.root / "eotdl.toml"
    text = config.read_text()
    for key in settings:
        assert re.search(rf"(?m)^{key}\s*=", text) is None, f"{key} is set already"
    lines = "".join(f'{k} = "{v}"\n' for k, v in settings.items())
    config.write_text(re.sub(r"(?m)^\[store\]\n", "[store]\n" + lines, text, count=1))
    return Lab(lab.root)


def build_stac_tree(lab: Lab, parquet: bool = True) -> Path:
    """The STAC tree (and ``items.parquet``) in the lab's site folder."""
    write_stac_tree(lab, lab.site_dir, parquet=parquet)
    return lab.site_dir


def copy_lab(template: Lab, target: Path) -> Lab:
    """A private copy of a lab (its store, site and git history included)."""
    shutil.copytree(template.root, target, symlinks=True)
    return Lab(target)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def git_init(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Ada Lovelace")
    git(repo, "config", "user.email", "ada@example.org")


def commit(lab: Lab, message: str, author: str | None = None) -> str:
    """Commit everything; the new commit's hash."""
    git(lab.root, "add", "-A")
    args = ["commit", "-q", "-m", message]
    if author:
        args += ["--author", author]
    git(lab.root, *args)
    return git(lab.root, "rev-parse", "HEAD").strip()


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Lab]:
    """``shared_lab(contents, **settings)``: :func:`make_lab` once per session for each
    distinct call. The lab is shared, so read-only: :func:`copy_lab` makes a private copy."""
    made: dict[str, Lab] = {}

    def get(contents: Iterable[Dataset | Model] = (), **settings: Any) -> Lab:
        contents = list(contents)
        key = repr((contents, sorted(settings.items())))
        if key not in made:
            made[key] = make_lab(tmp_path_factory.mktemp("lab"), contents, **settings)
        return made[key]

    return get


@pytest.fixture(scope="session")
def chips(shared_lab: Callable[..., Lab]) -> Lab:
    """A read-only lab with ``chips`` (12 chips, 3 classes, stratified) and its STAC tree."""
    return shared_lab([Dataset("chips", "classification_folders")], build=True)


@pytest.fixture
def chips_copy(chips: Lab, tmp_path: Path) -> Lab:
    """A private copy of the chips lab that a test may damage."""
    return copy_lab(chips, tmp_path / "lab")
