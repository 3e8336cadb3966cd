"""BigEarthNet v2.0 (reBEN): multi-label scene classification of Sentinel-2 (and -1) patches.

Facts and where they come from:

- Distribution: Zenodo record 10891137 (https://zenodo.org/records/10891137):
  ``BigEarthNet-S2.tar.zst``, ``BigEarthNet-S1.tar.zst``, ``Reference_Maps.tar.zst`` and
  ``metadata.parquet`` (the record and torchgeo's ``bigearthnetv2.py`` ``metadata_locs``).
  Zenodo lists MD5s for these files, but we found none quoted in a source we could read, so
  this recipe does not download (torchgeo leaves them blank too).
- Layout (torchgeo ``bigearthnetv2.py``, ``_load_folders``): a patch's bands are
  ``BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_<band>.tif`` where ``<tile>`` is the
  patch id without its last two ``_`` parts; its Sentinel-1 patch is
  ``BigEarthNet-S1/<tile1>/<s1_name>/<s1_name>_<VV|VH>.tif`` (``<tile1>``: the S1 name
  without its last three parts); its reference map is
  ``Reference_Maps/<tile>/<patch_id>/<patch_id>_reference_map.tif``.
- ``metadata.parquet`` columns ``patch_id``, ``labels`` (list of class names), ``split``
  (train, validation, test: the official split), ``country``, ``s1_name``,
  ``contains_seasonal_snow``, ``contains_cloud_or_shadow`` (reBEN paper, section 3; torchgeo).
- Sentinel-2 bands: 12 L2A bands B01–B12 with B8A and without B10, at their native 10, 20
  and 60 m (120, 60 and 20 px); Sentinel-1: VV, VH (torchgeo ``bigearthnetv2.py`` docstring).
- Classes: the 19-class nomenclature of Sumbul et al. 2021 (torchgeo ``class_sets[19]``);
  reference maps hold CORINE Land Cover 2018 level-3 codes (reBEN paper).
- Licence CDLA-Permissive-1.0: https://bigearth.net and the Zenodo record.
- Citation: Clasen et al., "reBEN: Refined BigEarthNet Dataset for Remote Sensing Image
  Analysis", arXiv:2407.03653 (doi:10.48550/arXiv.2407.03653).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from eotdl.builders.base import Labels
from eotdl.builders.item_ids import safe_id
from eotdl.builders.label_items import add_labels
from eotdl.builders.parallel import ordered_map
from eotdl.builders.rasterinfo import raster_item
from eotdl.builders.recipes import bands
from eotdl.builders.recipes.bands import GEOTIFF
from eotdl.builders.recipes.clc import CLC_LEVEL3
from eotdl.builders.recipes.facts import Band, ClassInfo, Facts
from eotdl.builders.recipes.recipe import RecipeBuilder, split_name
from eotdl.builders.splits import SplitRecord
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError

S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
S1_BANDS = ("VV", "VH")
COLUMNS = ("patch_id", "labels", "split", "country", "s1_name")

FACTS = Facts(
    name="bigearthnet-v2",
    title="BigEarthNet v2.0 (reBEN)",
    task="classification",
    sensor="Sentinel-2 MSI L2A (12 bands) + Sentinel-1 GRD (VV, VH)",
    size="549,488 patch pairs of 1.2×1.2 km (120×120 px at 10 m)",
    license="CDLA-Permissive-1.0",
    doi="10.48550/arXiv.2407.03653",
    bibtex="""@article{clasen2024reben,
  author = {Clasen, Kai Norman and Hackel, Leonard and Burgert, Tom and Sumbul, Gencer and Demir, Beg{\\"u}m and Markl, Volker},
  title = {reBEN: Refined BigEarthNet Dataset for Remote Sensing Image Analysis},
  journal = {arXiv preprint arXiv:2407.03653},
  year = {2024},
  doi = {10.48550/arXiv.2407.03653}
}""",  # noqa: E501
    description=(
        "BigEarthNet v2.0 (reBEN): Sentinel-2 L2A patches of 1.2×1.2 km over ten European"
        " countries, each paired with a Sentinel-1 patch, labelled with the 19-class"
        " nomenclature (multi-label) and with a pixel-level CORINE Land Cover 2018"
        " reference map."
    ),
    homepage="https://bigearth.net",
    providers=(
        {
            "name": "Remote Sensing Image Analysis group, TU Berlin",
            "roles": ["producer", "licensor"],
            "url": "https://bigearth.net",
        },
        {"name": "Zenodo", "roles": ["host"], "url": "https://zenodo.org/records/10891137"},
        {
            "name": "Copernicus Sentinel-1 and Sentinel-2 (ESA), CLC 2018 (EEA)",
            "roles": ["producer"],
            "url": "https://land.copernicus.eu/en/products/corine-land-cover",
        },
    ),
    splits="train/validate/test from the `split` column of `metadata.parquet` (the official"
    " reBEN split: train, validation, test).",
    classes=tuple(
        ClassInfo(name)
        for name in (
            "Urban fabric",
            "Industrial or commercial units",
            "Arable land",
            "Permanent crops",
            "Pastures",
            "Complex cultivation patterns",
            "Land principally occupied by agriculture, with significant areas of natural"
            " vegetation",
            "Agro-forestry areas",
            "Broad-leaved forest",
            "Coniferous forest",
            "Mixed forest",
            "Natural grassland and sparsely vegetated areas",
            "Moors, heathland and sclerophyllous vegetation",
            "Transitional woodland, shrub",
            "Beaches, dunes, sands",
            "Inland wetlands",
            "Coastal wetlands",
            "Inland waters",
            "Marine waters",
        )
    ),
    bands=bands.s2(*S2_BANDS) + tuple(bands.S1.values()),
    keywords=("land cover", "multi-label", "Sentinel-2", "Sentinel-1", "CORINE", "Europe"),
    notes=(
        "Each item's `bigearthnet:labels` holds its multi-label classes (19-class"
        " nomenclature); its `reference_map` asset holds CORINE Land Cover 2018 level-3"
        " codes, declared in `label:classes`.",
        "Sentinel-1 assets (VV, VH) are present where the metadata names an S1 patch found"
        " in the copy.",
    ),
)


class BigEarthNetV2Builder(RecipeBuilder):
    """One Item per Sentinel-2 patch: its bands, its S1 pair, its reference map, its labels."""

    name = "bigearthnet-v2"
    summary = (
        "BigEarthNet v2.0 from BigEarthNet-S2/, BigEarthNet-S1/, Reference_Maps/"
        " and metadata.parquet"
    )
    facts: ClassVar[Facts] = FACTS

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.labels = Labels.classes_in_pixels(
            ["classification", "segmentation"],
            "CORINE Land Cover 2018 level-3 reference map of the patch",
            (c.value for c in CLC_LEVEL3),
        )

    @cached_property
    def _rows(self) -> list[dict[str, Any]]:
        """metadata.parquet, sorted by patch id."""
        import pyarrow.parquet as pq

        path = Path(self.source) / "metadata.parquet"
        if not path.exists():
            raise InputError(
                f"{path}: missing",
                hint="SOURCE is the folder holding metadata.parquet, BigEarthNet-S2/ and"
                " Reference_Maps/ as unpacked from Zenodo record 10891137",
            )
        table = pq.read_table(path)
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise InputError(f"{path}: no column(s) {', '.join(missing)}")
        rows = sorted(table.select(list(COLUMNS)).to_pylist(), key=lambda r: r["patch_id"])
        return rows

    def split_records(self) -> Iterator[SplitRecord]:
        return (SplitRecord(r["patch_id"], None, 0.0, 0.0) for r in self._rows)

    def official_splits(self) -> dict[str, str]:
        where = str(Path(self.source) / "metadata.parquet")
        return {r["patch_id"]: split_name(r["split"], where) for r in self._rows}

    def _folder(self, kind: str, name: str, drop: int) -> Path:
        tile = "_".join(name.split("_")[:-drop])
        return Path(self.source) / kind / tile / name

    def _item(self, row: dict[str, Any]) -> dict[str, Any]:
        patch = str(row["patch_id"])
        s2 = self._folder("BigEarthNet-S2", patch, 2)
        first = s2 / f"{patch}_B02.tif"
        if not first.exists():
            raise InputError(f"{first}: missing (patch {patch} of metadata.parquet)")
        item = raster_item(first, safe_id(patch), asset_key="B02", datetime=_when(patch))
        item["assets"] = {}
        for name in S2_BANDS:
            item["assets"][name] = _band_asset(s2 / f"{patch}_{name}.tif", bands.S2[name])
        s1_name = row.get("s1_name")
        if s1_name:
            s1 = self._folder("BigEarthNet-S1", str(s1_name), 3)
            if s1.is_dir():
                for name in S1_BANDS:
                    item["assets"][name] = _band_asset(s1 / f"{s1_name}_{name}.tif", bands.S1[name])
        ref = self._folder("Reference_Maps", patch, 2) / f"{patch}_reference_map.tif"
        if not ref.exists():
            raise InputError(f"{ref}: missing (reference map of patch {patch})")
        item["assets"]["reference_map"] = {
            "href": str(ref.resolve()),
            "type": GEOTIFF,
            "title": "CLC 2018 reference map",
            "roles": ["labels"],
            "ml-aoi:role": "label",
        }
        item["links"] = [{"rel": "source", "href": str(first.resolve()), "type": GEOTIFF}]
        bands.declare_eo(item)
        assert self.labels is not None
        props = {
            "bigearthnet:labels": list(row["labels"] or []),
            "bigearthnet:country": row["country"],
            "bigearthnet:s1_name": s1_name,
            SPLIT: self.splits[patch],
        }
        return add_labels(item, self.labels, properties=props)

    def items(self) -> Iterator[dict[str, Any]]:
        yield from ordered_map(self._item, self._rows)

    def collection(self) -> dict[str, Any]:
        assets: dict[str, Any] = {
            b.name: {"type": GEOTIFF, "roles": ["data"], "eo:bands": [b.eo()]}
            for b in self.facts.bands
        }
        assets["reference_map"] = {"type": GEOTIFF, "roles": ["labels"], "ml-aoi:role": "label"}
        return self.band_collection(
            assets, {"bigearthnet:labels": [c.name for c in self.facts.classes]}
        )


def _band_asset(path: Path, band: Band) -> dict[str, Any]:
    if not path.exists():
        raise InputError(f"{path}: missing band file")
    asset = bands.band_asset(path.resolve(), GEOTIFF, band.description, [band])
    return {**asset, "gsd": band.gsd}


def _when(patch: str) -> str:
    """The sensing time in a patch id (``S2A_MSIL2A_20170613T101031_…``)."""
    for part in patch.split("_"):
        try:
            return dt.datetime.strptime(part, "%Y%m%dT%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
    raise InputError(f"patch id {patch!r} holds no sensing time (YYYYMMDDTHHMMSS)")
