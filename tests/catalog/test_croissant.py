"""Croissant cards: `mlcroissant` loads, validates and iterates them, for every version.

The dataset is the EuroSAT recipe's miniature, ingested into a git lab and published twice
(1.0.0, then 2.0.0 with one item fewer).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import mlcroissant as mlc
import pytest

from eotdl.catalog.card import read_card, write_card
from eotdl.catalog.croissant import dataset_croissant, dumps, license_url
from eotdl.catalog.published import tag_versions
from eotdl.cli.main import main
from eotdl.site.build import build_site
from labs import Dataset, commit, make_lab


@pytest.fixture
def lab(tmp_path: Path, shared_mirror: Path):
    lab = make_lab(tmp_path, [Dataset("ds", "recipe_eurosat", version="1.0.0")], git=True)
    assert tag_versions(lab) == ["ds@1.0.0"]
    folder = lab.dataset("ds")
    collection = folder.read_collection()
    folder.write_items(list(folder.iter_items())[:-1])
    folder.write_collection({**collection, "version": "2.0.0"})
    commit(lab, "ds 2.0.0: one chip fewer")
    assert tag_versions(lab) == ["ds@2.0.0"]
    return lab


def _load(path: Path) -> mlc.Dataset:
    dataset = mlc.Dataset(jsonld=str(path))  # raises on any validation error
    assert not dataset.metadata.ctx.issues.errors
    return dataset


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.mark.parametrize("version", ["", "@1.0.0", "@2.0.0"])
def test_export_croissant_validates_and_iterates(lab, tmp_path: Path, version: str):
    out = tmp_path / "card.json"
    main(["export", "croissant", f"ds{version}", "-o", str(out), "--lab", str(lab.root)])
    dataset = _load(out)
    expected = 29 if version in ("", "@2.0.0") else 30
    images = list(dataset.records("images"))
    assert len(images) == expected
    for record in images[:5]:
        data = Path(_text(record["images/content_url"])).read_bytes()
        assert hashlib.sha256(data).hexdigest() == _text(record["images/sha256"])
    splits = {_text(r["images/split"]) for r in images}
    assert splits == {"train", "validate", "test"}
    assert {_text(r["splits/name"]) for r in dataset.records("splits")} == splits
    labels = {
        _text(r["labels/item_id"]): _text(r["labels/label"]) for r in dataset.records("labels")
    }
    assert labels["AnnualCrop_1"] == "AnnualCrop" and len(labels) == expected

    card = json.loads(out.read_text())
    assert card["version"] == ("1.0.0" if version == "@1.0.0" else "2.0.0")
    assert card["license"] == "https://spdx.org/licenses/MIT.html"
    assert card["identifier"] == "https://doi.org/10.1109/JSTARS.2019.2918242"
    assert "Helber" in card["citeAs"]
    assert card["geocr:coordinateReferenceSystem"] == "EPSG:32631"
    south, west, north, east = map(float, card["spatialCoverage"]["geo"]["box"].split())
    assert 0 < west < east < 3 and 43 < south < north < 44
    assert card["temporalCoverage"].startswith("2017-08-31")
    sha = {f["@id"]: f["sha256"] for f in card["distribution"]}
    item = next(lab.dataset("ds").iter_items())
    multihash = item["assets"]["image"]["file:checksum"]
    assert multihash == "1220" + sha[f"{item['id']}/image"]


def test_an_unknown_version_is_a_clear_error(lab, capsys):
    with pytest.raises(SystemExit) as done:
        main(["export", "croissant", "ds@9.9.9", "--lab", str(lab.root)])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "no published version '9.9.9'" in err and "Traceback" not in err


def test_licences_are_spdx_urls():
    assert license_url("CC-BY-4.0") == "https://spdx.org/licenses/CC-BY-4.0.html"
    assert license_url("other") == "other"


def test_the_build_publishes_a_card_per_version_and_embeds_schema_org(lab, tmp_path: Path):
    folder = lab.dataset("ds")
    card = read_card(folder.card_path)
    card.description = 'EuroSAT </script><script>alert("x")</script> & co'
    write_card(folder.card_path, card)
    build_site(lab, qa=False)
    site = lab.site_dir / "datasets" / "ds"
    for where in (site, site / "v" / "1.0.0", site / "v" / "2.0.0"):
        assert (where / "croissant.json").is_file(), where
        links = json.loads((where / "collection.json").read_text())["links"]
        described = [link for link in links if link["rel"] == "describedby"]
        assert described == [
            {
                "rel": "describedby",
                "href": "./croissant.json",
                "type": "application/ld+json",
                "title": "Croissant",
            }
        ]
        _load(where / "croissant.json")
    html = (site / "index.html").read_text()
    for fact in (
        "Neumann et al. 2019",
        "nir08",
        "HerbaceousVegetation",
        "@article{helber2019eurosat",
    ):
        assert fact in html, f"the dataset page does not show the recipe fact {fact!r}"
    assert '<script>alert("x")' not in html
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert data["@type"] == "Dataset" and data["description"] == card.description
    assert None not in data.values() and data["version"] == "2.0.0"
    assert data["identifier"] == "https://doi.org/10.1109/JSTARS.2019.2918242"

    build_site(lab, qa=False)  # again: the link is not added twice
    links = json.loads((site / "collection.json").read_text())["links"]
    assert sum(link["rel"] == "describedby" for link in links) == 1


def test_cards_are_deterministic(lab):
    assert dumps(dataset_croissant(lab, "ds")) == dumps(dataset_croissant(lab, "ds"))


def test_a_big_dataset_gets_a_compact_card_read_from_its_parquet(lab, monkeypatch):
    from eotdl.catalog import croissant, croissant_parquet

    monkeypatch.setattr(croissant_parquet, "CARD_INLINE_MAX", 5)  # 29 items: "big"

    def no_items(*args, **kwargs):
        raise AssertionError("a compact card reads no item")

    monkeypatch.setattr(croissant, "write_croissant", no_items)
    monkeypatch.setattr(croissant, "_current_card", no_items)
    build_site(lab, qa=False)
    site = lab.site_dir / "datasets" / "ds"
    items = {i["id"]: i for i in lab.dataset("ds").iter_items()}
    for where, count in ((site, 29), (site / "v" / "1.0.0", 30), (site / "v" / "2.0.0", 29)):
        card = json.loads((where / "croissant.json").read_text())
        parquet = where / "items.parquet"
        assert card["distribution"] == [
            {
                "@type": "cr:FileObject",
                "@id": "items.parquet",
                "name": "items.parquet",
                "description": croissant_parquet.ASSETS_NOTE,
                "contentUrl": "items.parquet",
                "encodingFormat": "application/x-parquet",
                "sha256": hashlib.sha256(parquet.read_bytes()).hexdigest(),
                "contentSize": f"{parquet.stat().st_size} B",
            }
        ]
        assert card["geocr:coordinateReferenceSystem"] == "EPSG:32631"
        dataset = _load(where / "croissant.json")  # validates; reads the local parquet file
        records = list(dataset.records("items"))
        assert len(records) == count
        for record in records:
            item_id = _text(record["items/item_id"])
            if item_id in items:  # 1.0.0 has one item the working tree no longer has
                props = items[item_id]["properties"]
                assert _text(record["items/split"]) == props["ml-aoi:split"]
                assert _text(record["items/label"]) == props["class"]
        assert {_text(r["splits/name"]) for r in dataset.records("splits")} == {
            "train",
            "validate",
            "test",
        }
    assert {_text(r["items/item_id"]) for r in records} == set(items)

    # the card's page text changes, not the card: the same bytes are linked, not rewritten
    folder = lab.dataset("ds")
    readme = read_card(folder.card_path)
    readme.body += "\nMore words for the page.\n"
    write_card(folder.card_path, readme)
    inode = (site / "croissant.json").stat().st_ino
    build_site(lab, qa=False)
    assert "More words for the page" in (site / "index.html").read_text()
    assert (site / "croissant.json").stat().st_ino == inode

    # one item changes: the card is remade from the patched parquet file, no item read
    changed = list(folder.iter_items())
    changed[0]["properties"]["ml-aoi:split"] = "test"
    folder.write_items(changed)
    before = (site / "croissant.json").read_bytes()
    build_site(lab, qa=False)
    after = (site / "croissant.json").read_bytes()
    assert after != before
    card = json.loads(after)
    sha = card["distribution"][0]["sha256"]
    assert sha == hashlib.sha256((site / "items.parquet").read_bytes()).hexdigest()
    splits = {
        _text(r["items/item_id"]): _text(r["items/split"])
        for r in _load(site / "croissant.json").records("items")
    }
    assert splits[changed[0]["id"]] == "test"


def test_export_streams_the_full_card_to_stdout(lab, capsysbinary, monkeypatch):
    from eotdl.catalog import croissant_parquet

    monkeypatch.setattr(croissant_parquet, "CARD_INLINE_MAX", 5)  # export stays full
    main(["export", "croissant", "ds", "--lab", str(lab.root)])
    out = capsysbinary.readouterr().out
    assert out == dumps(dataset_croissant(lab, "ds"))
    assets = sum(len(i["assets"]) for i in lab.dataset("ds").iter_items())
    assert len(json.loads(out)["distribution"]) == assets > 29  # one file object per asset
