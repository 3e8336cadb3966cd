"""Seeded miniature copies of public EO datasets, in their exact published layouts.

Each function writes a few tiny samples (16×16 px or so) with the real folder and file names,
band counts, data types and a real CRS, so a recipe's builder reads them exactly as it would
read the real download. Run ``python tests/builders/recipes/miniatures.py DIR`` to write them
all into DIR.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

SEED = 19
#: A real UTM zone and a place in it (near Toulouse) for the georeferenced miniatures.
UTM = "EPSG:32631"
ORIGIN = (370000.0, 4830000.0)
EUROSAT_CLASSES = (
    "AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial",
    "Pasture", "PermanentCrop", "Residential", "River", "SeaLake",
)  # fmt: skip


def _tif(
    path: Path,
    data: np.ndarray,
    *,
    x: float,
    y: float,
    resolution: float,
    crs: str = UTM,
    nodata: float | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": from_origin(x, y, resolution, resolution),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def _jpg(path: Path, data: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.moveaxis(data, 0, -1)).save(path, quality=95)


def _eurosat_splits(root: Path, per_class: int) -> None:
    """eurosat-{train,val,test}.txt naming .jpg files, as published (one chip per split)."""
    names = {"train": [], "val": [], "test": []}
    for cls in EUROSAT_CLASSES:
        for n in range(1, per_class + 1):
            split = ("train", "val", "test")[(n - 1) % 3]
            names[split].append(f"{cls}_{n}.jpg")
    for split, lines in names.items():
        (root / f"eurosat-{split}.txt").write_text("\n".join(lines) + "\n")


def eurosat(root: Path, per_class: int = 3, splits: bool = True) -> Path:
    """EuroSAT_MS/<Class>/<Class>_<n>.tif: 13-band uint16 GeoTIFFs, 16×16 at 10 m."""
    rng = np.random.default_rng(SEED)
    for c, cls in enumerate(EUROSAT_CLASSES):
        for n in range(1, per_class + 1):
            data = rng.integers(1, 4000, size=(13, 16, 16)).astype("uint16")
            x, y = ORIGIN[0] + 200.0 * n, ORIGIN[1] - 200.0 * c
            _tif(root / "EuroSAT_MS" / cls / f"{cls}_{n}.tif", data, x=x, y=y, resolution=10)
    if splits:
        _eurosat_splits(root, per_class)
    return root


def eurosat_rgb(root: Path, per_class: int = 3, splits: bool = True) -> Path:
    """EuroSAT_RGB/<Class>/<Class>_<n>.jpg: 3-band 8-bit JPEGs, 16×16, no georeference."""
    rng = np.random.default_rng(SEED)
    for cls in EUROSAT_CLASSES:
        for n in range(1, per_class + 1):
            data = rng.integers(0, 255, size=(3, 16, 16)).astype("uint8")
            _jpg(root / "EuroSAT_RGB" / cls / f"{cls}_{n}.jpg", data)
    if splits:
        _eurosat_splits(root, per_class)
    return root


BEN_PATCHES = (
    # (patch id, s1 name or None, split, labels, country)
    ("S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57",
     "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_26_57", "train", ["Arable land"], "Austria"),
    ("S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_58",
     "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_26_58", "train",
     ["Coniferous forest", "Mixed forest"], "Austria"),
    ("S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_27_57",
     "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_27_57", "validation", ["Arable land"], "Austria"),
    ("S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_27_58", None, "validation",
     ["Pastures"], "Austria"),
    ("S2B_MSIL2A_20180525T094029_N9999_R036_T35VNL_10_20",
     "S1B_IW_GRDH_1SDV_20180525T155139_35VNL_10_20", "test", ["Inland waters"], "Finland"),
    ("S2B_MSIL2A_20180525T094029_N9999_R036_T35VNL_10_21",
     "S1B_IW_GRDH_1SDV_20180525T155139_35VNL_10_21", "test", ["Coniferous forest"], "Finland"),
)  # fmt: skip
BEN_S2 = {  # band -> (pixels per side at 120 m / resolution, resolution)
    "B01": 2, "B02": 12, "B03": 12, "B04": 12, "B05": 6, "B06": 6, "B07": 6,
    "B08": 12, "B8A": 6, "B09": 2, "B11": 6, "B12": 6,
}  # fmt: skip
CLC_CODES = (211, 231, 311, 312, 313, 512)


def bigearthnet(root: Path) -> Path:
    """BigEarthNet-S2/<tile>/<patch>/<patch>_<band>.tif (native 10/20/60 m), S1 VV/VH,
    Reference_Maps/<tile>/<patch>/<patch>_reference_map.tif and metadata.parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(SEED)
    for index, (patch, s1, _, _, _) in enumerate(BEN_PATCHES):
        crs = "EPSG:32633" if "T33" in patch else "EPSG:32635"
        x, y = 500000.0 + 240.0 * index, 5300000.0
        tile = "_".join(patch.split("_")[:-2])
        folder = root / "BigEarthNet-S2" / tile / patch
        for band, side in BEN_S2.items():
            data = rng.integers(1, 6000, size=(1, side, side)).astype("uint16")
            _tif(folder / f"{patch}_{band}.tif", data, x=x, y=y, resolution=120 / side, crs=crs)
        ref = rng.choice(np.array(CLC_CODES, dtype="uint16"), size=(1, 12, 12))
        _tif(
            root / "Reference_Maps" / tile / patch / f"{patch}_reference_map.tif",
            ref, x=x, y=y, resolution=10, crs=crs,
        )  # fmt: skip
        if s1:
            s1_tile = "_".join(s1.split("_")[:-3])
            for pol in ("VV", "VH"):
                data = (rng.random((1, 12, 12)) * -25).astype("float32")
                path = root / "BigEarthNet-S1" / s1_tile / s1 / f"{s1}_{pol}.tif"
                _tif(path, data, x=x, y=y, resolution=10, crs=crs)
    table = pa.table(
        {
            "patch_id": [p[0] for p in BEN_PATCHES],
            "labels": [p[3] for p in BEN_PATCHES],
            "split": [p[2] for p in BEN_PATCHES],
            "country": [p[4] for p in BEN_PATCHES],
            "s1_name": [p[1] or "" for p in BEN_PATCHES],
            "contains_seasonal_snow": [False] * len(BEN_PATCHES),
            "contains_cloud_or_shadow": [False] * len(BEN_PATCHES),
        }
    )
    pq.write_table(table, root / "metadata.parquet")
    return root


