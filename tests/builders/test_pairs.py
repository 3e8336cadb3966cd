"""The segmentation-pairs builder: images/ and masks/ matched by stem, checked, classed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eotdl.builders.pairs import SegmentationPairsBuilder, load_class_map
from eotdl.catalog.validate import Validator
from eotdl.catalog.vocabulary import CLASSIFICATION_EXT
from eotdl.errors import InputError
from rastergen import write_mask, write_tif

CLASSES = "0: background\n1: water\n2: forest\n"


def assert_valid(obj: dict) -> None:
    problems = Validator().validate_object(obj, "test")
    assert not problems, "\n".join(p.format() for p in problems)


def make_pairs(root: Path, n: int = 3, values=(0, 1, 2)) -> Path:
    for i in range(n):
        offset = (i * 320.0, 0.0)
        write_tif(root / "images" / f"tile_{i}.tif", seed=i, bands=3, size=32, offset=offset)
        write_mask(root / "masks" / f"tile_{i}.tif", list(values), seed=i, size=32, offset=offset)
    return root


def build(source: Path, tmp_path: Path, **options) -> tuple[list[dict], dict]:
    builder = SegmentationPairsBuilder(str(source), "seg", tmp_path / "work", **options)
    items = list(builder.items())
    return items, builder.collection()


@pytest.fixture
def classes_file(tmp_path: Path) -> Path:
    path = tmp_path / "classes.yaml"
    path.write_text(CLASSES)
    return path


def test_pairs_become_label_items(tmp_path: Path, classes_file: Path):
    root = make_pairs(tmp_path / "src")
    items, collection = build(root, tmp_path, classes=classes_file, datetime="2021-03-04")
    assert [i["id"] for i in items] == ["tile_0", "tile_1", "tile_2"]
    expected = [
        {"value": 0, "name": "background", "description": "background"},
        {"value": 1, "name": "water", "description": "water"},
        {"value": 2, "name": "forest", "description": "forest"},
    ]
    for item in items:
        assert_valid(item)
        props = item["properties"]
        assert props["label:type"] == "raster"
        assert props["label:tasks"] == ["segmentation"]
        assert props["label:properties"] is None
        assert props["label:classes"] == [
            {"name": None, "classes": ["background", "water", "forest"]}
        ]
        [overview] = props["label:overviews"]
        assert sum(c["count"] for c in overview["counts"]) == 32 * 32
        labels = item["assets"]["labels"]
        assert labels["roles"] == ["labels"] and labels["ml-aoi:role"] == "label"
        assert labels["href"] == str((root / "masks" / f"{item['id']}.tif").resolve())
        assert labels["classification:classes"] == expected
        assert CLASSIFICATION_EXT in item["stac_extensions"]
        assert item["links"][0]["href"] == item["assets"]["image"]["href"]
    collection.update(
        type="Collection",
        stac_version="1.0.0",
        id="seg",
        links=[],
        extent={
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [[None, None]]},
        },
    )
    assert_valid(collection)
    assert collection["item_assets"]["labels"]["classification:classes"] == expected


def test_same_items_every_time(tmp_path: Path, classes_file: Path):
    root = make_pairs(tmp_path / "src")
    first, _ = build(root, tmp_path / "a", classes=classes_file, datetime="2021-03-04")
    second, _ = build(root, tmp_path / "b", classes=classes_file, datetime="2021-03-04")
    assert first == second


def test_class_map_inferred_with_a_warning(tmp_path: Path):
    root = make_pairs(tmp_path / "src", n=1, values=(3, 7))
    builder = SegmentationPairsBuilder(str(root), "seg", tmp_path, datetime="2021-03-04")
    with pytest.warns(UserWarning, match="inferred"):
        items = list(builder.items())
    props = items[0]["properties"]
    assert props["label:classes"] == [{"name": None, "classes": ["3", "7"]}]
    assert "inferred" in props["label:description"]
    assert "inferred" in builder.collection()["description"]


def test_value_missing_from_class_map_is_named(tmp_path: Path):
    root = make_pairs(tmp_path / "src", n=2, values=(0, 1, 5))
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"0": "background", "1": "water"}))
    with pytest.raises(InputError, match=r"tile_0.tif \(values 5\)") as err:
        build(root, tmp_path, classes=path, datetime="2021-03-04")
    assert "tile_1.tif" in str(err.value)


def test_unpaired_files_are_listed(tmp_path: Path, classes_file: Path):
    root = make_pairs(tmp_path / "src", n=2)
    write_tif(root / "images" / "lonely.tif", bands=3, size=32)
    write_mask(root / "masks" / "orphan.tif", [0], size=32)
    with pytest.raises(InputError) as err:
        build(root, tmp_path, classes=classes_file, datetime="2021-03-04")
    assert "image(s) without a mask: lonely" in str(err.value)
    assert "mask(s) without an image: orphan" in str(err.value)


def test_mask_suffix_matches_names(tmp_path: Path, classes_file: Path):
    root = tmp_path / "src"
    write_tif(root / "images" / "a.tif", bands=3, size=16)
    write_mask(root / "masks" / "a_mask.tif", [0, 1], size=16)
    items, _ = build(
        root, tmp_path, classes=classes_file, mask_suffix="_mask", datetime="2020-01-01"
    )
    assert items[0]["assets"]["labels"]["href"].endswith("a_mask.tif")


@pytest.mark.parametrize(
    ("mask_kw", "message"),
    [
        ({"size": 16}, "16x16 pixels, but its image"),
        ({"offset": (10.0, 0.0)}, "transform differs"),
        ({"crs": "EPSG:32630"}, "CRS EPSG:32630 differs"),
    ],
)
def test_masks_must_line_up_with_their_image(
    tmp_path: Path, classes_file: Path, mask_kw: dict, message: str
):
    root = tmp_path / "src"
    write_tif(root / "images" / "a.tif", bands=3, size=32)
    kw = {"size": 32, **mask_kw}
    write_mask(root / "masks" / "a.tif", [0, 1], **kw)
    with pytest.raises(InputError, match=message):
        build(root, tmp_path, classes=classes_file, datetime="2021-03-04")


def test_mask_must_be_one_integer_band(tmp_path: Path, classes_file: Path):
    root = tmp_path / "src"
    write_tif(root / "images" / "a.tif", bands=3, size=16)
    write_tif(root / "masks" / "a.tif", bands=2, size=16)
    with pytest.raises(InputError, match="one band"):
        build(root, tmp_path, classes=classes_file, datetime="2021-03-04")
    write_tif(root / "masks" / "a.tif", bands=1, size=16, dtype="float32")
    with pytest.raises(InputError, match="float32, expected integers"):
        build(root, tmp_path, classes=classes_file, datetime="2021-03-04")


def test_mask_nodata_needs_no_class(tmp_path: Path, classes_file: Path):
    root = tmp_path / "src"
    write_tif(root / "images" / "a.tif", bands=3, size=16)
    data = np.full((1, 16, 16), 255, dtype="uint8")
    data[0, :8] = 1
    write_tif(root / "masks" / "a.tif", data=data, nodata=255)
    items, _ = build(root, tmp_path, classes=classes_file, datetime="2021-03-04")
    assert items[0]["properties"]["label:overviews"][0]["counts"] == [
        {"name": "water", "count": 128}
    ]


def test_png_mask_for_a_geotiff_image(tmp_path: Path, classes_file: Path):
    root = tmp_path / "src"
    write_tif(root / "images" / "a.tif", bands=3, size=16)
    (root / "masks").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = {"driver": "PNG", "width": 16, "height": 16, "count": 1, "dtype": "uint8"}
        with rasterio.open(root / "masks" / "a.png", "w", **profile) as dst:
            dst.write(np.ones((1, 16, 16), dtype="uint8"))
        items, _ = build(root, tmp_path, classes=classes_file, datetime="2021-03-04")
    assert items[0]["assets"]["labels"]["type"] == "image/png"
    assert_valid(items[0])


def test_corrupt_mask_is_named(tmp_path: Path, classes_file: Path):
    root = make_pairs(tmp_path / "src", n=1)
    (root / "masks" / "tile_0.tif").write_bytes(b"II*\x00 broken")
    with pytest.raises(InputError, match="tile_0.tif"):
        build(root, tmp_path, classes=classes_file, datetime="2021-03-04")


def test_missing_folders_are_refused(tmp_path: Path):
    (tmp_path / "src" / "images").mkdir(parents=True)
    with pytest.raises(InputError, match="masks: no such folder"):
        build(tmp_path / "src", tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("water: 1\n", "not an integer mask value"),
        ("[1, 2]\n", "expected a mapping"),
        ("0: a\n1: a\n", "given to several values"),
        ("0: [\n", "not a YAML or JSON file"),
    ],
)
def test_bad_class_maps_are_refused(tmp_path: Path, text: str, message: str):
    path = tmp_path / "classes.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_class_map(path)


def test_class_map_as_list_of_objects(tmp_path: Path):
    path = tmp_path / "classes.json"
    path.write_text(json.dumps([{"value": 2, "name": "b"}, {"value": 1, "description": "a"}]))
    assert load_class_map(path) == {1: "a", 2: "b"}
