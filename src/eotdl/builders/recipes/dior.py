"""DIOR: object detection in optical remote sensing images (Google Earth, 20 classes).

Facts and where they come from:

- Layout (DIOR's distribution, as described by its authors' release and e.g. the
  One-Click-Conversion-for-RS-Datasets README): ``JPEGImages-trainval/<n>.jpg``,
  ``JPEGImages-test/<n>.jpg`` (800×800 px), ``Annotations/<n>.xml`` in Pascal VOC (some
  copies: ``Annotations/Horizontal Bounding Boxes/`` or ``Annotations/HBB/``; all accepted),
  and ``ImageSets/Main/{train,val,test}.txt`` (one image number per line; ``Main/`` directly
  under SOURCE is accepted too).
- Pascal VOC fields read: ``object/name`` and ``object/bndbox/{xmin,ymin,xmax,ymax}``
  (torchgeo ``torchgeo/datasets/dior.py`` ``parse_pascal_voc``).
- The 20 classes as spelled in the annotation files: mmdetection/detectron2 DIOR configs
  found with the code search (``Expressway-Service-area``, ``Expressway-toll-station``, …);
  torchgeo lower-cases and strips them.
- Licence: DIOR is published for academic research with no SPDX licence; recorded as
  ``other`` … the card says so.
- Citation: Li, Wan, Cheng, Meng, Han (2020), ISPRS J. Photogramm. Remote Sens. 159, 296–307,
  doi:10.1016/j.isprsjprs.2019.11.023 (arXiv:1909.00133, torchgeo).
- The images have no georeference and no acquisition dates: null geometries, and the date
  the dataset was published (arXiv, 2019-09-01) as a stand-in datetime.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree

from eotdl.builders.base import Option
from eotdl.builders.detection import DetectionBuilder
from eotdl.builders.recipes.facts import Band, ClassInfo, Facts
from eotdl.builders.recipes.recipe import RecipeBuilder, read_split_lists
from eotdl.builders.splits import SplitRecord
from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import InputError

PUBLISHED = "2019-09-01"
IMAGE_FOLDERS = ("JPEGImages-trainval", "JPEGImages-test")
ANNOTATION_FOLDERS = ("Annotations/HBB", "Annotations/Horizontal Bounding Boxes", "Annotations")
SPLIT_FOLDERS = ("ImageSets/Main", "Main")
CLASSES = tuple(
    ClassInfo(name, description)
    for name, description in (
        ("airplane", "Airplane"),
        ("airport", "Airport"),
        ("baseballfield", "Baseball field"),
        ("basketballcourt", "Basketball court"),
        ("bridge", "Bridge"),
        ("chimney", "Chimney"),
        ("dam", "Dam"),
        ("Expressway-Service-area", "Expressway service area"),
        ("Expressway-toll-station", "Expressway toll station"),
        ("golffield", "Golf field"),
        ("groundtrackfield", "Ground track field"),
        ("harbor", "Harbor"),
        ("overpass", "Overpass"),
        ("ship", "Ship"),
        ("stadium", "Stadium"),
        ("storagetank", "Storage tank"),
        ("tenniscourt", "Tennis court"),
        ("trainstation", "Train station"),
        ("vehicle", "Vehicle"),
        ("windmill", "Windmill"),
    )
)
FACTS = Facts(
    name="dior",
    title="DIOR",
    task="object-detection",
    sensor="Google Earth optical RGB, 0.5-30 m",
    size="23,463 images of 800×800 px, 192,472 boxes",
    license="other",
    doi="10.1016/j.isprsjprs.2019.11.023",
    bibtex="""@article{li2020dior,
  author = {Li, Ke and Wan, Gang and Cheng, Gong and Meng, Liqiu and Han, Junwei},
  title = {Object Detection in Optical Remote Sensing Images: A Survey and a New Benchmark},
  journal = {ISPRS Journal of Photogrammetry and Remote Sensing},
  volume = {159},
  pages = {296--307},
  year = {2020},
  doi = {10.1016/j.isprsjprs.2019.11.023}
}""",
    description=(
        "DIOR: 23,463 optical remote sensing images (800×800 px, Google Earth) with 192,472"
        " horizontal bounding boxes of 20 object classes."
    ),
    homepage="https://arxiv.org/abs/1909.00133",
    providers=(
        {
            "name": "Northwestern Polytechnical University",
            "roles": ["producer", "licensor"],
            "url": "https://arxiv.org/abs/1909.00133",
        },
        {"name": "Google Earth", "roles": ["producer"], "url": "https://earth.google.com"},
    ),
    splits="train/validate/test from `ImageSets/Main/train.txt`, `val.txt` and `test.txt`"
    " (5,862/5,863/11,738 images) as distributed.",
    classes=CLASSES,
    bands=(
        Band("red", "red", 0.5, "red"),
        Band("green", "green", 0.5, "green"),
        Band("blue", "blue", 0.5, "blue"),
    ),
    keywords=("object detection", "optical", "aerial", "Google Earth"),
    notes=(
        "Licence: released for academic research; no SPDX licence is published (`other`).",
        "GSD varies from about 0.5 m to 30 m; the band GSD shown is the finest.",
        "The images have no georeference and no dates: items have a null geometry and carry"
        " 2019-09-01 (first publication) as a stand-in datetime.",
    ),
)


class DIORBuilder(RecipeBuilder):
    """One Item per image, its Pascal VOC boxes as a GeoJSON ``labels`` asset."""

    name = "dior"
    summary = "DIOR detection from JPEGImages-*/, Annotations/ (Pascal VOC) and ImageSets/Main/"
    facts: ClassVar[Facts] = FACTS
    options = (
        Option("datetime", "Datetime of every image (none is published).", default=PUBLISHED),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        root = Path(source)
        coco = self.workdir / "dior-boxes.json"
        coco.write_text(json.dumps(self._coco(root)), encoding="utf-8")
        self._inner = DetectionBuilder(
            source, dataset, self.workdir, boxes=coco, extensions="jpg",
            datetime=self.settings["datetime"],
        )  # fmt: skip
        self.labels = self._inner.labels

    def _coco(self, root: Path) -> dict[str, Any]:
        """The Pascal VOC files as one COCO document (the detection builder reads it)."""
        folders = [root / f for f in IMAGE_FOLDERS if (root / f).is_dir()]
        if not folders:
            raise InputError(
                f"{root}: no JPEGImages-trainval/ or JPEGImages-test/",
                hint="SOURCE is the folder DIOR was unpacked in",
            )
        notes = next((root / f for f in ANNOTATION_FOLDERS if (root / f).is_dir()), None)
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        known = {c.name: i for i, c in enumerate(CLASSES)}
        for folder in folders:
            for path in sorted(folder.glob("*.jpg")):
                image_id = len(images)
                images.append({"id": image_id, "file_name": f"{folder.name}/{path.name}"})
                xml = notes / f"{path.stem}.xml" if notes else None
                if xml is None or not xml.exists():
                    continue
                for name, box in _voc_boxes(xml):
                    if name not in known:
                        raise InputError(
                            f"{xml}: class {name!r} is not a DIOR class",
                            hint=f"DIOR's classes: {', '.join(known)}",
                        )
                    x0, y0, x1, y1 = box
                    annotations.append(
                        {
                            "id": len(annotations),
                            "image_id": image_id,
                            "category_id": known[name],
                            "bbox": [x0, y0, x1 - x0, y1 - y0],
                        }
                    )
        categories = [{"id": i, "name": c.name} for i, c in enumerate(CLASSES)]
        return {"images": images, "annotations": annotations, "categories": categories}

    @cached_property
    def _stems(self) -> dict[str, str]:
        """item id -> image number (the name used by the split files)."""
        return {item_id: path.stem for item_id, path in self._inner._images}

    def split_records(self) -> Iterator[SplitRecord]:
        return (SplitRecord(i, None, 0.0, 0.0) for i in self._stems)

    def official_splits(self) -> dict[str, str] | None:
        names = {"train.txt": "train", "val.txt": "validate", "test.txt": "test"}
        folder = next(
            (Path(self.source) / f for f in SPLIT_FOLDERS if (Path(self.source) / f).is_dir()),
            None,
        )
        if folder is None:
            return None
        lines = read_split_lists({folder / n: s for n, s in names.items()}, required=True)
        by_stem = dict(lines or ())
        return {i: by_stem[s] for i, s in self._stems.items() if s in by_stem}

    def items(self) -> Iterator[dict[str, Any]]:
        for item in self._inner.items():
            item["properties"][SPLIT] = self.splits[item["id"]]
            yield item

    def collection(self) -> dict[str, Any]:
        inner = self._inner.collection()
        base = super().collection()
        base["stac_extensions"] += [
            e for e in inner["stac_extensions"] if e not in base["stac_extensions"]
        ]
        base["summaries"] = inner["summaries"]
        base["summaries"]["label:classes"] = [
            {"name": "class", "classes": [c.name for c in CLASSES]}
        ]
        base["item_assets"] = inner["item_assets"]
        return base


def _voc_boxes(path: Path) -> Iterator[tuple[str, tuple[float, float, float, float]]]:
    """(class, (xmin, ymin, xmax, ymax)) of every object of a Pascal VOC file."""
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as exc:
        raise InputError(f"{path}: not a Pascal VOC XML file ({exc})") from None
    for index, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        try:
            assert box is not None
            values = tuple(float(box.findtext(k) or "") for k in ("xmin", "ymin", "xmax", "ymax"))
        except (AssertionError, ValueError):
            raise InputError(f"{path}: object {index + 1} has no numeric bndbox") from None
        yield name, (values[0], values[1], values[2], values[3])
