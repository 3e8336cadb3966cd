"""EuroSAT (Sentinel-2 MS and RGB): land use and land cover chip classification.

Facts and where they come from:

- Layout: ``EuroSAT_MS/<Class>/<Class>_<n>.tif`` (13-band GeoTIFF chips, 64×64 px) and
  ``EuroSAT_RGB/<Class>/<Class>_<n>.jpg``, as unpacked from ``EuroSAT_MS.zip`` and
  ``EuroSAT_RGB.zip`` of Zenodo record 7711810 (https://zenodo.org/records/7711810; the
  layout is also described in allenai/rslearn's EuroSAT tutorial). The older
  ``EuroSATallBands.zip`` nests the same class folders under
  ``ds/images/remote_sensing/otherDatasets/sentinel_2/tif`` (torchgeo
  ``torchgeo/datasets/eurosat.py``); both are accepted.
- The ten classes and their per-class counts (27,000 in all): torchgeo's ``eurosat.py``
  (``class_counts``) and the EuroSAT paper (Helber et al., 2019, table of classes).
- Band order of the MS GeoTIFFs: B01–B12 then B8A last, as listed by allenai/rslearn's
  EuroSAT configuration; torchgeo's ``all_band_names`` puts B8A ninth — the two disagree, we
  follow the order read from the files by rslearn. RGB JPEGs hold B04, B03, B02.
- Official splits: ``eurosat-train.txt``, ``eurosat-val.txt``, ``eurosat-test.txt`` (one file
  name per line, ``.jpg`` names) from Neumann et al. 2019, "In-domain representation learning
  for remote sensing" (arXiv:1911.06721), published at
  ``https://storage.googleapis.com/remote_sensing_representations/`` with the MD5s torchgeo
  lists (``split_md5s``).
- Download: ``EuroSAT_MS.zip`` MD5 ``091174add3c8e680a49244acf185b9f0`` as listed on the
  Zenodo record (quoted by users' download scripts found with the code search).
- Licence MIT: the EuroSAT repository, https://github.com/phelber/EuroSAT.
- Citation: Helber, Bischke, Dengel, Borth (2019), IEEE JSTARS 12(7) 2217–2226,
  doi:10.1109/JSTARS.2019.2918242.
- No acquisition dates are published per chip: items carry the date the dataset was first
  published (arXiv:1709.00029, 2017-08-31) unless ``--datetime`` gives another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from eotdl.builders.base import Labels, Option
from eotdl.builders.label_items import add_labels
from eotdl.builders.parallel import ordered_map
from eotdl.builders.rasterinfo import image_item
from eotdl.builders.recipes import bands
from eotdl.builders.recipes.facts import ClassInfo, Download, Facts
from eotdl.builders.recipes.recipe import DOWNLOAD_OPTION, RecipeBuilder, read_split_lists
from eotdl.builders.splits import SplitRecord
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError

SPLIT_BASE = "https://storage.googleapis.com/remote_sensing_representations/"
NESTED = Path("ds/images/remote_sensing/otherDatasets/sentinel_2/tif")
PUBLISHED = "2017-08-31"

CLASSES = (
    ClassInfo("AnnualCrop", "Annual crop: arable land sown and harvested within a year"),
    ClassInfo("Forest", "Forest"),
    ClassInfo("HerbaceousVegetation", "Herbaceous vegetation"),
    ClassInfo("Highway", "Highway: roads and their surroundings"),
    ClassInfo("Industrial", "Industrial buildings"),
    ClassInfo("Pasture", "Pasture"),
    ClassInfo("PermanentCrop", "Permanent crop: orchards, vineyards, olive groves"),
    ClassInfo("Residential", "Residential buildings"),
    ClassInfo("River", "River"),
    ClassInfo("SeaLake", "Sea and lake"),
)
BIBTEX = """@article{helber2019eurosat,
  author = {Helber, Patrick and Bischke, Benjamin and Dengel, Andreas and Borth, Damian},
  title = {EuroSAT: A Novel Dataset and Deep Learning Benchmark for Land Use and Land Cover Classification},
  journal = {IEEE Journal of Selected Topics in Applied Earth Observations and Remote Sensing},
  volume = {12},
  number = {7},
  pages = {2217--2226},
  year = {2019},
  doi = {10.1109/JSTARS.2019.2918242}
}"""  # noqa: E501
PROVIDERS = (
    {
        "name": "DFKI (German Research Center for Artificial Intelligence)",
        "roles": ["producer", "licensor"],
        "url": "https://github.com/phelber/EuroSAT",
    },
    {"name": "Zenodo", "roles": ["host"], "url": "https://zenodo.org/records/7711810"},
    {
        "name": "Copernicus Sentinel-2 (ESA)",
        "roles": ["producer"],
        "url": "https://sentinels.copernicus.eu/web/sentinel/missions/sentinel-2",
    },
)
SPLITS = (
    "train/validate/test from `eurosat-train.txt`, `eurosat-val.txt` and `eurosat-test.txt`"
    " (16,200/5,400/5,400 chips) of Neumann et al. 2019, arXiv:1911.06721, published at"
    f" {SPLIT_BASE}."
)
SPLIT_MD5 = {
    "train": "908f142e73d6acdf3f482c5e80d851b1",
    "val": "95de90f2aa998f70a3b2416bfe0687b4",
    "test": "7ae5ab94471417b6e315763121e67c5f",
}
SPLIT_DOWNLOADS = tuple(
    Download(f"eurosat-{s}.txt", f"{SPLIT_BASE}eurosat-{s}.txt", md5)
    for s, md5 in SPLIT_MD5.items()
)

MS_FACTS = Facts(
    name="eurosat",
    title="EuroSAT (multispectral)",
    task="classification",
    sensor="Sentinel-2 MSI, 13 bands",
    size="27,000 chips of 64×64 px, 2.0 GB",
    license="MIT",
    doi="10.1109/JSTARS.2019.2918242",
    bibtex=BIBTEX,
    description=(
        "EuroSAT: 27,000 labelled, georeferenced Sentinel-2 chips of 64×64 pixels with all"
        " 13 spectral bands, over 34 European countries, in 10 land use and land cover classes."
    ),
    homepage="https://github.com/phelber/EuroSAT",
    providers=PROVIDERS,
    splits=SPLITS,
    classes=CLASSES,
    bands=bands.s2(
        "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12", "B8A"
    ),
    keywords=("land cover", "land use", "Sentinel-2", "scene classification", "Europe"),
    downloads=(
        Download(
            "EuroSAT_MS.zip",
            "https://zenodo.org/records/7711810/files/EuroSAT_MS.zip",
            "091174add3c8e680a49244acf185b9f0",
            extract=True,
        ),
        *SPLIT_DOWNLOADS,
    ),
    notes=(
        "Band order in the GeoTIFFs: B01–B12, then B8A (as read by allenai/rslearn);"
        " torchgeo lists B8A ninth.",
        "No per-chip acquisition dates are published; items carry 2017-08-31 (first"
        " publication) as a stand-in.",
    ),
)
RGB_FACTS = replace(
    MS_FACTS,
    name="eurosat-rgb",
    title="EuroSAT (RGB)",
    sensor="Sentinel-2 MSI, RGB (B04, B03, B02) JPEG",
    size="27,000 chips of 64×64 px, 90 MB",
    description=(
        "EuroSAT RGB: the 27,000 EuroSAT chips as 64×64 RGB JPEGs (Sentinel-2 B04, B03, B02),"
        " in 10 land use and land cover classes; the JPEGs carry no georeference."
    ),
    bands=bands.s2("B04", "B03", "B02"),
    keywords=("land cover", "land use", "Sentinel-2", "scene classification", "Europe", "RGB"),
    downloads=(),
    notes=(
        "The JPEGs have no georeference: items have a null geometry.",
        "No published checksum of EuroSAT_RGB.zip was found, so --download is not offered:"
        " fetch it from the Zenodo record by hand.",
    ),
)


class EuroSATBuilder(RecipeBuilder):
    """EuroSAT MS: one Item per 13-band GeoTIFF chip, its class from its folder."""

    name = "eurosat"
    summary = "EuroSAT (Sentinel-2, 13 bands) from EuroSAT_MS/<Class>/<Class>_<n>.tif"
    facts: ClassVar[Facts] = MS_FACTS
    folder: ClassVar[str] = "EuroSAT_MS"
    suffix: ClassVar[str] = ".tif"
    options = (
        DOWNLOAD_OPTION,
        Option("datetime", "Datetime of every chip (none is published).", default=PUBLISHED),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.labels = Labels.classes_in_property(
            "classification",
            "EuroSAT land use and land cover class of the chip",
            [c.name for c in self.facts.classes],
        )

    @cached_property
    def _root(self) -> Path:
        """The folder holding the class folders."""
        source = Path(self.source)
        for candidate in (source / self.folder, source / NESTED, source):
            if any((candidate / c.name).is_dir() for c in self.facts.classes):
                return candidate
        raise InputError(
            f"{source}: no EuroSAT class folders (e.g. {self.folder}/AnnualCrop/)",
            hint=f"SOURCE is the folder {self.folder}.zip was unpacked in",
        )

    @cached_property
    def _chips(self) -> list[tuple[str, Path]]:
        """(class, chip) in class then file-name order; unknown folders are errors."""
        known = {c.name for c in self.facts.classes}
        chips: list[tuple[str, Path]] = []
        for folder in sorted(p for p in self._root.iterdir() if p.is_dir()):
            if folder.name.startswith("."):
                continue
            if folder.name not in known:
                raise InputError(
                    f"{folder}: {folder.name!r} is not a EuroSAT class",
                    hint=f"the classes are {', '.join(sorted(known))}",
                )
            found = sorted(folder.glob(f"*{self.suffix}"), key=lambda p: _chip_order(p.stem))
            chips.extend((folder.name, p) for p in found)
        if not chips:
            raise InputError(f"{self._root}: no *{self.suffix} chips in the class folders")
        return chips

    def split_records(self) -> Iterator[SplitRecord]:
        return (SplitRecord(path.stem, label, 0.0, 0.0) for label, path in self._chips)

    def official_splits(self) -> dict[str, str] | None:
        names = {"eurosat-train.txt": "train", "eurosat-val.txt": "validate"}
        names["eurosat-test.txt"] = "test"
        lines = read_split_lists({Path(self.source) / name: s for name, s in names.items()})
        if lines is None:
            return None
        return {Path(line).stem: split for line, split in lines}

    def _item(self, chip: tuple[str, Path]) -> dict[str, Any]:
        label, path = chip
        assert self.labels is not None
        item = image_item(path, path.stem, datetime=self.settings["datetime"])
        item["assets"]["image"]["eo:bands"] = [b.eo() for b in self.facts.bands]
        item["assets"]["image"]["title"] = f"{len(self.facts.bands)}-band chip"
        bands.declare_eo(item)
        props = {"class": label, SPLIT: self.splits[path.stem]}
        return add_labels(item, self.labels, properties=props)

    def items(self) -> Iterator[dict[str, Any]]:
        yield from ordered_map(self._item, self._chips)

    def collection(self) -> dict[str, Any]:
        chip = {
            "title": f"{len(self.facts.bands)}-band chip",
            "roles": ["data"],
            "ml-aoi:role": "feature",
            "eo:bands": [b.eo() for b in self.facts.bands],
        }
        return self.band_collection(
            {"image": chip}, {"gsd": sorted({b.gsd for b in self.facts.bands})}
        )


class EuroSATRGBBuilder(EuroSATBuilder):
    """EuroSAT RGB: one Item per JPEG chip (no georeference: null geometry)."""

    name = "eurosat-rgb"
    summary = "EuroSAT RGB JPEGs from EuroSAT_RGB/<Class>/<Class>_<n>.jpg"
    facts: ClassVar[Facts] = RGB_FACTS
    folder: ClassVar[str] = "EuroSAT_RGB"
    suffix: ClassVar[str] = ".jpg"


def _chip_order(stem: str) -> tuple[str, int]:
    """``AnnualCrop_12`` sorts after ``AnnualCrop_2``."""
    head, _, tail = stem.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (stem, -1)
