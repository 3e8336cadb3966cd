"""eotdl: the Earth Observation Training Data Lab.

A lab is a git repository of STAC metadata plus an object store for the bytes. This package
creates, imports, checks, versions, publishes, downloads and trains on such labs.
"""

from __future__ import annotations

__version__: str  # set on first use by __getattr__ below

__all__ = ["__version__", "open_dataset", "train"]


def __getattr__(name: str) -> object:
    """``eotdl.open_dataset``, ``eotdl.train`` and ``eotdl.__version__``, made on first use:
    ``import eotdl`` stays light (importlib.metadata alone costs 40 ms)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("eotdl")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            found = "0.0.0"
        globals()["__version__"] = found
        return found
    if name == "open_dataset":
        from eotdl.ml.dataset import open_dataset

        return open_dataset
    if name == "train":
        import eotdl.train

        return eotdl.train
    raise AttributeError(f"module 'eotdl' has no attribute {name!r}")
