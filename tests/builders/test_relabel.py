"""`eotdl labels apply`: label files become dataset changes, or are refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eotdl.builders.relabel import apply_labels
from eotdl.catalog.validate import validate_target
from eotdl.errors import InputError
from labs import Dataset, make_lab

TIME = "2026-12-01T10:00:00Z"


def chip(item_id: str, task: str, who: str = "ann", status: str = "labelled", **more) -> dict:
    properties = {
        "item_id": item_id,
        "annotator": who,
        "time": TIME,
        "task": task,
        "kind": "chip",
        "status": status,
        **more,
    }
    return {"type": "Feature", "geometry": None, "properties": properties}


def shape(item_id: str, task: str, kind: str, label: str, pixels: list, who: str = "ann") -> dict:
    key = "pixel_bbox" if kind == "box" else "pixel_polygon"
    properties = {
        "item_id": item_id,
        "annotator": who,
        "time": TIME,
        "task": task,
        "kind": kind,
        "class": label,
        key: pixels,
    }
    return {"type": "Feature", "geometry": None, "properties": properties}


def write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.path.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def chips(tmp_path_factory):
    root = tmp_path_factory.mktemp("chips")
    return make_lab(root, [Dataset("chips", "classification_folders")])


def test_classification_labels_change_the_class_and_record_provenance(chips, tmp_path):
    recipe = chips.dataset("chips").recipe_path.read_bytes()
    items = list(chips.dataset("chips").iter_items())
    first, second = items[0], items[1]
    new = "River" if first["properties"]["class"] != "River" else "Forest"
    path = write(
        tmp_path / "labels.geojson",
        [
            chip(first["id"], "classification", **{"class": new}),
            chip(second["id"], "classification", **{"class": second["properties"]["class"]}),
            chip(items[2]["id"], "classification", status="unsure"),
        ],
    )
    result = apply_labels(chips, "chips", path, version="1.1.0")
    assert result.changed == [first["id"]] and result.unchanged == 1 and result.skipped == 1
    after = {i["id"]: i for i in chips.dataset("chips").iter_items()}
    assert after[first["id"]]["properties"]["class"] == new
    assert after[first["id"]]["properties"]["eotdl:annotator"] == "ann"
    assert "eotdl:annotator" not in after[second["id"]]["properties"]
    collection = chips.dataset("chips").read_collection()
    assert collection["version"] == "1.1.0"
    assert collection["eotdl:label_files"][-1]["sha256"] == result.sha256
    assert result.sha256[:16] in json.dumps(collection["providers"])
    assert validate_target(str(chips.dataset("chips").path)).ok
    assert chips.dataset("chips").recipe_path.read_bytes() == recipe  # kept as it was


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([chip("nope", "classification", **{"class": "River"})], "unknown item ids"),
        ([chip("ID", "classification", **{"class": "<script>x</script>"})], "not declared"),
        (
            [
                chip(
                    "ID", "classification", who="<img src=x onerror=alert(1)>", **{"class": "River"}
                )
            ],
            "annotator",
        ),
        ([chip("ID", "detection")], "detection labels"),
        ([{"type": "Feature", "properties": None}], "feature 0: no properties"),
        ([], "no labels"),
    ],
)
def test_bad_label_files_are_refused_and_nothing_is_written(chips, tmp_path, features, message):
    item_id = next(chips.dataset("chips").iter_items())["id"]
    text = json.dumps(features).replace('"ID"', json.dumps(item_id))
    path = write(tmp_path / "bad.geojson", json.loads(text))
    before = snapshot(chips.dataset("chips"))
    with pytest.raises(InputError, match=message):
        apply_labels(chips, "chips", path)
    assert snapshot(chips.dataset("chips")) == before


def test_not_json_and_huge_files_are_refused(chips, tmp_path, monkeypatch):
    path = tmp_path / "x.geojson"
    path.write_text("{not json")
    with pytest.raises(InputError, match="not JSON"):
        apply_labels(chips, "chips", path)
    from eotdl.catalog import labelfile

    monkeypatch.setattr(labelfile, "MAX_BYTES", 10)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(InputError, match="more than a label file may hold"):
        apply_labels(chips, "chips", path)


def test_detection_boxes_become_a_new_label_asset(tmp_path):
    lab = make_lab(tmp_path, [Dataset("boxes", "detection")])
    folder = lab.dataset("boxes")
    old = {i["id"]: i for i in folder.iter_items()}
    item_id = sorted(old)[0]
    path = write(
        tmp_path / "boxes.geojson",
        [
            chip(item_id, "detection"),
            shape(item_id, "detection", "box", "car", [1, 1, 5, 4]),
            shape(item_id, "detection", "box", "boat", [8, 8, 12, 15.5]),
        ],
    )
    result = apply_labels(lab, "boxes", path, version="2.0.0")
    assert result.changed == [item_id]
    item = {i["id"]: i for i in folder.iter_items()}[item_id]
    asset = item["assets"]["labels"]
    assert asset["href"] != old[item_id]["assets"]["labels"]["href"]
    assert asset["file:checksum"].startswith("1220") and asset["title"] == "2 bounding boxes"
    stored = json.loads((folder.path / asset["href"]).read_bytes())
    assert [f["properties"]["pixel_bbox"] for f in stored["features"]] == [
        [1, 1, 5, 4],
        [8, 8, 12, 15.5],
    ]
    assert stored["features"][0]["geometry"]["type"] == "Polygon"  # placed on Earth (WGS84)
    counts = item["properties"]["label:overviews"][0]["counts"]
    assert {c["name"]: c["count"] for c in counts} == {"boat": 1, "car": 1}
    outside = write(
        tmp_path / "outside.geojson",
        [chip(item_id, "detection"), shape(item_id, "detection", "box", "car", [10, 10, 40, 12])],
    )
    with pytest.raises(InputError, match="outside their chip"):
        apply_labels(lab, "boxes", outside)


def test_segmentation_polygons_are_rasterised_on_the_chip_grid(tmp_path):
    import rasterio

    lab = make_lab(tmp_path, [Dataset("tiles", "segmentation_pairs")])
    folder = lab.dataset("tiles")
    item_id = sorted(i["id"] for i in folder.iter_items())[0]
    path = write(
        tmp_path / "seg.geojson",
        [
            chip(item_id, "segmentation"),
            shape(item_id, "segmentation", "polygon", "water", [[0, 0], [8, 0], [8, 16], [0, 16]]),
        ],
    )
    apply_labels(lab, "tiles", path, version="2.0.0")
    item = {i["id"]: i for i in folder.iter_items()}[item_id]
    with rasterio.open(folder.path / item["assets"]["labels"]["href"]) as src:
        mask = src.read(1)
        assert src.crs is not None and (src.width, src.height) == (16, 16)
    assert (mask[:, :8] == 1).all() and (mask[:, 8:] == 0).all()  # water is value 1


def test_agreement_figures_reach_the_qa_report(chips, tmp_path):
    from eotdl.catalog.labelfile import read_label_file
    from eotdl.qa.agreement import agreement
    from eotdl.qa.agreement_store import record_agreement, recorded_agreement
    from eotdl.qa.checks.labelling import check_labelling
    from eotdl.qa.context import QAContext

    ids = [i["id"] for i in chips.dataset("chips").iter_items()][:4]
    ann = write(
        tmp_path / "ann.geojson",
        [
            chip(i, "classification", **{"class": c})
            for i, c in zip(ids, ["River"] * 4, strict=True)
        ],
    )
    bob = write(
        tmp_path / "bob.geojson",
        [
            chip(i, "classification", who="bob", **{"class": c})
            for i, c in zip(ids, ["River", "River", "Forest", "Pasture"], strict=True)
        ],
    )
    result = agreement([read_label_file(ann), read_label_file(bob)])
    record_agreement(chips, "chips", result)
    figures = recorded_agreement(chips, "chips", ann)
    assert figures is not None and figures["method"] == "Cohen's kappa"
    apply_labels(chips, "chips", ann, version="1.3.0", agreement=figures)
    findings = list(check_labelling(QAContext(chips, "chips")))
    assert [f.code for f in findings][-1] == "labels-low-agreement"  # kappa 0 < 0.6
    assert "Cohen's kappa" in findings[-1].message