SEN12MS_SCENES = (("ROIs1158", "spring", 1), ("ROIs1158", "spring", 2), ("ROIs2017", "winter", 7))


def sen12ms(root: Path, splits: bool = True) -> Path:
    """ROIs<n>_<season>_<s1|s2|lc>/<kind>_<scene>/ROIs<n>_<season>_<kind>_<scene>_p<k>.tif:
    S1 2 bands float32 (dB), S2 13 bands uint16, LC 4 bands uint16 (IGBP first), 16×16."""
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for s, (roi, season, scene) in enumerate(SEN12MS_SCENES):
        for p in (30, 31):
            x, y = ORIGIN[0] + 400.0 * s, ORIGIN[1] - 200.0 * (p - 30)
            layers = {
                "s1": (rng.random((2, 16, 16)) * -25).astype("float32"),
                "s2": rng.integers(1, 5000, size=(13, 16, 16)).astype("uint16"),
                "lc": np.stack(
                    [
                        rng.choice(np.array([10, 12, 13, 17], dtype="uint16"), size=(16, 16)),
                        *(rng.integers(1, 40, size=(3, 16, 16)).astype("uint16")),
                    ]
                ),
            }
            for kind, data in layers.items():
                name = f"{roi}_{season}_{kind}_{scene}_p{p}.tif"
                path = root / f"{roi}_{season}_{kind}" / f"{kind}_{scene}" / name
                _tif(path, data, x=x, y=y, resolution=10)
            (test if s == 2 else train).append(f"{roi}_{season}_s1_{scene}_p{p}.tif")
    if splits:
        (root / "train_list.txt").write_text("\n".join(train) + "\n")
        (root / "test_list.txt").write_text("\n".join(test) + "\n")
    return root


