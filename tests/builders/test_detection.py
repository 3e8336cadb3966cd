"""The detection builder: images plus GeoJSON or COCO boxes -> Items with GeoJSON labels."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import transform_geom

from eotdl.builders.detection import DetectionBuilder
from eotdl.catalog.validate import Validator
from eotdl.errors import InputError
from rastergen import CRS, ORIGIN, write_tif

SIZE = 32


def assert_valid(obj: dict) -> None:
    problems = Validator().validate_object(obj, "test")
    assert not problems, "\n".join(p.format() for p in problems)


def utm_box(offset: float, xmin: float, ymin: float, xmax: float, ymax: float) -> dict:
    """A pixel box of an image shifted ``offset`` metres east, in UTM coordinates."""
    x0, y0 = ORIGIN[0] + offset, ORIGIN[1]
    left, right = x0 + 10 * xmin, x0 + 10 * xmax
    top, bottom = y0 - 10 * ymin, y0 - 10 * ymax
    ring = [[left, bottom], [right, bottom], [right, top], [left, top], [left, bottom]]
    return {"type": "Polygon", "coordinates": [ring]}


def lonlat_box(offset: float, *pixels: float) -> dict:
    return transform_geom(CRS, "EPSG:4326", utm_box(offset, *pixels))


def feature(image: str, label: str, geometry: dict, **extra) -> dict:
    return {
        "type": "Feature",
        "properties": {"image": image, "class": label, **extra},
        "geometry": geometry,
    }


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    write_tif(root / "a.tif", seed=1, bands=3, size=SIZE)
    write_tif(root / "b.tif", seed=2, bands=3, size=SIZE, offset=(1000.0, 0.0))
    write_tif(root / "sub" / "c.tif", seed=3, bands=3, size=SIZE, offset=(2000.0, 0.0))
    return root


@pytest.fixture
def geojson_boxes(tmp_path: Path) -> Path:
    return write_json(
        tmp_path / "boxes.geojson",
        {
            "type": "FeatureCollection",
            "features": [
                feature("a.tif", "car", lonlat_box(0, 2, 3, 10, 12), score=0.9),
                feature("a.tif", "truck", lonlat_box(0, 20, 20, 30, 31)),
                feature("a.tif", "car", lonlat_box(0, 0, 0, 4, 4)),
                feature("sub/c.tif", "car", lonlat_box(2000, 5, 5, 6, 6)),
            ],
        },
    )


def build(source: Path, tmp_path: Path, **options) -> tuple[list[dict], dict]:
    builder = DetectionBuilder(str(source), "det", tmp_path / "work", **options)
    items = list(builder.items())
    return items, builder.collection()


def labels_of(item: dict) -> dict:
    return json.loads(Path(item["assets"]["labels"]["href"]).read_text())


def test_geojson_boxes(images: Path, geojson_boxes: Path, tmp_path: Path):
    items, collection = build(images, tmp_path, boxes=geojson_boxes, datetime="2022-01-01")
    assert [i["id"] for i in items] == ["a", "b", "sub-c"]
    for item in items:
        assert_valid(item)
        props = item["properties"]
        assert props["label:type"] == "vector"
        assert props["label:tasks"] == ["detection"]
        assert props["label:properties"] == ["class"]
        assert props["label:classes"] == [{"name": "class", "classes": ["car", "truck"]}]
        labels = item["assets"]["labels"]
        assert labels["type"] == "application/geo+json" and labels["roles"] == ["labels"]
    assert items[0]["properties"]["label:overviews"] == [
        {
            "property_key": "class",
            "counts": [{"name": "car", "count": 2}, {"name": "truck", "count": 1}],
        }
    ]
    first = labels_of(items[0])["features"]
    assert [f["properties"]["class"] for f in first] == ["car", "truck", "car"]
    assert first[0]["properties"]["score"] == 0.9
    assert np.allclose(first[0]["properties"]["pixel_bbox"], [2, 3, 10, 12], atol=1e-3)
    assert first[0]["geometry"]["type"] == "Polygon"
    assert labels_of(items[1]) == {"type": "FeatureCollection", "features": []}
    assert items[1]["properties"]["label:overviews"][0]["counts"] == []
    assert collection["summaries"]["label:classes"][0]["classes"] == ["car", "truck"]
    collection.update(
        type="Collection",
        stac_version="1.0.0",
        id="det",
        links=[],
        extent={
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [[None, None]]},
        },
    )
    assert_valid(collection)


def test_same_labels_every_time(images: Path, geojson_boxes: Path, tmp_path: Path):
    first, _ = build(images, tmp_path / "a", boxes=geojson_boxes, datetime="2022-01-01")
    second, _ = build(images, tmp_path / "b", boxes=geojson_boxes, datetime="2022-01-01")
    assert len(first) >= 2  # the loop below must compare something
    assert any(
        json.loads(Path(i["assets"]["labels"]["href"]).read_bytes())["features"] for i in first
    )
    for one, two in zip(first, second, strict=True):
        a_bytes = Path(one["assets"]["labels"]["href"]).read_bytes()
        assert a_bytes == Path(two["assets"]["labels"]["href"]).read_bytes()
        one["assets"]["labels"]["href"] = two["assets"]["labels"]["href"] = ""
        assert one == two


def test_skip_unlabelled(images: Path, geojson_boxes: Path, tmp_path: Path):
    items, _ = build(
        images, tmp_path, boxes=geojson_boxes, datetime="2022-01-01", skip_unlabelled=True
    )
    assert [i["id"] for i in items] == ["a", "sub-c"]


def test_boxes_in_the_image_crs(images: Path, tmp_path: Path):
    features = [feature("b.tif", "boat", utm_box(1000, 1, 1, 3, 3), note="x")]
    boxes = write_json(
        tmp_path / "utm.geojson", {"type": "FeatureCollection", "features": features}
    )
    items, _ = build(images, tmp_path, boxes=boxes, boxes_crs="image", datetime="2022-01-01")
    [box] = labels_of(items[1])["features"]
    assert np.allclose(box["properties"]["pixel_bbox"], [1, 1, 3, 3], atol=1e-6)
    lon, lat = box["geometry"]["coordinates"][0][0]
    assert 1.3 < lon < 1.5 and 43.5 < lat < 43.7
    legacy = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32631"}},
        "features": features,
    }
    items, _ = build(
        images, tmp_path, boxes=write_json(tmp_path / "l.geojson", legacy), datetime="2022-01-01"
    )
    [again] = labels_of(items[1])["features"]
    assert again["properties"]["pixel_bbox"] == box["properties"]["pixel_bbox"]


def coco(images: list[dict], annotations: list[dict]) -> dict:
    return {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "ship"}, {"id": 2, "name": "plane"}],
    }


def write_png(path: Path, size: int = SIZE) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = {"driver": "PNG", "width": size, "height": size, "count": 3, "dtype": "uint8"}
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.ones((3, size, size), dtype="uint8"))


def test_coco_boxes(images: Path, tmp_path: Path):
    write_png(images / "photo.png")
    data = coco(
        [
            {"id": 7, "file_name": "a.tif", "width": SIZE, "height": SIZE},
            {"id": 8, "file_name": "photo.png", "width": SIZE, "height": SIZE},
        ],
        [
            {"id": 1, "image_id": 7, "category_id": 2, "bbox": [2, 3, 8, 9], "iscrowd": 0},
            {"id": 2, "image_id": 8, "category_id": 1, "bbox": [0, 0, 32, 32]},
        ],
    )
    boxes = write_json(tmp_path / "coco.json", data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        items, _ = build(images, tmp_path, boxes=boxes, datetime="2022-01-01")
    assert [i["id"] for i in items] == ["a", "b", "photo", "sub-c"]
    [box] = labels_of(items[0])["features"]
    assert box["properties"] == {
        "annotation_id": 1,
        "class": "plane",
        "iscrowd": 0,
        "pixel_bbox": [2.0, 3.0, 10.0, 12.0],
    }
    expected = lonlat_box(0, 2, 3, 10, 12)
    assert np.allclose(
        sorted(map(tuple, box["geometry"]["coordinates"][0][:-1])),
        sorted(map(tuple, expected["coordinates"][0][:-1])),
        atol=1e-8,
    )
    photo = items[2]
    assert photo["geometry"] is None
    [whole] = labels_of(photo)["features"]
    assert whole["geometry"] is None and whole["properties"]["pixel_bbox"] == [0, 0, 32, 32]
    assert photo["properties"]["label:classes"][0]["classes"] == ["plane", "ship"]
    for item in items:
        assert_valid(item)


def test_coco_annotation_of_unknown_image(images: Path, tmp_path: Path):
    data = coco(
        [{"id": 7, "file_name": "a.tif"}],
        [{"id": 1, "image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]}],
    )
    with pytest.raises(InputError, match="image ids missing from 'images': 99"):
        build(images, tmp_path, boxes=write_json(tmp_path / "c.json", data))


def test_missing_images_are_listed(images: Path, tmp_path: Path):
    data = coco([{"id": 7, "file_name": "gone.tif"}, {"id": 8, "file_name": "lost.tif"}], [])
    with pytest.raises(InputError, match="2 image.*gone.tif.*lost.tif"):
        build(images, tmp_path, boxes=write_json(tmp_path / "c.json", data))
    features = [feature("nope.tif", "car", lonlat_box(0, 1, 1, 2, 2))]
    boxes = write_json(tmp_path / "g.geojson", {"type": "FeatureCollection", "features": features})
    with pytest.raises(InputError, match="nope.tif"):
        build(images, tmp_path, boxes=boxes)


@pytest.mark.parametrize("name", ["../secret.tif", "/etc/passwd", "sub/../../x.tif"])
def test_image_names_cannot_leave_the_source(images: Path, tmp_path: Path, name: str):
    write_tif(tmp_path / "secret.tif", bands=1, size=8)
    features = [feature(name, "car", lonlat_box(0, 1, 1, 2, 2))]
    boxes = write_json(tmp_path / "g.geojson", {"type": "FeatureCollection", "features": features})
    with pytest.raises(InputError, match="outside the source folder|not a relative path"):
        build(images, tmp_path, boxes=boxes)


def test_boxes_outside_the_image_are_refused(images: Path, tmp_path: Path):
    features = [feature("a.tif", "car", lonlat_box(0, 30, 30, 40, 40))]
    boxes = write_json(tmp_path / "g.geojson", {"type": "FeatureCollection", "features": features})
    with pytest.raises(InputError, match="feature 0: box .* lies outside image"):
        build(images, tmp_path, boxes=boxes, datetime="2022-01-01")
    data = coco(
        [{"id": 7, "file_name": "a.tif"}],
        [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [-5, 0, 3, 3]}],
    )
    with pytest.raises(InputError, match=r"annotations\[0\]: box .* lies outside"):
        build(images, tmp_path, boxes=write_json(tmp_path / "c.json", data), datetime="2022-01-01")


def test_coco_size_must_match_the_image(images: Path, tmp_path: Path):
    data = coco(
        [{"id": 7, "file_name": "a.tif", "width": 64, "height": 64}],
        [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 1, 3, 3]}],
    )
    with pytest.raises(InputError, match="is 32x32"):
        build(images, tmp_path, boxes=write_json(tmp_path / "c.json", data), datetime="2022-01-01")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "Feature"}, "neither a GeoJSON FeatureCollection nor COCO"),
        (
            {"type": "FeatureCollection", "features": [{"properties": {"class": "a"}}]},
            "no image name in property 'image'",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "properties": {"image": "a.tif", "class": "a"},
                        "geometry": {"type": "Point", "coordinates": [1, 2]},
                    }
                ],
            },
            "expected a Polygon",
        ),
        (
            coco(
                [{"id": 1, "file_name": "a.tif"}],
                [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 2]}],
            ),
            "positive size",
        ),
        (
            coco(
                [{"id": 1, "file_name": "a.tif"}],
                [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [1, 1, 1, 2]}],
            ),
            "category_id 5",
        ),
    ],
)
def test_malformed_boxes_are_refused(images: Path, tmp_path: Path, data: dict, message: str):
    with pytest.raises(InputError, match=message):
        build(images, tmp_path, boxes=write_json(tmp_path / "x.json", data))


def test_boxes_option_is_required(images: Path, tmp_path: Path):
    with pytest.raises(InputError, match="--boxes"):
        DetectionBuilder(str(images), "det", tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not a JSON file"):
        build(images, tmp_path, boxes=tmp_path / "bad.json")


def test_bad_boxes_crs_is_refused(images: Path, geojson_boxes: Path, tmp_path: Path):
    with pytest.raises(InputError, match="boxes CRS 'EPSG:99999' is not a CRS"):
        build(images, tmp_path, boxes=geojson_boxes, boxes_crs="EPSG:99999")
