"""The lab factory the tests share (tests/labs.py): seeded, and it does what its options say."""

from __future__ import annotations

from pathlib import Path

from labs import Dataset, Model, git, make_lab

CONTENTS = [
    Dataset("chips", "classification_folders", per_class=1, version="1.2.0"),
    Dataset("found", "synthetic", count=5, labelled=True),
    Dataset("stubs", "stub", count=2),
    Model("net", "chips"),
]


def _files(root: Path) -> dict[str, bytes]:
    """The lab's files but git, caches and build metadata (they hold times) and the recipes
    (they name the source folder)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.name != "recipe.yaml"
    }


def test_the_same_call_makes_the_same_lab(tmp_path: Path):
    one = make_lab(tmp_path / "one", CONTENTS, build=True)
    two = make_lab(tmp_path / "two", CONTENTS, build=True)
    files = _files(one.root)
    assert files == _files(two.root)
    assert any(name.startswith("store/objects/") for name in files)
    assert "_site/datasets/chips/items.parquet" in files
    other = make_lab(tmp_path / "other", [Dataset("found", "synthetic", count=5, seed=1)])
    assert other.dataset("found").items_path.read_bytes() != files["datasets/found/items.ndjson"]


def test_each_option_is_applied(tmp_path: Path):
    chips = Dataset(
        "chips",
        "classification_folders",
        classes=("a", "b"),
        per_class=2,
        splits=["test", "train", "train", "validate"],
        collection={"license": "MIT", "summaries": {"extra": [1]}},
        card={"title": "Chips", "description": "d", "license": "MIT"},
        files={"images/x.txt": b"x"},
        version="2.0.0",
    )
    lab = make_lab(tmp_path, [chips], tag=True, title="T", store={"public_url": "https://x.org/"})
    folder = lab.dataset("chips")
    items = sorted(folder.iter_items(), key=lambda i: i["id"])
    assert [i["properties"]["ml-aoi:split"] for i in items] == chips.splits
    collection = folder.read_collection()
    assert collection["version"] == "2.0.0" and collection["license"] == "MIT"
    assert collection["summaries"]["extra"] == [1] and len(collection["summaries"]) > 1
    assert folder.read_card().title == "Chips"
    assert (folder.path / "images/x.txt").read_bytes() == b"x"
    assert lab.config.title == "T" and lab.config.store.public_url == "https://x.org/"
    assert git(lab.root, "tag").split() == ["chips@2.0.0"]
    assert git(lab.root, "status", "--porcelain") == ""


def test_a_shared_lab_is_made_once_per_distinct_call(shared_lab, chips):
    stubs = [Dataset("stubs", "stub", count=2)]
    assert shared_lab(stubs) is shared_lab([Dataset("stubs", "stub", count=2)])
    assert shared_lab(stubs) is not shared_lab([Dataset("stubs", "stub", count=3)])
    assert shared_lab(stubs) is not shared_lab(stubs, title="Another")
    assert chips is shared_lab([Dataset("chips", "classification_folders")], build=True)


def test_a_source_served_on_loopback_makes_a_dataset(tmp_path: Path):
    lab = make_lab(tmp_path, [Dataset("api", "stac_api")])
    assert len(list(lab.dataset("api").iter_items())) > 0
