"""Planted label defects: undeclared and unused classes, classes missing from a split, chip
classes in properties, vector labels."""

from __future__ import annotations

import json

from qacases import NAME, edit_item, edit_items, items, replace_asset, write_mask

from eotdl.qa import run_qa

pytest_plugins = ["qacases"]


def _run(lab, *checks):
    return run_qa(lab, NAME, checks=list(checks), eda=False)


def test_mask_value_not_declared_is_caught(lab, tmp_path):
    item = items(lab)[2]
    mask = write_mask(tmp_path / "m.tif", [0, 1, 2, 7], seed=2, offset=(2 * 1000.0, 0.0))
    replace_asset(lab, item["id"], "labels", mask)
    report = _run(lab, "classes")
    assert [(f.code, f.object) for f in report.errors] == [
        ("class-undeclared", f"item:{item['id']}")
    ]
    assert "7" in report.errors[0].message


def test_declared_class_never_used_is_caught(lab):
    def declare_more(item):
        item["properties"]["label:classes"][0]["classes"].append("3")
        return item

    edit_items(lab, declare_more)
    report = _run(lab, "classes")
    assert report.errors == []
    assert [(f.code, f.message) for f in report.findings] == [
        ("class-unused", "class(es) 3 are declared in label:classes but never used")
    ]


def test_class_missing_from_test_split(lab, tmp_path):
    for item in items(lab):
        if item["properties"]["ml-aoi:split"] == "test":
            index = int(item["id"][1])
            mask = write_mask(
                tmp_path / f"{index}.tif", [0, 1], seed=index, offset=(index * 1000.0, 0)
            )
            replace_asset(lab, item["id"], "labels", mask)
    report = _run(lab, "classes")
    assert [(f.code, f.message) for f in report.findings] == [
        ("class-split-gap", "class(es) 2 appear in train but not test")
    ]


def test_label_items_without_declared_classes(lab):
    def undeclare(item):
        del item["properties"]["label:classes"]
        return item

    edit_items(lab, undeclare)
    folder = lab.dataset(NAME)
    collection = folder.read_collection()
    del collection["summaries"]["label:classes"]
    folder.write_collection(collection)
    assert [f.code for f in _run(lab, "classes").findings] == ["classes-undeclared"]


def test_chip_classes_in_properties(lab):
    def classify(item):
        index = int(item["id"][1])
        item["properties"]["label:classes"] = [{"name": "class", "classes": ["water", "forest"]}]
        item["properties"]["label:type"] = "vector"
        item["properties"]["label:properties"] = ["class"]
        item["properties"]["class"] = "urban" if index == 5 else ("water", "forest")[index % 2]
        del item["assets"]["labels"]
        return item

    edit_items(lab, classify)
    folder = lab.dataset(NAME)
    collection = folder.read_collection()
    collection["summaries"]["label:classes"] = [{"name": "class", "classes": ["water", "forest"]}]
    folder.write_collection(collection)
    report = _run(lab, "classes")
    assert [(f.code, f.object) for f in report.errors] == [("class-undeclared", "item:t5_20230615")]
    assert {f.message for f in report.warnings} == {
        "class(es) forest appear in train but not validate",
        "class(es) urban appear in validate but not train",
    }
    eda = run_qa(lab, NAME, checks=["classes"]).eda
    assert eda is not None
    assert eda["classes"]["counts"] == {"forest": 3, "urban": 1, "water": 4}
    assert eda["classes"]["area_m2"]["water"] > 4 * 0.9 * 640 * 640


def test_vector_labels(lab, tmp_path):
    item = items(lab)[0]
    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"landuse": value},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[1.39, 43.606], [1.391, 43.606], [1.391, 43.607], [1.39, 43.606]]
                    ],
                },
            }
            for value in ("farm", "farm", "road")
        ],
    }
    path = tmp_path / "labels.geojson"
    path.write_text(json.dumps(features))
    replace_asset(lab, item["id"], "labels", path, media_type="application/geo+json")

    def vector(i):
        i["assets"]["labels"]["roles"] = ["labels"]
        i["properties"]["label:type"] = "vector"
        i["properties"]["label:classes"] = [{"name": "landuse", "classes": ["farm", "forest"]}]

    edit_item(lab, item["id"], vector)
    report = _run(lab, "classes")
    messages = {(f.code, f.message) for f in report.findings}
    assert (
        "class-undeclared",
        "class(es) road are used but not declared in label:classes 'landuse'",
    ) in messages
    assert (
        "class-unused",
        "class(es) forest are declared in label:classes 'landuse' but never used",
    ) in messages
