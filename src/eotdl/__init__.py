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

__all__ = ["__version__"]
