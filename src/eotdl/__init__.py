"""eotdl: the Earth Observation Training Data Lab.

A lab is a git repository of STAC metadata plus an object store for the bytes. This package
creates, imports, checks, versions, publishes, downloads and trains on such labs.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("eotdl")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__", "open_dataset", "train"]


def __getattr__(name: str) -> object:
    """``eotdl.open_dataset`` and ``eotdl.train``, imported on first use: ``import eotdl``
    stays light."""
    if name == "open_dataset":
        from eotdl.access.dataset import open_dataset

        return open_dataset
    if name == "train":
        import eotdl.train

        return eotdl.train
    raise AttributeError(f"module 'eotdl' has no attribute {name!r}")
