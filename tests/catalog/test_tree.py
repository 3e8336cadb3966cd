import json
import os

import pystac
import pytest

from eotdl.catalog.lab import LabConfig, init_lab
from eotdl.catalog.tree import rebase, write_stac_tree
from eotdl.catalog.validate import validate_target
from eotdl.errors import InputError
from stacgen import collection, item


def _lab(tmp_path, count=3, base_url=""):
    lab = init_lab(tmp_path / "lab", base_url=base_url)
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    items = []
    for n in range(count):
        it = item(f"i{n}")
        it["assets"] = {"image": {"href": f"../../store/objects/sha256/ab/cd{n}.tif"}}
        it["links"].append({"rel": "derived_from", "href": "./other/x.json"})
        items.append(it)
    folder.write_items(items)
    return lab


def test_tree_walkable_by_pystac(tmp_path, shared_mirror):
    lab = _lab(tmp_path)
    summary = write_stac_tree(lab)
    assert (summary.collections, summary.items) == (1, 3)
    root = lab.site_dir / "catalog.json"
    catalog = pystac.Catalog.from_file(str(root))
    [col] = list(catalog.get_children())
    assert col.id == "ds"
    items = sorted(col.get_items(), key=lambda i: i.id)
    assert [i.id for i in items] == ["i0", "i1", "i2"]
    assert items[0].get_root().id == catalog.id
    assert validate_target(str(root)).ok


def test_links_relative_and_hrefs_rebased(tmp_path):
    lab = _lab(tmp_path)
    write_stac_tree(lab)
    site = lab.site_dir
    data = json.loads((site / "datasets/ds/items/i1.json").read_text())
    links = {link["rel"]: link["href"] for link in data["links"]}
    assert links["root"] == "../../../catalog.json"
    assert links["parent"] == links["collection"] == "../collection.json"
    assert "self" not in links
    # the derived_from link and the asset still point where they pointed in the lab
    lab_dir = lab.root / "datasets" / "ds"
    items_dir = site / "datasets" / "ds" / "items"
    asset = data["assets"]["image"]["href"]
    assert os.path.normpath(items_dir / asset) == os.path.normpath(
        lab_dir / "../../store/objects/sha256/ab/cd1.tif"
    )
    assert os.path.normpath(items_dir / links["derived_from"]) == str(lab_dir / "other/x.json")
    col = json.loads((site / "datasets/ds/collection.json").read_text())
    assert [link["href"] for link in col["links"] if link["rel"] == "item"] == [
        "./items/i0.json",
        "./items/i1.json",
        "./items/i2.json",
    ]


def test_absolute_self_links_with_base_url(tmp_path):
    lab = _lab(tmp_path, base_url="https://example.org/lab/")
    write_stac_tree(lab)
    data = json.loads((lab.site_dir / "datasets/ds/items/i0.json").read_text())
    [self_link] = [link for link in data["links"] if link["rel"] == "self"]
    assert self_link["href"] == "https://example.org/lab/datasets/ds/items/i0.json"


@pytest.mark.parametrize("bad_id", ["../evil", "a/b", ".hidden", "x\x00"])
def test_unsafe_ids_refused_and_previous_site_kept(tmp_path, bad_id):
    lab = _lab(tmp_path)
    write_stac_tree(lab)
    before = sorted(p.relative_to(lab.site_dir) for p in lab.site_dir.rglob("*"))
    lab.dataset("ds").write_items([item("ok"), item(bad_id)])
    with pytest.raises(InputError, match="cannot be a file name"):
        write_stac_tree(lab)
    after = sorted(p.relative_to(lab.site_dir) for p in lab.site_dir.rglob("*"))
    assert before == after
    leftovers = [p.name for p in lab.site_dir.parent.iterdir() if p.name.startswith("._site")]
    assert leftovers == []


def test_rebase():
    from pathlib import Path

    src, dst = Path("/lab/datasets/ds"), Path("/lab/_site/datasets/ds/items")
    assert rebase("https://x.org/a.tif", src, dst) == "https://x.org/a.tif"
    assert rebase("../../store/a b.tif", src, dst) == "../../../../store/a%20b.tif"
    assert rebase("./x.json#frag", src, Path("/lab/datasets/ds")) == "./x.json#frag"


def test_config_title_in_root(tmp_path):
    lab = _lab(tmp_path)
    lab.config = LabConfig(title="Crop Lab")
    write_stac_tree(lab)
    root = json.loads((lab.site_dir / "catalog.json").read_text())
    assert root["id"] == "crop-lab" and root["title"] == "Crop Lab"
