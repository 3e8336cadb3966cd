"""The public API: what ``eotdl`` and each package export in ``__all__`` resolves, is
documented, is what type checkers see, and costs nothing until used (``import eotdl`` imports
no numpy, pyarrow, rasterio or pystac)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import eotdl

SRC = Path(__file__).resolve().parents[1] / "src" / "eotdl"
PACKAGES = [
    "eotdl",
    *(f"eotdl.{p}" for p in ("catalog", "storage", "builders", "qa", "site", "read", "api")),
    "eotdl.ml",
    "eotdl.train",
]
PUBLIC = [*PACKAGES, "eotdl.testing"]
#: What no ``import eotdl…`` of a package may pull in (they cost 0.1 to 2 s each).
HEAVY = (
    "numpy",
    "pyarrow",
    "rasterio",
    "pystac",
    "pystac_client",
    "shapely",
    "pyproj",
    "dask",
    "distributed",
    "torch",
    "tensorflow",
    "boto3",
    "botocore",
    "matplotlib",
    "jinja2",
    "stac_geoparquet",
)


def _own_doc(obj: Any) -> str:
    """The docstring ``obj`` itself has: not a base class's, nor a dataclass's made-up
    ``Name(fields)``."""
    if isinstance(obj, type):
        doc = vars(obj).get("__doc__") or ""
        return "" if doc.startswith(f"{obj.__name__}(") else doc.strip()
    return ((inspect.getdoc(obj) if callable(obj) else obj.__doc__) or "").strip()


def _is_data(obj: Any) -> bool:
    return not (callable(obj) or isinstance(obj, types.ModuleType))


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves_and_is_documented(name: str):
    module = importlib.import_module(name)
    assert _own_doc(module), f"{name} has no docstring"
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ names a name twice"
    undocumented = []
    for attr in exported:
        value = getattr(module, attr)  # AttributeError: a name that does not resolve
        if _is_data(value):  # a constant is documented where its package says what it is
            if attr not in (module.__doc__ or "") and attr != "__version__":
                undocumented.append(f"{attr} (not named in the {name} docstring)")
        elif not _own_doc(value):
            undocumented.append(attr)
    assert not undocumented, f"{name}: no docstring for {', '.join(undocumented)}"
    assert set(exported) <= set(dir(module)), f"dir({name}) misses some of __all__"


#: Public names that are their own submodule: ``eotdl.train``, the package, is callable.
MODULES = {"eotdl.train"}


def _clashes(name: str, exported: list[str]) -> list[str]:
    return [
        attr
        for attr in exported
        if f"{name}.{attr}" not in MODULES and importlib.util.find_spec(f"{name}.{attr}")
    ]


@pytest.mark.parametrize("name", PACKAGES)
def test_no_export_is_shadowed_by_a_submodule(name: str):
    """Importing a submodule ``eotdl.PACKAGE.NAME`` sets the package's ``NAME`` to that module,
    over a lazy function of that name: no public name may be a submodule's name."""
    clashes = _clashes(name, importlib.import_module(name).__all__)
    assert not clashes, f"{name}: public names that are also submodules: {clashes}"


def test_the_shadow_check_can_fail():
    assert _clashes("eotdl.builders", ["Builder", "ingestion", "registry"]) == [
        "ingestion",
        "registry",
    ]
    assert _clashes("eotdl", ["train", "ingest"]) == []


def _type_checking_imports(name: str) -> dict[str, str]:
    """``public name -> module`` of the ``if TYPE_CHECKING:`` imports of a package's __init__."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module, ast.unparse(stmt)
                for alias in stmt.names:
                    found[alias.asname or alias.name] = f"{stmt.module}:{alias.name}"
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_type_checkers_see_what_runs(name: str):
    """What mypy and editors read (the ``TYPE_CHECKING`` imports) is what ``__getattr__`` gives."""
    module = importlib.import_module(name)
    static = _type_checking_imports(name)
    for attr, home in static.items():
        module_name, _, value = home.partition(":")
        assert getattr(module, attr) is getattr(importlib.import_module(module_name), value), attr
    eager = {attr for attr in module.__all__ if attr in vars(module) and attr not in static}
    lazy = set(module.__all__) - eager - {"__version__"}
    assert lazy <= set(static), (
        f"{name}: lazy names with no TYPE_CHECKING import: {lazy - set(static)}"
    )


#: Imports the named packages in a fresh interpreter, then prints the heavy modules loaded.
PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    dir(module)
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
print("HEAVY=" + ",".join(heavy))
"""


def _heavy_after(*statements: str) -> list[str]:
    code = f"HEAVY = {HEAVY!r}\n" + "\n".join(statements) + PROBE
    done = subprocess.run(
        [sys.executable, "-c", code, *PACKAGES, "eotdl.exports"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = done.stdout.strip().splitlines()[-1].removeprefix("HEAVY=")
    return [name for name in found.split(",") if name]


def test_importing_eotdl_and_its_packages_imports_nothing_heavy():
    assert _heavy_after("import eotdl; eotdl.__version__") == []


def test_the_probe_sees_a_name_used():
    """The check can fail: using a name imports its home, and what that needs."""
    assert "pyarrow" in _heavy_after("import eotdl.read; eotdl.read.read_parquet")


def test_the_top_level_example_uses_public_names():
    """The usage shown in ``help(eotdl)`` names only what ``eotdl`` exports."""
    used = set(re.findall(r"\beotdl\.(\w+)", eotdl.__doc__ or ""))
    packages = {name.rpartition(".")[2] for name in PUBLIC}
    assert used - set(eotdl.__all__) - packages == set()
    assert {"ingest", "open_dataset", "train", "Lab"} <= used


def test_train_is_the_package_and_the_function():
    import eotdl.train.runner  # noqa: F401  (importing a submodule keeps eotdl.train the package)

    assert eotdl.train is sys.modules["eotdl.train"]
    assert callable(eotdl.train)
    assert eotdl.train.train.__doc__
