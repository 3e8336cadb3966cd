"""Builders: making and importing datasets.

A builder is a subclass of :class:`Builder` (its :class:`Option` table becomes the flags of
``eotdl ingest KIND``, :class:`Labels` describes its labels): a pure ``items()`` that yields
STAC Items whose assets are local files. :func:`ingest` (``eotdl ingest``, also
``eotdl.ingest``) runs one into a lab (split, upload, layout, ``recipe.yaml``) and returns an
:class:`IngestResult`; :func:`rebuild` re-runs a dataset's recipe. :func:`available` lists
every builder, built-in and third-party (the ``eotdl.builders`` entry-point group), and
:func:`load` gives the class of one.
:mod:`eotdl.testing` holds the contract test every builder passes.

Names are imported on first use, so listing builders imports no builder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.builders.base import Builder, Labels, Option
    from eotdl.builders.ingestion import IngestResult, ingest, rebuild
    from eotdl.builders.registry import available, load

__all__ = [
    "Builder",
    "IngestResult",
    "Labels",
    "Option",
    "available",
    "ingest",
    "load",
    "rebuild",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Builder": "eotdl.builders.base",
        "Labels": "eotdl.builders.base",
        "Option": "eotdl.builders.base",
        "IngestResult": "eotdl.builders.ingestion",
        "ingest": "eotdl.builders.ingestion",
        "rebuild": "eotdl.builders.ingestion",
        "available": "eotdl.builders.registry",
        "load": "eotdl.builders.registry",
    },
)
