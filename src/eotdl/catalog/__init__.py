"""The lab model, on disk and in git: what every other part reads and writes through.

- :class:`Lab` a lab folder (``Lab.locate(where)``: ``--lab``, ``$EOTDL_LAB``, or the lab
  around the current folder), :func:`init_lab` a new one, :func:`locate_lab_or_site` what a
  reader reads (a lab or a built site); :class:`DatasetFolder` one dataset's files and its
  :class:`Card` (``README.md``).
- :func:`validate_target` offline STAC validation of a lab, folder, file or URL
  (:class:`Validator`, :class:`Report`); :func:`diff_dataset` what changed between versions.
- :func:`open_lab_store` the lab's object store; :class:`Reader` the one reader of locations
  (path, ``file://``, ``http(s)://``, ``s3://``).
- The STAC vocabulary: ``SPLIT`` (``"ml-aoi:split"``) and ``SPLITS``, :func:`item_split`,
  :func:`is_label_item`, :func:`asset_refs`.

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eotdl.exports import lazy_exports

if TYPE_CHECKING:
    from eotdl.catalog.card import Card
    from eotdl.catalog.dataset import DatasetFolder
    from eotdl.catalog.diff import DatasetDiff, diff_dataset
    from eotdl.catalog.lab import Lab, LabConfig, init_lab, locate_lab_or_site
    from eotdl.catalog.locations import Reader
    from eotdl.catalog.store import open_lab_store
    from eotdl.catalog.validate import Report, Validator, validate_target
    from eotdl.catalog.vocabulary import SPLIT, SPLITS, asset_refs, is_label_item, item_split

__all__ = [
    "SPLIT",
    "SPLITS",
    "Card",
    "DatasetDiff",
    "DatasetFolder",
    "Lab",
    "LabConfig",
    "Reader",
    "Report",
    "Validator",
    "asset_refs",
    "diff_dataset",
    "init_lab",
    "is_label_item",
    "item_split",
    "locate_lab_or_site",
    "open_lab_store",
    "validate_target",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Card": "eotdl.catalog.card",
        "DatasetFolder": "eotdl.catalog.dataset",
        "DatasetDiff": "eotdl.catalog.diff",
        "diff_dataset": "eotdl.catalog.diff",
        "Lab": "eotdl.catalog.lab",
        "LabConfig": "eotdl.catalog.lab",
        "init_lab": "eotdl.catalog.lab",
        "locate_lab_or_site": "eotdl.catalog.lab",
        "Reader": "eotdl.catalog.locations",
        "open_lab_store": "eotdl.catalog.store",
        "Report": "eotdl.catalog.validate",
        "Validator": "eotdl.catalog.validate",
        "validate_target": "eotdl.catalog.validate",
        "SPLIT": "eotdl.catalog.vocabulary",
        "SPLITS": "eotdl.catalog.vocabulary",
        "asset_refs": "eotdl.catalog.vocabulary",
        "is_label_item": "eotdl.catalog.vocabulary",
        "item_split": "eotdl.catalog.vocabulary",
    },
)
