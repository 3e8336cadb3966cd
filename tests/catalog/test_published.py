"""Published versions: tags, immutable copies in the site, version links, yanks."""

import json

import pystac
import pytest

from eotdl.catalog.diff import diff_dataset
from eotdl.catalog.published import published_versions, tag_versions, yank
from eotdl.catalog.validate import validate_target
from eotdl.errors import InputError, LabError
from eotdl.site.build import build_site
from labs import commit, make_lab, stub_items, write_stub


def _links(path):
    data = json.loads(path.read_text())
    return {link["rel"]: link["href"] for link in data["links"]}, data


def test_merge_then_publish_keeps_both_versions(tmp_path, shared_mirror):
    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "ds", stub_items(2))
    commit(lab, "ds 1.0.0")
    assert tag_versions(lab) == ["ds@1.0.0"]
    build_site(lab, qa=False)
    site = lab.site_dir / "datasets" / "ds"
    first = (site / "v/1.0.0/items/i000.json").read_bytes()

    write_stub(lab, "ds", stub_items(3), version="1.1.0")
    commit(lab, "ds 1.1.0: one more item")
    assert tag_versions(lab) == ["ds@1.1.0"]
    assert tag_versions(lab) == []
    build_site(lab, qa=False)

    assert [p.version for p in published_versions(lab, "ds")] == ["1.0.0", "1.1.0"]
    assert (site / "v/1.0.0/items/i000.json").read_bytes() == first  # immutable
    assert not (site / "v/1.0.0/items/i002.json").exists()
    assert (site / "v/1.1.0/items/i002.json").exists()
    old, old_data = _links(site / "v/1.0.0/collection.json")
    assert old["successor-version"] == "../1.1.0/collection.json"
    assert old["latest-version"] == "../../collection.json"
    assert old_data["version"] == "1.0.0" and "deprecated" not in old_data
    new, _ = _links(site / "v/1.1.0/collection.json")
    assert new["predecessor-version"] == "../1.0.0/collection.json"
    latest, _ = _links(site / "collection.json")
    assert latest["predecessor-version"] == "./v/1.0.0/collection.json"

    collection = pystac.Collection.from_file(str(site / "v/1.0.0/collection.json"))
    assert sorted(i.id for i in collection.get_items()) == ["i000", "i001"]
    assert validate_target(str(site / "v/1.0.0/collection.json")).ok
    assert (site / "v/1.0.0/items.parquet").is_file()

    d = diff_dataset(lab.root, "datasets/ds", "ds", "ds@1.0.0", "ds@1.1.0", fast=False)
    assert d.added == ["i002"] and not d.removed and not d.changed

    yank(lab, "ds", "1.0.0", "wrong labels")
    commit(lab, "yank 1.0.0")
    build_site(lab, qa=False)
    _, old_data = _links(site / "v/1.0.0/collection.json")
    assert old_data["deprecated"] is True
    assert (site / "v/1.0.0/items/i000.json").read_bytes() == first


def test_tagging_needs_committed_files(tmp_path):
    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "ds", stub_items(1))
    with pytest.raises(LabError, match="uncommitted"):
        tag_versions(lab)
    commit(lab, "add")
    with pytest.raises(InputError, match="never published"):
        yank(lab, "ds", "9.9.9", "")


def test_version_list_names_the_yanked(tmp_path):
    from eotdl.catalog.published import version_list

    lab = make_lab(tmp_path, git=True)
    assert version_list(lab, "ds") == []
    write_stub(lab, "ds", stub_items(1))
    commit(lab, "v1")
    tag_versions(lab)
    write_stub(lab, "ds", stub_items(2), version="1.1.0")
    commit(lab, "v1.1")
    tag_versions(lab)
    yank(lab, "ds", "1.0.0", "wrong labels")
    assert version_list(lab, "ds") == [
        {"version": "1.0.0", "tag": "ds@1.0.0", "yanked": "wrong labels"},
        {"version": "1.1.0", "tag": "ds@1.1.0", "yanked": None},
    ]
