"""A lab on disk: ``eotdl.toml``, ``datasets/<name>/``, ``models/<name>/``.

:class:`Lab` finds and reads a lab; :func:`init_lab` writes a new one. A fresh lab needs no
configuration: the object store is a folder inside the lab and the site goes to ``_site/``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.install import default_install_line
from eotdl.errors import InputError, LabError

CONFIG_NAME = "eotdl.toml"
#: The environment variable naming the lab (or, for readers, a site) when ``--lab`` is not given.
LAB_ENV = "EOTDL_LAB"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
DEFAULT_STORE = "store"
DEFAULT_SITE = "_site"


@dataclass
class StoreConfig:
    """Where the bytes live: a folder (relative to the lab or ``file://``) or ``s3://``."""

    url: str = DEFAULT_STORE
    endpoint_url: str = ""
    region: str = ""
    profile: str = ""
    public_url: str = ""


@dataclass
class LabConfig:
    """The settings in ``eotdl.toml``."""

    title: str = "An eotdl lab"
    base_url: str = ""
    store: StoreConfig = field(default_factory=StoreConfig)
    site_output: str = DEFAULT_SITE
    #: The line that installs eotdl, shown on the site and run by the lab's workflows.
    site_install: str = ""

    def to_toml(self) -> dict[str, Any]:
        store = {k: v for k, v in vars(self.store).items() if v or k == "url"}
        return {
            "lab": {"title": self.title, "base_url": self.base_url},
            "store": store,
            "site": {
                "output": self.site_output,
                **({"install": self.site_install} if self.site_install else {}),
            },
        }

    @classmethod
    def from_toml(cls, data: dict[str, Any], source: str) -> LabConfig:
        lab = _table(data, "lab", source)
        store = _table(data, "store", source)
        site = _table(data, "site", source)
        known_store = set(vars(StoreConfig()))
        unknown = set(store) - known_store
        if unknown:
            raise LabError(
                f"{source}: unknown [store] setting(s): {', '.join(sorted(unknown))}",
                hint=f"known settings: {', '.join(sorted(known_store))}",
            )
        return cls(
            title=str(lab.get("title", cls.title)),
            base_url=str(lab.get("base_url", "")),
            store=StoreConfig(**{k: str(v) for k, v in store.items()}),
            site_output=str(site.get("output", DEFAULT_SITE)),
            site_install=str(site.get("install", "")),
        )


def _table(data: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise LabError(f"{source}: [{name}] must be a table")
    return value


def check_name(name: str, what: str = "dataset") -> str:
    """Return ``name`` if it is a valid dataset or model name, else raise InputError.

    Besides the character set, a name must make a valid git tag (``NAME@VERSION``, see
    ``git check-ref-format``), so that ``publish --tag`` can always tag its versions.
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError(
            f"{what} name {name!r} is not allowed",
            hint="use lower-case letters, digits, '.', '_' and '-', starting with a letter"
            " or digit (at most 100 characters)",
        )
    problem = ref_name_problem(name)
    if problem:
        raise InputError(
            f"{what} name {name!r} is not allowed: {problem}, so git could not tag its versions",
            hint="use lower-case letters, digits and single '.', '_' or '-' between them",
        )
    return name


def ref_name_problem(component: str) -> str:
    """Why ``component`` cannot be one part of a git ref name ('' when it can).

    The rules of ``git check-ref-format`` for one slash-separated component.
    """
    if not component:
        return "it is empty"
    if component.startswith("."):
        return "it starts with '.'"
    if component.endswith("."):
        return "it ends with '.'"
    if component.endswith(".lock"):
        return "it ends with '.lock'"
    if ".." in component:
        return "it holds '..'"
    if "@{" in component or component == "@":
        return "it holds '@{'" if "@{" in component else "it is '@'"
    bad = [c for c in component if ord(c) < 32 or ord(c) == 127 or c in " ~^:?*[\\/"]
    if bad:
        return f"it holds {bad[0]!r}"
    return ""


#: What a pull request may touch, relative to the lab root (see :func:`lab_path_role`).
PROTECTED = (CONFIG_NAME, ".gitignore", ".github/")
DATASET_FILES = ("README.md", "collection.json", "items.ndjson", "recipe.yaml", "yanked.yaml")
MODEL_FILES = (*DATASET_FILES, "job.json")
#: Files a card may show, in its folder or up to two subfolders below it.
CARD_FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf")
LAB_FILES = ("README.md", "datasets/.gitkeep", "models/.gitkeep")


def lab_path_role(relative: str) -> str:
    """What a path of the lab (relative to its root, '/'-separated) is in the lab layout.

    ``content``: a dataset or model file (README.md, collection.json, items.ndjson,
    recipe.yaml, yanked.yaml, a model's job.json, a card's images); ``lab``: the lab's own
    README and placeholders;
    ``maintainer``: settings and CI (``eotdl.toml``, ``.gitignore``, ``.github/``), which only
    a maintainer may change; ``unknown``: anything else.
    """
    if relative in LAB_FILES:
        return "lab"
    if relative in PROTECTED or any(relative.startswith(p) for p in PROTECTED if p[-1] == "/"):
        return "maintainer"
    parts = relative.split("/")
    if len(parts) < 3 or parts[0] not in ("datasets", "models"):
        return "unknown"
    try:
        check_name(parts[1])
    except InputError:
        return "unknown"
    rest = parts[2:]
    files = DATASET_FILES if parts[0] == "datasets" else MODEL_FILES
    if len(rest) == 1 and rest[0] in files:
        return "content"
    if (
        len(rest) <= 3
        and rest[-1].lower().endswith(CARD_FILE_SUFFIXES)
        and not any(p.startswith(".") or not p for p in rest)
    ):
        return "content"
    return "unknown"


class Lab:
    """A lab folder: its configuration, datasets and models."""

    def __init__(self, root: str | os.PathLike[str], config: LabConfig | None = None) -> None:
        self.root = Path(root).resolve()
        self.config = config if config is not None else self._read_config()

    def _read_config(self) -> LabConfig:
        path = self.root / CONFIG_NAME
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LabError(
                f"{self.root} is not a lab (no {CONFIG_NAME})",
                hint="run `eotdl init DIR` to make one, or run from inside a lab",
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise LabError(f"{path}: not valid TOML: {exc}") from None
        return LabConfig.from_toml(data, str(path))

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Lab:
        """The lab containing ``start`` (default: the current folder), searching upwards."""
        here = Path(start or os.getcwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls(folder)
        raise LabError(
            f"no lab here: no {CONFIG_NAME} in {here} or any folder above it",
            hint="run `eotdl init DIR` to make a lab, or pass --lab DIR",
        )

    @classmethod
    def locate(cls, where: Lab | str | os.PathLike[str] | None = None) -> Lab:
        """The lab, by the one policy every command follows.

        ``where`` (``--lab``) if given, else ``$EOTDL_LAB``, else the current folder; from
        there the lab is searched upwards, so ``--lab lab/datasets`` finds ``lab/``. A
        :class:`Lab` is returned as it is.
        """
        if isinstance(where, Lab):
            return where
        given = _given(where)
        if given is not None and _is_url(given):
            raise LabError(
                f"{given} is not a lab folder",
                hint="this command needs a lab folder: pass --lab DIR"
                + (f" or unset {LAB_ENV}" if where is None else ""),
            )
        return cls.find(_local(given) if given is not None else None)

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def site_dir(self) -> Path:
        return (self.root / self.config.site_output).resolve()

    @property
    def store_url(self) -> str:
        """The object store URL, with a relative folder resolved against the lab root."""
        url = self.config.store.url or DEFAULT_STORE
        if "://" in url:
            return url
        return (self.root / url).resolve().as_uri()

    def dataset_names(self) -> list[str]:
        return _folder_names(self.datasets_dir)

    def model_names(self) -> list[str]:
        return _folder_names(self.models_dir)

    def dataset(self, name: str) -> DatasetFolder:
        return DatasetFolder(self.datasets_dir / check_name(name), name)

    def model(self, name: str) -> DatasetFolder:
        return DatasetFolder(self.models_dir / check_name(name, "model"), name)

    def datasets(self) -> Iterator[DatasetFolder]:
        for name in self.dataset_names():
            yield self.dataset(name)

    def models(self) -> Iterator[DatasetFolder]:
        for name in self.model_names():
            yield self.model(name)


def locate_lab_or_site(
    where: Lab | str | os.PathLike[str] | None = None, *, prefer_site: bool = False
) -> Lab | str:
    """What a reader reads: a :class:`Lab`, or the location of a built site (a folder, an
    ``http(s)://`` URL or an ``s3://`` prefix holding ``catalog.json``).

    ``where`` (``--lab``) if given, else ``$EOTDL_LAB``: a URL is a site; a folder holding
    ``eotdl.toml`` or ``catalog.json`` is that lab or site; any other folder is the lab above
    it if there is one (else it is taken for a site, whose reader says what is missing).
    With neither, the lab around the current folder, or its built site with ``prefer_site``
    when that site has been built.
    """
    if isinstance(where, Lab):
        return where
    given = _given(where)
    if given is not None:
        if _is_url(given) or given.endswith(".json"):
            return given
        folder = Path(_local(given))
        if (folder / CONFIG_NAME).is_file():
            return Lab(folder)
        if (folder / "catalog.json").is_file():
            return given
        try:
            return Lab.find(folder)
        except LabError:
            return given
    try:
        lab = Lab.find()
    except LabError:
        raise InputError(
            "no lab given and none here",
            hint="pass --lab (a site folder or URL, s3://bucket/prefix, or a lab folder),"
            f" set {LAB_ENV}, or run inside a lab",
        ) from None
    if prefer_site and (lab.site_dir / "catalog.json").is_file():
        return str(lab.site_dir)
    return lab


def _given(where: str | os.PathLike[str] | None) -> str | None:
    """``where`` as a string, else ``$EOTDL_LAB`` (None when neither is set)."""
    if where is not None and os.fspath(where) != "":
        return os.fspath(where)
    return os.environ.get(LAB_ENV) or None


def _is_url(location: str) -> bool:
    """Whether ``location`` is remote (``http(s)://`` or ``s3://``), not a local path."""
    return location.partition("://")[0].lower() in ("http", "https", "s3") and "://" in location


def _local(location: str) -> str:
    """A local path for a path or ``file://`` URL."""
    if location.startswith("file://"):
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        return url2pathname(urlsplit(location).path)
    return os.path.expanduser(location)


def _folder_names(path: Path) -> list[str]:
    if not path.is_dir():
        return []
    return sorted(
        p.name for p in path.iterdir() if p.is_dir() and (p / "collection.json").is_file()
    )


def init_lab(
    root: str | os.PathLike[str],
    *,
    title: str = "An eotdl lab",
    base_url: str = "",
    store_url: str = DEFAULT_STORE,
    install: str = "",
) -> Lab:
    """Write a new lab into ``root`` (created if missing; refused if it already is a lab)."""
    target = Path(root)
    if (target / CONFIG_NAME).exists():
        raise LabError(f"{target} is already a lab ({CONFIG_NAME} exists)")
    if target.exists() and not target.is_dir():
        raise LabError(f"{target} exists and is not a folder")
    config = LabConfig(title=title, base_url=base_url, store=StoreConfig(url=store_url))
    config.site_install = install or default_install_line()
    files = {
        CONFIG_NAME: _config_text(config),
        "README.md": _template("README.md").replace("{{title}}", title),
        ".gitignore": _template("gitignore"),
        "datasets/.gitkeep": "",
        "models/.gitkeep": "",
        ".github/workflows/check.yml": _template("workflows/check.yml"),
        ".github/workflows/publish.yml": _template("workflows/publish.yml"),
    }
    for relative, text in files.items():
        write_bytes_atomic(target / relative, text.encode("utf-8"))
    return Lab(target, config)


def _config_text(config: LabConfig) -> str:
    header = (
        "# eotdl lab settings. See `eotdl --help` and the eotdl README.\n"
        "# [store] url: a folder inside the lab (default), file:///abs/path, or s3://bucket/prefix\n"
        "#   (for S3 also endpoint_url, region, profile; credentials come from the usual AWS\n"
        "#   variables or profiles, never from this file).\n"
        "# [lab] base_url: the public URL the site is served from (used for absolute links).\n"
        "# [site] install: the line that installs eotdl (the index's `eotdl` is another\n"
        "#   project): the site shows it and the workflows in .github/workflows run it.\n\n"
    )
    return header + tomli_w.dumps(config.to_toml())


def _template(name: str) -> str:
    return resources.files("eotdl.catalog").joinpath("templates", "lab", name).read_text("utf-8")
