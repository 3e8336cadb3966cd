import json
import os
from pathlib import Path

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
    # the one rule: objects/… under the site root, which links to the store's objects
    assert asset == "../../../objects/sha256/ab/cd1.tif"
    assert os.path.normpath(items_dir / asset) == os.path.normpath(
        site / "objects/sha256/ab/cd1.tif"
    )
    assert (site / "objects").resolve() == (lab.root / "store/objects").resolve()
    # a link between lab documents points to the same place in the site (which mirrors the
    # lab's datasets/ and models/), never back into the lab
    assert os.path.normpath(items_dir / links["derived_from"]) == str(
        site / "datasets/ds/other/x.json"
    )
    assert lab_dir.relative_to(lab.root) == Path("datasets/ds")
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


# -- incremental ---------------------------------------------------------------------------


def _inodes(root):
    return {p.relative_to(root).as_posix(): p.stat().st_ino for p in root.rglob("*.json")}


def test_incremental_rewrites_only_the_changed_item(tmp_path):
    lab = _lab(tmp_path, count=5)
    other = lab.dataset("other")
    other.write_collection(collection("other"))
    other.write_items([item(f"o{n}", "other") for n in range(3)])
    write_stac_tree(lab)
    before = _inodes(lab.site_dir)
    items = list(lab.dataset("ds").iter_items())
    items[2]["properties"]["gsd"] = 3
    lab.dataset("ds").write_items(items)
    summary = write_stac_tree(lab)
    assert (summary.items_written, summary.items_reused, summary.folders_carried) == (1, 7, 1)
    after = _inodes(lab.site_dir)
    changed = sorted(p for p in after if before.get(p) != after[p])
    assert changed == [
        ".eotdl-build.json",
        "catalog.json",
        "datasets/ds/.eotdl-build.json",
        "datasets/ds/items/i2.json",
    ]
    data = json.loads((lab.site_dir / "datasets/ds/items/i2.json").read_text())
    assert data["properties"]["gsd"] == 3
    # the same content written again (a touch) reuses everything
    lab.dataset("ds").write_items(items)
    again = write_stac_tree(lab)
    assert (again.items_written, again.folders_carried) == (0, 2)


def test_incremental_output_equals_a_full_build(tmp_path):
    lab = _lab(tmp_path, count=6, base_url="https://example.org/")
    write_stac_tree(lab)
    items = [i for i in lab.dataset("ds").iter_items() if i["id"] != "i1"]
    items.append(item("i9"))
    items[0]["properties"]["gsd"] = 1
    lab.dataset("ds").write_items(items)
    write_stac_tree(lab, parquet=True)
    write_stac_tree(lab, parquet=True)
    write_stac_tree(lab, tmp_path / "full", parquet=True, full=True)

    def contents(root):
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*.json")
            if not p.name.startswith(".")
        }

    incremental, full = contents(lab.site_dir), contents(tmp_path / "full")
    assert incremental.keys() == full.keys()
    assert "datasets/ds/items/i1.json" not in incremental
    for name in incremental:
        if "/items/" in name:  # hrefs into the store differ: the two trees are in other places
            assert json.loads(incremental[name])["id"] == json.loads(full[name])["id"]
        else:
            assert incremental[name] == full[name], name


def test_removed_dataset_disappears(tmp_path):
    lab = _lab(tmp_path)
    other = lab.dataset("other")
    other.write_collection(collection("other"))
    other.write_items([item("o1", "other")])
    write_stac_tree(lab)
    import shutil

    shutil.rmtree(other.path)
    summary = write_stac_tree(lab)
    assert summary.collections == 1
    assert not (lab.site_dir / "datasets/other").exists()
    root = json.loads((lab.site_dir / "catalog.json").read_text())
    assert [link["href"] for link in root["links"] if link["rel"] == "child"] == [
        "./datasets/ds/collection.json"
    ]


def test_item_ids_are_quoted_in_links(tmp_path):
    lab = _lab(tmp_path, count=0)
    lab.dataset("ds").write_items([item("a b#c")])
    write_stac_tree(lab)
    col = json.loads((lab.site_dir / "datasets/ds/collection.json").read_text())
    [href] = [link["href"] for link in col["links"] if link["rel"] == "item"]
    assert href == "./items/a%20b%23c.json"
    assert (lab.site_dir / "datasets/ds/items/a b#c.json").is_file()
