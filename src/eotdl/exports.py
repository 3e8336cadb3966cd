"""A package's public names, imported on first use.

Each package's ``__init__`` lists what users are meant to call in ``__all__`` and where each
name lives; :func:`lazy_exports` gives it the module ``__getattr__`` (PEP 562) and ``__dir__``
that import the home module only when the name is first used, so ``import eotdl`` and
``import eotdl.<package>`` import no numpy, pyarrow, rasterio or pystac.
"""

from __future__ import annotations

import importlib
import sys
import types

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in ``homes``.

    ``homes`` maps a public name to ``"module"`` (the same name there) or ``"module:attr"``.
    A name, once imported, is kept in the package's namespace, so it is looked up once.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attr = home.partition(":")
        value = getattr(importlib.import_module(module_name), attr or name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return public_dir(sys.modules[package], homes)

    return __getattr__, __dir__


def public_dir(module: types.ModuleType, extra: Iterable[str] = ()) -> list[str]:
    """What ``dir(package)`` lists: its ``__all__``, its dunder names and the subpackages and
    modules of it already imported, not the helpers its ``__init__`` happens to bind."""
    names = {*getattr(module, "__all__", ()), *extra}
    for name, value in vars(module).items():
        if name.startswith("__") or (
            isinstance(value, types.ModuleType) and value.__name__ == f"{module.__name__}.{name}"
        ):
            names.add(name)
    return sorted(names)
