"""The model as STAC: an MLM Item that validates offline, the job spec, the dataset link."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from conftest import lab_file
from eotdl.catalog.lab import Lab
from eotdl.catalog.validate import Validator, validate_target
from eotdl.catalog.vocabulary import MLM_EXT as MLM
from eotdl.train.mlm import mlm_name


def test_the_model_folder_validates_against_the_mlm_schema(
    chips_lab: Lab, chips_model: dict[str, Any], shared_mirror: Any
) -> None:
    folder = chips_lab.model("chips-small-cnn")
    report = validate_target(str(folder.path))
    assert report.ok, [p.format() for p in report.problems]
    assert report.checked == 2  # the collection and the one item
    assert MLM in chips_model["stac_extensions"]
    assert {p.name for p in folder.path.iterdir()} == {
        "collection.json",
        "items.ndjson",
        "README.md",
        "job.json",
    }


@pytest.mark.parametrize(
    "damage",
    [
        lambda i: i["assets"]["model"].pop("mlm:artifact_type"),
        lambda i: i["properties"].pop("mlm:input"),
        lambda i: i["properties"].__setitem__("mlm:tasks", ["guessing"]),
    ],
    ids=["no artifact type", "no input", "unknown task"],
)
def test_the_schema_really_checks_mlm(
    chips_model: dict[str, Any], shared_mirror: Any, damage: Any
) -> None:
    item = copy.deepcopy({k: v for k, v in chips_model.items() if not k.startswith("_")})
    assert Validator().validate_object(item, "model.json", expect="Feature") == []
    damage(item)
    assert Validator().validate_object(item, "model.json", expect="Feature")


def test_the_item_describes_inputs_outputs_and_where_it_came_from(
    chips_lab: Lab, chips_model: dict[str, Any]
) -> None:
    props = chips_model["properties"]
    (model_input,) = props["mlm:input"]
    assert model_input["input"]["shape"] == [-1, 4, 16, 16]
    assert model_input["bands"] == ["b1", "b2", "b3", "b4"]
    assert [s["type"] for s in model_input["value_scaling"]] == ["z-score"] * 4
    (output,) = props["mlm:output"]
    assert output["result"]["shape"] == [-1, 2]
    assert [c["name"] for c in output["classification:classes"]] == ["forest", "water"]
    assert props["mlm:framework"] == "PyTorch" and props["mlm:total_parameters"] > 1000
    assert props["eotdl:dataset"] == {"name": "chips", "version": "1.0.0"}
    link = next(li for li in chips_model["links"] if li["rel"] == "derived_from")
    assert link["title"] == "chips@1.0.0"
    target = (chips_lab.model("chips-small-cnn").path / link["href"]).resolve()
    assert target == chips_lab.dataset("chips").collection_path.resolve()
    model = chips_model["assets"]["model"]
    assert "mlm:model" in model["roles"] and model["mlm:artifact_type"] == "torch.save"
    weights = lab_file(chips_lab, "chips-small-cnn", model["href"])
    assert weights.stat().st_size == model["file:size"]
    assert "/objects/sha256/" in weights.as_posix()  # content-addressed
    job = lab_file(chips_lab, "chips-small-cnn", chips_model["assets"]["job"]["href"])
    saved = orjson.loads(job.read_bytes())
    assert saved == orjson.loads(
        (chips_lab.model("chips-small-cnn").path / "job.json").read_bytes()
    )
    assert saved["splits"] == {"train": "train", "validate": "validate", "test": "test"}
    card = chips_lab.model("chips-small-cnn").read_card()
    assert "| test |" in card.body and card.tasks == ["classification"]


@pytest.mark.parametrize(
    "name,expected",
    [("land-cover", "land-cover"), ("2024-model", "model-2024-model"), ("ab", "ab-model")],
)
def test_mlm_name_follows_its_pattern(name: str, expected: str) -> None:
    assert mlm_name(name) == expected
