"""PASTIS: panoptic segmentation of agricultural parcels in Sentinel-2 time series (France).

Facts and where they come from:

- Layout (https://github.com/VSainteuf/pastis-benchmark README; torchgeo
  ``torchgeo/datasets/pastis.py`` ``prefix``): ``DATA_S2/S2_<id>.npy`` (T×10×128×128
  int16 time series), ``ANNOTATIONS/TARGET_<id>.npy`` (3×128×128; channel 0 is the semantic
  class), ``INSTANCE_ANNOTATIONS/INSTANCES_<id>.npy`` (128×128 parcel ids; accepted in
  ``ANNOTATIONS/`` too) and ``metadata.geojson`` (one feature per patch: ``ID_PATCH``,
  ``Fold`` 1–5, ``dates-S2`` {index: YYYYMMDD}, the patch footprint in Lambert-93,
  EPSG:2154).
- Bands: ten Sentinel-2 L2A bands B02–B08, B8A, B11, B12, resampled to 10 m
  (pastis-benchmark README: "10 spectral bands").
- Classes 0–19 (background, 18 crop types, void label): torchgeo ``classes``.
- Splits: the five official folds; this recipe uses the benchmark's first configuration,
  folds 1–3 train, 4 validate, 5 test (pastis-benchmark ``train_semantic.py`` default
  fold sequence), and keeps each item's fold in ``pastis:fold``.
- Licence CC-BY-4.0: Zenodo record 5012942 (https://zenodo.org/records/5012942).
- Citation: Sainte Fare Garnot and Landrieu (2021), ICCV, doi:10.1109/ICCV48922.2021.00483.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from rasterio.crs import CRS
from rasterio.errors import CRSError
from rasterio.warp import transform_geom
from shapely.geometry import shape

from eotdl.builders.base import EO_EXT, PROJ_EXT, STAC_VERSION, Labels
from eotdl.builders.label_items import add_labels
from eotdl.builders.rasterinfo import json_safe
from eotdl.builders.recipes import bands
from eotdl.builders.recipes.facts import ClassInfo, Facts
from eotdl.builders.recipes.recipe import RecipeBuilder
from eotdl.builders.splits import SplitRecord
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError

NPY = "application/x-npy"
S2_ORDER = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
FOLDS = {1: "train", 2: "train", 3: "train", 4: "validate", 5: "test"}
LAMBERT93 = "EPSG:2154"
CLASSES = tuple(
    ClassInfo(name, description, value)
    for value, (name, description) in enumerate(
        (
            ("background", "all non-agricultural land"),
            ("meadow", ""),
            ("soft_winter_wheat", ""),
            ("corn", ""),
            ("winter_barley", ""),
            ("winter_rapeseed", ""),
            ("spring_barley", ""),
            ("sunflower", ""),
            ("grapevine", ""),
            ("beet", ""),
            ("winter_triticale", ""),
            ("winter_durum_wheat", ""),
            ("fruits_vegetables_flowers", ""),
            ("potatoes", ""),
            ("leguminous_fodder", ""),
            ("soybeans", ""),
            ("orchard", ""),
            ("mixed_cereal", ""),
            ("sorghum", ""),
            ("void_label", "parcels mostly outside their patch"),
        )
    )
)

FACTS = Facts(
    name="pastis",
    title="PASTIS",
    task="segmentation",
    sensor="Sentinel-2 L2A time series (10 bands, 38-61 dates)",
    size="2,433 patches of 128×128 px at 10 m, 29 GB",
    license="CC-BY-4.0",
    doi="10.1109/ICCV48922.2021.00483",
    bibtex="""@inproceedings{garnot2021panoptic,
  author = {Sainte Fare Garnot, Vivien and Landrieu, Loic},
  title = {Panoptic Segmentation of Satellite Image Time Series with Convolutional Temporal Attention Networks},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
  pages = {4872--4881},
  year = {2021},
  doi = {10.1109/ICCV48922.2021.00483}
}""",  # noqa: E501
    description=(
        "PASTIS: 2,433 Sentinel-2 time series of 128×128 px patches over four French regions"
        " (September 2018 - November 2019), with semantic and instance (parcel) annotations of"
        " 18 crop types for panoptic segmentation."
    ),
    homepage="https://github.com/VSainteuf/pastis-benchmark",
    providers=(
        {
            "name": "IGN / LASTIG, Université Gustave Eiffel",
            "roles": ["producer", "licensor"],
            "url": "https://github.com/VSainteuf/pastis-benchmark",
        },
        {"name": "Zenodo", "roles": ["host"], "url": "https://zenodo.org/records/5012942"},
        {
            "name": "Copernicus Sentinel-2 (ESA), French Land Parcel Identification System",
            "roles": ["producer"],
            "url": "https://geoservices.ign.fr/rpg",
        },
    ),
    splits="the five official folds of `metadata.geojson` (`Fold`): folds 1-3 train, 4"
    " validate, 5 test (the benchmark's first cross-validation configuration); each item"
    " keeps its fold in `pastis:fold`.",
    classes=CLASSES,
    bands=bands.s2(*S2_ORDER),
    keywords=("agriculture", "crop type", "panoptic segmentation", "time series", "France"),
    notes=("Time series and annotations are NumPy arrays (.npy), as distributed.",),
)


class PASTISBuilder(RecipeBuilder):
    """One Item per patch: its S2 time series, semantic target and parcel instances."""

    name = "pastis"
    summary = "PASTIS time series from DATA_S2/, ANNOTATIONS/ and metadata.geojson"
    facts: ClassVar[Facts] = FACTS

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.labels = Labels.classes_in_pixels(
            ["segmentation"],
            "semantic class (TARGET channel 0) and parcel instances (INSTANCES)",
            (c.value for c in CLASSES),
        )

    @cached_property
    def _meta(self) -> tuple[list[dict[str, Any]], CRS]:
        path = Path(self.source) / "metadata.geojson"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"{path}: missing",
                hint="SOURCE is the PASTIS folder holding metadata.geojson and DATA_S2/",
            ) from None
        except ValueError as exc:
            raise InputError(f"{path}: not JSON ({exc})") from None
        name = ((data.get("crs") or {}).get("properties") or {}).get("name") or LAMBERT93
        try:
            crs = CRS.from_user_input(name)
        except CRSError as exc:
            raise InputError(f"{path}: unknown crs {name!r} ({exc})") from None
        features = data.get("features") or []
        for index, feature in enumerate(features):
            props = feature.get("properties") or {}
            if "ID_PATCH" not in props or props.get("Fold") not in FOLDS:
                raise InputError(
                    f"{path}: features[{index}] needs ID_PATCH and a Fold of 1-5",
                    hint="is this PASTIS's metadata.geojson?",
                )
        features = sorted(features, key=lambda f: int(f["properties"]["ID_PATCH"]))
        return features, crs

    def split_records(self) -> Iterator[SplitRecord]:
        return (SplitRecord(_id(f), None, 0.0, 0.0) for f in self._meta[0])

    def official_splits(self) -> dict[str, str]:
        return {_id(f): FOLDS[int(f["properties"]["Fold"])] for f in self._meta[0]}

    def _file(self, folders: tuple[str, ...], prefix: str, patch: Any) -> Path:
        for folder in folders:
            path = Path(self.source) / folder / f"{prefix}_{patch}.npy"
            if path.exists():
                return path.resolve()
        raise InputError(f"{Path(self.source) / folders[0] / f'{prefix}_{patch}.npy'}: missing")

    def _item(self, feature: dict[str, Any], crs: CRS) -> dict[str, Any]:
        props = feature["properties"]
        patch = props["ID_PATCH"]
        geometry = transform_geom(crs, "EPSG:4326", feature["geometry"])
        dates = sorted(_date(v) for v in _dates(props.get("dates-S2")))
        if not dates:
            raise InputError(f"metadata.geojson: patch {patch} has no dates-S2")
        s2 = self._file(("DATA_S2",), "S2", patch)
        item: dict[str, Any] = {
            "type": "Feature",
            "stac_version": STAC_VERSION,
            "stac_extensions": [PROJ_EXT, EO_EXT],
            "id": _id(feature),
            "geometry": geometry,
            "bbox": list(shape(geometry).bounds),
            "properties": {
                "datetime": None,
                "start_datetime": dates[0],
                "end_datetime": dates[-1],
                "proj:epsg": crs.to_epsg(),
                "proj:shape": [128, 128],
                "pastis:fold": int(props["Fold"]),
                "pastis:tile": props.get("TILE"),
                "pastis:dates": dates,
                SPLIT: self.splits[_id(feature)],
            },
            "links": [{"rel": "source", "href": str(s2), "type": NPY}],
            "assets": {
                "s2": bands.band_asset(
                    s2,
                    NPY,
                    f"Sentinel-2 time series, {len(dates)}×10×128×128 int16",
                    self.facts.bands,
                ),
                "instances": {
                    "href": str(
                        self._file(("INSTANCE_ANNOTATIONS", "ANNOTATIONS"), "INSTANCES", patch)
                    ),
                    "type": NPY,
                    "title": "parcel instance ids, 128×128",
                    "roles": ["labels"],
                    "ml-aoi:role": "label",
                },
            },
        }
        assert self.labels is not None
        item = add_labels(
            item,
            self.labels,
            label_asset={
                "href": str(self._file(("ANNOTATIONS",), "TARGET", patch)),
                "type": NPY,
                "title": "semantic target, 3×128×128 (channel 0: class)",
            },
        )
        return json_safe(item)

    def items(self) -> Iterator[dict[str, Any]]:
        features, crs = self._meta
        for feature in features:
            yield self._item(feature, crs)

    def collection(self) -> dict[str, Any]:
        return self.band_collection(
            {
                "s2": {"type": NPY, "roles": ["data"], "ml-aoi:role": "feature"},
                "labels": {"type": NPY, "roles": ["labels"], "ml-aoi:role": "label"},
                "instances": {"type": NPY, "roles": ["labels"], "ml-aoi:role": "label"},
            }
        )


def _id(feature: dict[str, Any]) -> str:
    return f"pastis-{feature['properties']['ID_PATCH']}"


def _dates(value: Any) -> list[Any]:
    """``dates-S2`` as a list (a dict {index: date} or its JSON text, as distributed)."""
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=int)]
    return list(value or [])


def _date(value: Any) -> str:
    text = str(value)
    try:
        return dt.datetime.strptime(text, "%Y%m%d").strftime("%Y-%m-%dT00:00:00Z")
    except ValueError:
        raise InputError(f"metadata.geojson: date {text!r} is not YYYYMMDD") from None
