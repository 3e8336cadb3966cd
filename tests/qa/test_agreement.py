"""Agreement between annotators: textbook kappa values, IoU of boxes and areas, the queue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eotdl.catalog.labelfile import read_label_file
from eotdl.errors import InputError
from eotdl.qa.agreement import agreement, box_iou, cohen_kappa, fleiss_kappa


def test_cohen_kappa_textbook_example():
    # 50 subjects: both yes 20, both no 15, A yes B no 5, A no B yes 10 -> kappa = 0.4
    a = ["yes"] * 20 + ["no"] * 15 + ["yes"] * 5 + ["no"] * 10
    b = ["yes"] * 20 + ["no"] * 15 + ["no"] * 5 + ["yes"] * 10
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)


def test_fleiss_kappa_example_of_fleiss_1971_layout():
    # 10 subjects, 14 raters, 5 categories (the classic worked example): kappa = 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    subjects = [[c for c, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(subjects) == pytest.approx(0.210, abs=5e-4)


def test_box_iou():
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    assert box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0


def _file(path: Path, task: str, who: str, chips: dict, shapes: list | None = None) -> Path:
    features = []
    for item_id, label in chips.items():
        properties = {
            "item_id": item_id,
            "annotator": who,
            "time": "2026-01-01T00:00:00Z",
            "task": task,
            "kind": "chip",
            "status": "labelled",
        }
        if label is not None:
            properties["class"] = label
        features.append({"type": "Feature", "geometry": None, "properties": properties})
    for item_id, kind, label, pixels in shapes or []:
        key = "pixel_bbox" if kind == "box" else "pixel_polygon"
        features.append(
            {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "item_id": item_id,
                    "annotator": who,
                    "time": "2026-01-01T00:00:00Z",
                    "task": task,
                    "kind": kind,
                    "class": label,
                    key: pixels,
                },
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_classification_agreement_two_and_three_annotators(tmp_path: Path):
    a = _file(tmp_path / "a.geojson", "classification", "ann", {"x": "cat", "y": "dog", "z": "cat"})
    b = _file(tmp_path / "b.geojson", "classification", "bob", {"x": "cat", "y": "cat", "z": "cat"})
    c = _file(tmp_path / "c.geojson", "classification", "cy", {"x": "cat", "y": "dog", "z": "cat"})
    two = agreement([read_label_file(a), read_label_file(b)])
    assert two.method == "Cohen's kappa"
    assert [d["item_id"] for d in two.disagreements] == ["y"]
    assert two.items == {"x": 1.0, "y": 0.0, "z": 1.0}
    three = agreement([read_label_file(p) for p in (a, b, c)])
    assert three.method == "Fleiss' kappa" and three.overall is not None
    assert three.items["y"] == pytest.approx(1 / 3)
    assert three.queue()["items"][0]["item_id"] == "y"


def test_detection_and_segmentation_iou(tmp_path: Path):
    a = _file(
        tmp_path / "a.json",
        "detection",
        "ann",
        {"x": None, "y": None},
        [("x", "box", "car", [0, 0, 4, 4]), ("y", "box", "car", [0, 0, 2, 2])],
    )
    b = _file(
        tmp_path / "b.json",
        "detection",
        "bob",
        {"x": None, "y": None},
        [("x", "box", "car", [0, 0, 4, 4]), ("y", "box", "boat", [0, 0, 2, 2])],
    )
    result = agreement([read_label_file(a), read_label_file(b)])
    assert result.items == {"x": 1.0, "y": 0.0}  # another class never matches
    assert [d["item_id"] for d in result.disagreements] == ["y"]
    square = [[0, 0], [4, 0], [4, 4], [0, 4]]
    half = [[0, 0], [2, 0], [2, 4], [0, 4]]
    s1 = _file(
        tmp_path / "s1.json",
        "segmentation",
        "ann",
        {"x": None},
        [("x", "polygon", "water", square)],
    )
    s2 = _file(
        tmp_path / "s2.json", "segmentation", "bob", {"x": None}, [("x", "polygon", "water", half)]
    )
    seg = agreement([read_label_file(s1), read_label_file(s2)])
    assert seg.items["x"] == pytest.approx(0.5)


def test_one_annotator_is_a_clear_error(tmp_path: Path):
    a = _file(tmp_path / "a.json", "classification", "ann", {"x": "cat"})
    with pytest.raises(InputError, match="at least two annotators"):
        agreement([read_label_file(a)])


def test_agree_files_records_only_for_a_dataset(tmp_path: Path):
    from eotdl.catalog.lab import init_lab
    from eotdl.qa.agreement_store import agree_files, labels_folder

    a = _file(tmp_path / "a.json", "classification", "ann", {"x": "cat", "y": "dog"})
    b = _file(tmp_path / "b.json", "classification", "bob", {"x": "cat", "y": "cat"})
    lab = init_lab(tmp_path / "lab")
    result, folder = agree_files([a, b], lab=lab)
    assert folder is None and [d["item_id"] for d in result.disagreements] == ["y"]
    assert not (lab.root / ".eotdl").exists()
    result, folder = agree_files([a, b], threshold=0.5, lab=lab, name="ds")
    assert folder == labels_folder(lab, "ds") and any(folder.iterdir())
