"""SEN12MS: Sentinel-1, Sentinel-2 and MODIS land cover triplets, worldwide, four seasons.

Facts and where they come from:

- Layout (torchgeo ``torchgeo/datasets/sen12ms.py`` ``_load_raster``; the dataset's
  mediaTUM page https://mediatum.ub.tum.de/1474000): ``ROIs<n>_<season>_<s1|s2|lc>/``
  ``<s1|s2|lc>_<scene>/ROIs<n>_<season>_<s1|s2|lc>_<scene>_p<patch>.tif``, one archive per
  season and source: ``ROIs1158_spring``, ``ROIs1868_summer``, ``ROIs1970_fall``,
  ``ROIs2017_winter``.
- Bands (torchgeo docstring; Schmitt et al. 2019): S1 two bands VV, VH (sigma nought, dB);
  S2 13 bands B1–B12 with B8A after B8; LC four MODIS MCD12Q1 layers: IGBP, LCCS land
  cover, LCCS land use, LCCS surface hydrology. Patches are 256×256 px at 10 m, in UTM.
- Classes of the IGBP layer (band 1 of ``lc``), values 1–17: MODIS MCD12Q1 user guide,
  table 3 (https://lpdaac.usgs.gov/documents/101/MCD12_User_Guide_V6.pdf).
- Seasons (Schmitt et al. 2019, section 3): winter 2016-12-01/2017-02-28, spring
  2017-03-01/2017-05-30, summer 2017-06-01/2017-08-31, fall 2017-09-01/2017-11-30.
- Official splits: ``train_list.txt`` and ``test_list.txt`` of
  https://github.com/schmitt-muc/SEN12MS/tree/master/splits (torchgeo's note); no validation
  split is published. Without them the fallback split keeps each scene whole (its patches
  overlap).
- Licence CC-BY-4.0: the mediaTUM record. Citation: Schmitt, Hughes, Qiu, Zhu (2019), ISPRS
  Annals IV-2/W7 153–160, doi:10.5194/isprs-annals-IV-2-W7-153-2019 (schmitt-muc/SEN12MS
  README).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from eotdl.builders.base import Labels
from eotdl.builders.label_items import add_labels
from eotdl.builders.parallel import ordered_map
from eotdl.builders.rasterinfo import raster_item
from eotdl.builders.recipes import bands
from eotdl.builders.recipes.bands import GEOTIFF
from eotdl.builders.recipes.facts import Band, ClassInfo, Facts
from eotdl.builders.recipes.recipe import RecipeBuilder, read_split_lists
from eotdl.builders.splits import SplitRecord
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError

SEASONS = {
    "spring": ("2017-03-01T00:00:00Z", "2017-05-30T23:59:59Z"),
    "summer": ("2017-06-01T00:00:00Z", "2017-08-31T23:59:59Z"),
    "fall": ("2017-09-01T00:00:00Z", "2017-11-30T23:59:59Z"),
    "winter": ("2016-12-01T00:00:00Z", "2017-02-28T23:59:59Z"),
}
_NAME = re.compile(r"^(ROIs\d+)_(spring|summer|fall|winter)_s2_(\d+)_p(\d+)\.tif$")
S2_ORDER = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
LC_BANDS = (
    Band("IGBP", "MODIS MCD12Q1 IGBP land cover class", 500),
    Band("LCCS_LC", "MODIS MCD12Q1 LCCS land cover class", 500),
    Band("LCCS_LU", "MODIS MCD12Q1 LCCS land use class", 500),
    Band("LCCS_SH", "MODIS MCD12Q1 LCCS surface hydrology class", 500),
)
IGBP = tuple(
    ClassInfo(name, description, value)
    for value, (name, description) in enumerate(
        (
            ("Evergreen Needleleaf Forests", "evergreen conifer trees (>2 m), cover >60%"),
            ("Evergreen Broadleaf Forests", "evergreen broadleaf and palmate trees, cover >60%"),
            ("Deciduous Needleleaf Forests", "deciduous needleleaf (larch) trees, cover >60%"),
            ("Deciduous Broadleaf Forests", "deciduous broadleaf trees, cover >60%"),
            ("Mixed Forests", "no forest type exceeds 60% of tree cover"),
            ("Closed Shrublands", "dominated by woody perennials (1-2 m), cover >60%"),
            ("Open Shrublands", "dominated by woody perennials (1-2 m), cover 10-60%"),
            ("Woody Savannas", "tree cover 30-60% (canopy >2 m)"),
            ("Savannas", "tree cover 10-30% (canopy >2 m)"),
            ("Grasslands", "dominated by herbaceous annuals (<2 m)"),
            ("Permanent Wetlands", "permanently inundated lands with 30-60% water cover"),
            ("Croplands", "at least 60% of area is cultivated cropland"),
            ("Urban and Built-up Lands", "at least 30% impervious surface"),
            ("Cropland/Natural Vegetation Mosaics", "mosaics of small-scale cultivation 40-60%"),
            ("Permanent Snow and Ice", "at least 60% of area is snow and ice all year"),
            ("Barren", "at least 60% of area is non-vegetated barren land"),
            ("Water Bodies", "at least 60% of area is covered by permanent water bodies"),
        ),
        start=1,
    )
)  # fmt: skip

FACTS = Facts(
    name="sen12ms",
    title="SEN12MS",
    task="segmentation",
    sensor="Sentinel-1 GRD (VV, VH) + Sentinel-2 L1C (13 bands) + MODIS land cover",
    size="180,662 triplets of 256×256 px at 10 m",
    license="CC-BY-4.0",
    doi="10.5194/isprs-annals-IV-2-W7-153-2019",
    bibtex="""@inproceedings{schmitt2019sen12ms,
  author = {Schmitt, Michael and Hughes, Lloyd Haydn and Qiu, Chunping and Zhu, Xiao Xiang},
  title = {SEN12MS -- A Curated Dataset of Georeferenced Multi-Spectral Sentinel-1/2 Imagery for Deep Learning and Data Fusion},
  booktitle = {ISPRS Annals of the Photogrammetry, Remote Sensing and Spatial Information Sciences},
  volume = {IV-2/W7},
  pages = {153--160},
  year = {2019},
  doi = {10.5194/isprs-annals-IV-2-W7-153-2019}
}""",  # noqa: E501
    description=(
        "SEN12MS: 180,662 triplets of co-registered Sentinel-1 SAR, Sentinel-2 multispectral"
        " and MODIS-derived land cover patches (256×256 px at 10 m) over all inhabited"
        " continents and all four meteorological seasons of 2016-2017."
    ),
    homepage="https://mediatum.ub.tum.de/1474000",
    providers=(
        {
            "name": "Technical University of Munich (Signal Processing in Earth Observation)",
            "roles": ["producer", "licensor"],
            "url": "https://github.com/schmitt-muc/SEN12MS",
        },
        {"name": "mediaTUM", "roles": ["host"], "url": "https://mediatum.ub.tum.de/1474000"},
        {
            "name": "Copernicus Sentinel-1/2 (ESA), MODIS MCD12Q1 (NASA)",
            "roles": ["producer"],
            "url": "https://lpdaac.usgs.gov/products/mcd12q1v006/",
        },
    ),
    splits="train/test from `train_list.txt` and `test_list.txt` of"
    " https://github.com/schmitt-muc/SEN12MS/tree/master/splits (no validation split is"
    " published).",
    classes=IGBP,
    bands=tuple(bands.s2(*S2_ORDER)) + tuple(bands.S1.values()) + LC_BANDS,
    keywords=("land cover", "data fusion", "Sentinel-1", "Sentinel-2", "MODIS", "global"),
    notes=(
        "The `lc` asset's band 1 (IGBP) holds the classes declared in `label:classes`; bands"
        " 2-4 hold the LCCS layers.",
        "Items carry their season's date range (start_datetime/end_datetime).",
    ),
)


class SEN12MSBuilder(RecipeBuilder):
    """One Item per patch triplet: ``s1``, ``s2`` and ``lc`` (labels) assets."""

    name = "sen12ms"
    summary = "SEN12MS S1/S2/land cover triplets from ROIs<n>_<season>_<s1|s2|lc>/ folders"
    facts: ClassVar[Facts] = FACTS

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.labels = Labels.classes_in_pixels(
            ["segmentation"],
            "MODIS land cover; band 1 is the IGBP class",
            (c.value for c in IGBP),
        )

    @cached_property
    def _patches(self) -> list[tuple[str, Path]]:
        """(item id, S2 file) for every S2 patch, sorted."""
        root = Path(self.source)
        found = []
        for path in sorted(root.glob("ROIs*_*_s2/s2_*/*.tif")):
            match = _NAME.match(path.name)
            if match:
                roi, season, scene, patch = match.groups()
                found.append((f"{roi}_{season}_{scene}_p{patch}", path))
        if not found:
            raise InputError(
                f"{root}: no SEN12MS patches (ROIs<n>_<season>_s2/s2_<scene>/…_p<patch>.tif)",
                hint="SOURCE is the folder the ROIs*_s1/_s2/_lc archives were unpacked in",
            )
        return found

    def split_records(self) -> Iterator[SplitRecord]:
        return (SplitRecord(item_id, None, 0.0, 0.0) for item_id, _ in self._patches)

    def split_group(self, item_id: str) -> str:
        return item_id.rsplit("_p", 1)[0]

    def official_splits(self) -> dict[str, str] | None:
        files = {"train_list.txt": "train", "test_list.txt": "test"}
        lines = read_split_lists({Path(self.source) / name: s for name, s in files.items()})
        if lines is None:
            return None
        found = {}
        for line, split in lines:
            parts = line.removesuffix(".tif").split("_")
            if len(parts) == 5:
                roi, season, _, scene, patch = parts
                found[f"{roi}_{season}_{scene}_{patch}"] = split
        return found

    def _item(self, entry: tuple[str, Path]) -> dict[str, Any]:
        item_id, s2 = entry
        season = item_id.split("_")[1]
        start, end = SEASONS[season]
        item = raster_item(s2, item_id, asset_key="s2", datetime=start)
        item["properties"].update(datetime=None, start_datetime=start, end_datetime=end)
        item["properties"]["sen12ms:season"] = season
        files = {kind: _sibling(s2, kind) for kind in ("s1", "lc")}
        s2_asset = item["assets"]["s2"]
        s2_asset.update(title="Sentinel-2 L1C, 13 bands", **{"ml-aoi:role": "feature"})
        s2_asset["eo:bands"] = [bands.S2[n].eo() for n in S2_ORDER]
        item["assets"]["s1"] = bands.band_asset(
            files["s1"], GEOTIFF, "Sentinel-1 GRD, VV and VH (dB)", bands.S1.values()
        )
        bands.declare_eo(item)
        item["links"] = [{"rel": "source", "href": str(s2.resolve()), "type": GEOTIFF}]
        assert self.labels is not None
        return add_labels(
            item,
            self.labels,
            label_asset={
                "href": str(files["lc"]),
                "type": GEOTIFF,
                "title": "MODIS land cover: IGBP, LCCS LC, LCCS LU, LCCS SH",
            },
            properties={SPLIT: self.splits[item_id]},
        )

    def items(self) -> Iterator[dict[str, Any]]:
        yield from ordered_map(self._item, self._patches)

    def collection(self) -> dict[str, Any]:
        return self.band_collection(
            {
                "s2": {"type": GEOTIFF, "roles": ["data"], "ml-aoi:role": "feature"},
                "s1": {"type": GEOTIFF, "roles": ["data"], "ml-aoi:role": "feature"},
                "labels": {"type": GEOTIFF, "roles": ["labels"], "ml-aoi:role": "label"},
            }
        )


def _sibling(s2: Path, kind: str) -> Path:
    """The S1 or LC file of the same patch: ``…_s2/s2_<scene>/…_s2_…`` → ``kind``."""
    top = s2.parent.parent
    path = (
        top.with_name(top.name[: -len("s2")] + kind)
        / s2.parent.name.replace("s2_", f"{kind}_", 1)
        / s2.name.replace("_s2_", f"_{kind}_", 1)
    )
    if not path.exists():
        raise InputError(f"{path}: missing ({kind} of the triplet of {s2.name})")
    return path.resolve()
