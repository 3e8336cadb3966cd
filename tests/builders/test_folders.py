"""The classification-folders builder: one Item per chip, class from the folder name."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eotdl.builders.folders import ClassificationFoldersBuilder
from eotdl.catalog.validate import Validator
from eotdl.catalog.vocabulary import LABEL_EXT, ML_AOI_EXT
from eotdl.errors import InputError
from rastergen import write_tif


def write_png(path: Path, value: int = 1, size: int = 8) -> Path:
    """A non-georeferenced RGB PNG chip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = {"driver": "PNG", "width": size, "height": size, "count": 3, "dtype": "uint8"}
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.full((3, size, size), value, dtype="uint8"))
    return path


def build(source: Path, tmp_path: Path, **options) -> tuple[list[dict], dict]:
    builder = ClassificationFoldersBuilder(str(source), "chips", tmp_path / "work", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        items = list(builder.items())
    return items, builder.collection()


def assert_valid(obj: dict) -> None:
    problems = Validator().validate_object(obj, "test")
    assert not problems, "\n".join(p.format() for p in problems)


def full_collection(base: dict) -> dict:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": "chips",
        "links": [],
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [[None, None]]},
        },
        **base,
    }


@pytest.fixture
def eurosat(tmp_path: Path) -> Path:
    root = tmp_path / "eurosat"
    write_tif(root / "River" / "River_2.tif", seed=2, bands=3, size=16)
    write_tif(root / "River" / "River_1.tif", seed=1, bands=3, size=16, offset=(200.0, 0.0))
    write_tif(root / "Forest" / "Forest_1.tif", seed=3, bands=3, size=16, offset=(400.0, 0.0))
    write_png(root / "Forest" / "snapshot.png")
    (root / "Forest" / "notes.txt").write_text("not a chip")
    (root / "README.md").write_text("top-level files are ignored")
    write_tif(root / ".hidden" / "x.tif", bands=1, size=8)
    return root


def test_one_item_per_chip_with_its_class(eurosat: Path, tmp_path: Path):
    items, collection = build(eurosat, tmp_path, datetime="2018-06-01")
    assert [i["id"] for i in items] == [
        "Forest-Forest_1",
        "Forest-snapshot",
        "River-River_1",
        "River-River_2",
    ]
    for item in items:
        assert_valid(item)
        props = item["properties"]
        assert props["class"] == item["id"].split("-")[0]
        assert props["label:type"] == "vector"
        assert props["label:tasks"] == ["classification"]
        assert props["label:properties"] == ["class"]
        assert props["label:classes"] == [{"name": "class", "classes": ["Forest", "River"]}]
        assert props["datetime"] == "2018-06-01T00:00:00Z"
        assert LABEL_EXT in item["stac_extensions"] and ML_AOI_EXT in item["stac_extensions"]
        image = item["assets"]["image"]
        assert image["roles"] == ["data"] and image["ml-aoi:role"] == "feature"
        assert Path(image["href"]).is_absolute()
        [link] = item["links"]
        assert (link["rel"], link["href"], link["type"]) == ("source", image["href"], image["type"])
    assert collection["summaries"]["label:classes"][0]["classes"] == ["Forest", "River"]
    assert_valid(full_collection(collection))


def test_png_chip_without_georeferencing_has_null_geometry(eurosat: Path, tmp_path: Path):
    items, _ = build(eurosat, tmp_path, datetime="2018-06-01")
    png = next(i for i in items if i["id"] == "Forest-snapshot")
    assert png["geometry"] is None and "bbox" not in png
    assert png["properties"]["proj:shape"] == [8, 8]
    assert png["assets"]["image"]["type"] == "image/png"
    tif = next(i for i in items if i["id"] == "River-River_1")
    assert tif["geometry"]["type"] == "Polygon" and len(tif["bbox"]) == 4


def test_same_items_every_time(eurosat: Path, tmp_path: Path):
    first, _ = build(eurosat, tmp_path / "a", datetime="2018-06-01")
    second, _ = build(eurosat, tmp_path / "b", datetime="2018-06-01")
    assert first == second


def test_datetime_from_file_name_or_refused(tmp_path: Path):
    root = tmp_path / "src"
    write_tif(root / "Crop" / "crop_20190704.tif", bands=1, size=8)
    items, _ = build(root, tmp_path)
    assert items[0]["properties"]["datetime"] == "2019-07-04T00:00:00Z"
    write_tif(root / "Crop" / "undated.tif", bands=1, size=8)
    with pytest.raises(InputError, match="--datetime"):
        build(root, tmp_path)


def test_empty_class_folder_is_skipped_with_a_warning(tmp_path: Path):
    root = tmp_path / "src"
    write_tif(root / "Sea" / "a.tif", bands=1, size=8)
    (root / "Empty").mkdir()
    builder = ClassificationFoldersBuilder(str(root), "x", tmp_path, datetime="2020-01-01")
    with pytest.warns(UserWarning, match="Empty"):
        items = list(builder.items())
    assert items[0]["properties"]["label:classes"][0]["classes"] == ["Sea"]


def test_extensions_option_picks_the_chips(eurosat: Path, tmp_path: Path):
    items, _ = build(eurosat, tmp_path, datetime="2018-06-01", extensions="png")
    assert [i["id"] for i in items] == ["Forest-snapshot"]


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("file", "not a folder"),
        ("flat", "no class sub-folders"),
        ("no-chips", "no chips"),
    ],
)
def test_bad_layouts_are_refused(tmp_path: Path, layout: str, message: str):
    root = tmp_path / "src"
    if layout == "file":
        root.parent.mkdir(parents=True, exist_ok=True)
        root.write_text("x")
    elif layout == "flat":
        write_tif(root / "a.tif", bands=1, size=8)
    else:
        (root / "A").mkdir(parents=True)
        (root / "A" / "x.txt").write_text("x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match=message):
            build(root, tmp_path)


def test_corrupt_chip_is_named(tmp_path: Path):
    root = tmp_path / "src"
    write_tif(root / "A" / "good.tif", bands=1, size=8)
    (root / "A" / "bad.tif").write_bytes(b"II*\x00 truncated")
    with pytest.raises(InputError, match="bad.tif"):
        build(root, tmp_path, datetime="2020-01-01")


def test_truncated_png_is_refused(tmp_path: Path):
    root = tmp_path / "src"
    chip = write_png(root / "A" / "chip.png", size=64)
    chip.write_bytes(chip.read_bytes()[:-40])
    with pytest.raises(InputError, match="chip.png"):
        build(root, tmp_path, datetime="2020-01-01")


def test_two_chips_with_one_id_are_refused(tmp_path: Path):
    root = tmp_path / "src"
    write_tif(root / "A" / "x.tif", bands=1, size=8)
    write_png(root / "A" / "x.png")
    with pytest.raises(InputError, match="same item id"):
        build(root, tmp_path, datetime="2020-01-01")


def test_odd_names_give_safe_ids(tmp_path: Path):
    root = tmp_path / "src"
    write_tif(root / "Herbaceous vegetation" / ".a b#1.tif", bands=1, size=8)
    write_tif(root / "Herbaceous vegetation" / "c d#1.tif", bands=1, size=8)
    items, _ = build(root, tmp_path, datetime="2020-01-01")
    assert [i["id"] for i in items] == ["Herbaceous_vegetation-c_d_1"]
    assert items[0]["properties"]["class"] == "Herbaceous vegetation"
