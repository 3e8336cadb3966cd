"""eotdl: the Earth Observation Training Data Lab.

A lab is a git repository of STAC metadata plus an object store for the bytes. This package
creates, imports, checks, versions, publishes, downloads and trains on such labs. The names
here are the Python side of the commands of the same purpose::

    import eotdl

    lab = eotdl.init_lab("my-lab")                  # eotdl init (or eotdl.Lab.locate("my-lab"))
    eotdl.ingest(lab, "classification-folders", "EuroSAT/2750", "eurosat",
                 {"datetime": "2017-06-01"}, split="stratified")   # eotdl ingest KIND SOURCE
    assert eotdl.validate_target("my-lab").ok       # eotdl validate
    eotdl.run_qa(lab, "eurosat")                    # eotdl qa NAME
    eotdl.build_site(lab)                           # eotdl build
    eotdl.publish_site(lab, "s3://bucket/site")     # eotdl publish
    eotdl.get("eurosat", "data", lab="https://example.org/lab")   # eotdl get
    page = eotdl.search_lab("https://example.org/lab", filter="class = 'River'")  # eotdl search
    server = eotdl.stac_api_server("my-lab/_site")  # eotdl serve: server.serve_forever()
    loader = eotdl.open_dataset("eurosat", lab="my-lab").to_torch("train")
    item = eotdl.train("eurosat", task="classification", model="small-cnn", lab="my-lab")

Each package has its own public names (:mod:`eotdl.catalog`, :mod:`eotdl.storage`,
:mod:`eotdl.builders`, :mod:`eotdl.qa`, :mod:`eotdl.site`, :mod:`eotdl.read`,
:mod:`eotdl.api`, :mod:`eotdl.ml`, :mod:`eotdl.train`); :mod:`eotdl.testing` holds the
builders' contract test for third-party builders. ``EotdlError`` is the base of every error
eotdl raises for a user's mistake or an unreachable resource (``InputError`` for bad input).

Everything is imported on first use: ``import eotdl`` imports no numpy, pyarrow, rasterio or
pystac.
"""

from __future__ import annotations

import os as _os
import sys as _sys

from eotdl.exports import lazy_exports

# Arrow's memory from jemalloc, not its default mimalloc, unless the user chose: set before
# pyarrow starts (its C++ default pool is fixed then). Measured here: mimalloc's first
# allocations cost tens of milliseconds each (a row group of 1,024 items written in 0.23 s,
# against 0.02 s on jemalloc and 0.01 s on the C library's malloc): a fifth of a one-item
# rebuild at 1M items; a server's memory stays flat on jemalloc (eotdl.api.index).
if "pyarrow" not in _sys.modules and _sys.platform != "win32":
    _os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (12 ms) at start-up
if TYPE_CHECKING:
    from eotdl import train
    from eotdl.api.server import stac_api_server
    from eotdl.api.site_search import search_lab
    from eotdl.builders.ingestion import ingest, rebuild
    from eotdl.catalog.lab import Lab, init_lab
    from eotdl.catalog.validate import validate_target
    from eotdl.errors import EotdlError, InputError
    from eotdl.ml.dataset import open_dataset
    from eotdl.qa.run import run_qa
    from eotdl.read.download import get
    from eotdl.site.build import build_site
    from eotdl.site.publish import publish_site

__version__: str  # set on first use by __getattr__ below

__all__ = [
    "EotdlError",
    "InputError",
    "Lab",
    "__version__",
    "build_site",
    "get",
    "ingest",
    "init_lab",
    "open_dataset",
    "publish_site",
    "rebuild",
    "run_qa",
    "search_lab",
    "stac_api_server",
    "train",
    "validate_target",
]

_HOMES = {
    "EotdlError": "eotdl.errors",
    "InputError": "eotdl.errors",
    "Lab": "eotdl.catalog.lab",
    "init_lab": "eotdl.catalog.lab",
    "validate_target": "eotdl.catalog.validate",
    "ingest": "eotdl.builders.ingestion",
    "rebuild": "eotdl.builders.ingestion",
    "run_qa": "eotdl.qa.run",
    "build_site": "eotdl.site.build",
    "publish_site": "eotdl.site.publish",
    "get": "eotdl.read.download",
    "search_lab": "eotdl.api.site_search",
    "stac_api_server": "eotdl.api.server",
    "open_dataset": "eotdl.ml.dataset",
}

_lazy_getattr, __dir__ = lazy_exports(__name__, _HOMES)


def __getattr__(name: str) -> object:
    """The public names, made on first use: ``import eotdl`` stays light (importlib.metadata
    alone costs 40 ms). ``eotdl.train`` is the package :mod:`eotdl.train`, callable as its
    :func:`~eotdl.train.train`, so it is the same object however it was reached."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("eotdl")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            found = "0.0.0"
        globals()["__version__"] = found
        return found
    if name == "train":
        import eotdl.train

        return eotdl.train
    return _lazy_getattr(name)
