from collections import Counter

import pytest

from eotdl.builders.splits import SplitRecord, assign_splits, parse_split
from eotdl.errors import InputError


def _records(n=100, labels=("a", "b")):
    return [
        SplitRecord(f"i{k:03d}", labels[k % len(labels)], (k % 10) * 0.01, (k // 10) * 0.01)
        for k in range(n)
    ]


def test_random_fractions_and_determinism():
    spec = parse_split("random:0.7,0.2,0.1")
    first = assign_splits(_records(), spec, seed=3)
    assert Counter(first.values()) == {"train": 70, "validate": 20, "test": 10}
    assert assign_splits(list(reversed(_records())), spec, seed=3) == first
    assert assign_splits(_records(), spec, seed=4) != first


def test_stratified_keeps_class_shares():
    labels = ["rare"] * 10 + ["common"] * 90
    records = [SplitRecord(f"i{k:03d}", labels[k], 0, 0) for k in range(100)]
    result = assign_splits(records, parse_split("stratified:0.8,0.1,0.1"), seed=0)
    rare = Counter(result[r.id] for r in records if r.label == "rare")
    assert rare == {"train": 8, "validate": 1, "test": 1}


def test_spatial_blocks_never_split_a_block():
    records = _records()
    spec = parse_split("spatial-blocks:0.03")
    result = assign_splits(records, spec, seed=1)
    blocks: dict[tuple[int, int], set[str]] = {}
    for r in records:
        key = (int(r.x // 0.03), int(r.y // 0.03))
        blocks.setdefault(key, set()).add(result[r.id])
    assert all(len(s) == 1 for s in blocks.values())
    assert set(result.values()) == {"train", "validate", "test"}


def test_km_block_size():
    assert parse_split("spatial-blocks:11.132km").block_degrees == pytest.approx(0.1)


@pytest.mark.parametrize(
    "text", ["bogus", "random:0.5,0.6,0.1", "random:a,b,c", "spatial-blocks", "spatial-blocks:-1"]
)
def test_bad_specs(text):
    with pytest.raises(InputError):
        parse_split(text)


def test_a_new_version_keeps_the_splits_of_existing_items(tmp_path):
    from eotdl.builders.ingestion import ingest
    from eotdl.catalog.lab import init_lab
    from rastergen import write_tif

    lab = init_lab(tmp_path / "lab")
    src = tmp_path / "src"
    for n in range(10):
        write_tif(src / f"a{n:02d}_20230101.tif", seed=n, size=8, offset=(n * 100.0, 0))
    ingest(lab, "rasters", str(src), "ds", split="random:0.6,0.2,0.2", progress=False)
    before = {i["id"]: i["properties"]["ml-aoi:split"] for i in lab.dataset("ds").iter_items()}
    for n in range(10, 20):
        write_tif(src / f"a{n:02d}_20230101.tif", seed=n, size=8, offset=(n * 100.0, 0))
    ingest(lab, "rasters", str(src), "ds", split="random:0.6,0.2,0.2", progress=False)
    after = {i["id"]: i["properties"]["ml-aoi:split"] for i in lab.dataset("ds").iter_items()}
    assert len(after) == 20
    assert {k: after[k] for k in before} == before
    new = Counter(v for k, v in after.items() if k not in before)
    assert new == {"train": 6, "validate": 2, "test": 2}
