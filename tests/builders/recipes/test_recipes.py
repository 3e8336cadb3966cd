"""Every recipe turns its miniature into a dataset that validates and reaches Q3 (Q2 + review).

Also: the official splits are used when the copy has them, a seeded stratified split (said so
in the card) when it has none, and the card and collection carry the recipe's facts.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from builders.recipes.miniatures import MINIATURES, eurosat
from eotdl.builders import registry
from eotdl.builders.ingestion import ingest
from eotdl.builders.recipes import RECIPES
from eotdl.catalog.card import read_card, write_card
from eotdl.catalog.lab import init_lab
from eotdl.catalog.validate import validate_target
from eotdl.errors import InputError
from eotdl.qa import run_qa


def test_every_recipe_has_a_miniature():
    assert set(MINIATURES) == set(RECIPES)


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_recipe_miniature_reaches_q3_with_a_reviewed_card(
    kind: str, tmp_path: Path, shared_mirror: Path
):
    source = MINIATURES[kind](tmp_path / "source")
    lab = init_lab(tmp_path / "lab")
    ingest(lab, kind, str(source), "ds", progress=False)
    report = validate_target(str(lab.root))
    assert report.ok, "\n".join(p.format() for p in report.problems[:5])

    folder = lab.dataset("ds")
    facts = registry.load(kind).facts  # type: ignore[attr-defined]
    card = read_card(folder.card_path)
    assert card.problems() == []
    assert "TODO" not in card.body + card.description
    assert (card.license, card.doi) == (facts.license, facts.doi)
    assert facts.bibtex.strip() in card.body
    collection = folder.read_collection()
    assert collection["license"] == facts.license
    assert collection["sci:doi"] == facts.doi
    assert all(item["properties"]["ml-aoi:split"] for item in folder.iter_items())

    card.extra.update(reviewed_by="recipes-test", reviewed_at="2026-01-01")
    write_card(folder.card_path, card)
    qa = run_qa(lab, "ds", eda=False)
    errors = [f.to_dict() for f in qa.findings if f.severity == "error"]
    assert errors == []
    assert qa.level == "Q3", qa.level_reasons


def test_eurosat_uses_the_official_split_files(tmp_path: Path):
    source = eurosat(tmp_path / "source")
    lab = init_lab(tmp_path / "lab")
    ingest(lab, "eurosat", str(source), "ds", progress=False)
    folder = lab.dataset("ds")
    splits = {i["id"]: i["properties"]["ml-aoi:split"] for i in folder.iter_items()}
    assert splits["AnnualCrop_1"] == "train"
    assert splits["AnnualCrop_2"] == "validate"
    assert splits["SeaLake_3"] == "test"
    assert "Neumann et al. 2019" in read_card(folder.card_path).body
    item = next(folder.iter_items())
    bands = item["assets"]["image"]["eo:bands"]
    assert [b["name"] for b in bands][-1] == "B8A" and len(bands) == 13
    assert bands[1] == {
        "name": "B02",
        "description": "blue",
        "common_name": "blue",
        "center_wavelength": 0.49,
        "full_width_half_max": 0.066,
        "gsd": 10,
    }


def test_without_split_files_the_split_is_stratified_and_said_so(tmp_path: Path):
    source = eurosat(tmp_path / "source", per_class=5, splits=False)
    lab = init_lab(tmp_path / "lab")
    ingest(lab, "eurosat", str(source), "ds", progress=False)
    folder = lab.dataset("ds")
    per_class = Counter(
        (i["properties"]["class"], i["properties"]["ml-aoi:split"]) for i in folder.iter_items()
    )
    assert per_class[("Forest", "train")] == 3
    assert per_class[("Forest", "validate")] == per_class[("Forest", "test")] == 1
    body = read_card(folder.card_path).body
    assert "No official split files were found" in body and "stratified" in body


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_a_folder_in_another_layout_is_one_clear_error(kind: str, tmp_path: Path):
    (tmp_path / "empty" / "something").mkdir(parents=True)
    lab = init_lab(tmp_path / "lab")
    with pytest.raises(InputError) as error:
        ingest(lab, kind, str(tmp_path / "empty"), "ds", progress=False)
    assert str(tmp_path / "empty") in str(error.value)
    assert not lab.dataset("ds").path.exists()


def test_a_missing_band_file_names_the_file(tmp_path: Path):
    source = MINIATURES["bigearthnet-v2"](tmp_path / "source")
    victim = next((source / "BigEarthNet-S2").rglob("*_B8A.tif"))
    victim.unlink()
    lab = init_lab(tmp_path / "lab")
    with pytest.raises(InputError, match="B8A.tif: missing band file"):
        ingest(lab, "bigearthnet-v2", str(source), "ds", progress=False)