def pastis(root: Path) -> Path:
    """DATA_S2/S2_<id>.npy (T×10×H×W int16), ANNOTATIONS/TARGET_<id>.npy (3×H×W),
    INSTANCE_ANNOTATIONS/INSTANCES_<id>.npy and metadata.geojson in EPSG:2154 with Fold."""
    rng = np.random.default_rng(SEED)
    features = []
    dates = {"0": 20180924, "1": 20181004, "2": 20181101}
    for n, patch in enumerate((10000, 10001, 10002, 10003, 10004)):
        np.save(
            _mkdir(root / "DATA_S2") / f"S2_{patch}.npy",
            rng.integers(0, 5000, size=(3, 10, 16, 16)).astype("int16"),
        )
        target = rng.integers(0, 20, size=(3, 16, 16)).astype("uint8")
        np.save(_mkdir(root / "ANNOTATIONS") / f"TARGET_{patch}.npy", target)
        np.save(
            _mkdir(root / "INSTANCE_ANNOTATIONS") / f"INSTANCES_{patch}.npy",
            rng.integers(0, 9, size=(16, 16)).astype("int64"),
        )
        x0, y0 = 650000.0 + 1280.0 * n, 6860000.0
        ring = [[x0, y0], [x0 + 1280, y0], [x0 + 1280, y0 + 1280], [x0, y0 + 1280], [x0, y0]]
        features.append({
            "type": "Feature",
            "properties": {"ID_PATCH": patch, "Fold": n + 1, "TILE": "t31tfm",
                           "N_Parcel": 9, "Parcel_Cover": 0.5, "dates-S2": dates},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        })  # fmt: skip
    metadata = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": features,
    }
    (root / "metadata.geojson").write_text(json.dumps(metadata))
    return root


DIOR_IMAGES = {  # image number -> (split, [(class, xmin, ymin, xmax, ymax)])
    "00001": ("train", [("airplane", 2, 2, 8, 8), ("vehicle", 9, 9, 14, 14)]),
    "00002": ("train", [("ship", 1, 3, 6, 9), ("Expressway-toll-station", 8, 1, 15, 7)]),
    "00003": ("val", [("airplane", 4, 4, 12, 12)]),
    "00004": ("val", [("ship", 0, 0, 5, 5), ("vehicle", 6, 6, 10, 10)]),
    "11726": ("test", [("airplane", 3, 3, 9, 9), ("ship", 10, 10, 15, 15)]),
    "11727": ("test", [("vehicle", 1, 1, 4, 4)]),
}


def dior(root: Path) -> Path:
    """JPEGImages-trainval|test/<n>.jpg, Annotations/HBB/<n>.xml (Pascal VOC) and
    ImageSets/Main/{train,val,test}.txt, with 16×16 JPEGs."""
    rng = np.random.default_rng(SEED)
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for number, (split, boxes) in DIOR_IMAGES.items():
        folder = "JPEGImages-test" if split == "test" else "JPEGImages-trainval"
        _jpg(root / folder / f"{number}.jpg", rng.integers(0, 255, (3, 16, 16)).astype("uint8"))
        objects = "".join(
            f"<object><name>{name}</name><pose>Unspecified</pose><bndbox><xmin>{a}</xmin>"
            f"<ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
            for name, a, b, c, d in boxes
        )
        xml = (
            f"<annotation><filename>{number}.jpg</filename><source><database>DIOR</database>"
            f"</source><size><width>16</width><height>16</height><depth>3</depth></size>"
            f"{objects}</annotation>"
        )
        (_mkdir(root / "Annotations" / "HBB") / f"{number}.xml").write_text(xml)
        splits[split].append(number)
    for split, numbers in splits.items():
        (_mkdir(root / "ImageSets" / "Main") / f"{split}.txt").write_text("\n".join(numbers) + "\n")
    return root


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


MINIATURES: dict[str, Callable[[Path], Path]] = {
    "eurosat": eurosat,
    "eurosat-rgb": eurosat_rgb,
    "bigearthnet-v2": bigearthnet,
    "sen12ms": sen12ms,
    "pastis": pastis,
    "dior": dior,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: miniatures.py DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    for name, make in MINIATURES.items():
        make(out / name)
        print(json.dumps({"recipe": name, "folder": str(out / name)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
