"""`eotdl publish`: build and upload the site, with content types, skipping what is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sitelab import PUBLIC_URL, make_site_lab

from eotdl.catalog.lab import Lab
from eotdl.site import folderpages
from eotdl.site.publish import MANIFEST, publish_site, site_files
from eotdl.storage import open_store
from labs import set_store


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setattr(folderpages, "PAGE_SIZE", 10)
    monkeypatch.setattr(folderpages, "ITEM_PAGES_MAX", 60)
    return set_store(make_site_lab(tmp_path / "lab", many=80), public_url=PUBLIC_URL)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def test_publish_to_a_folder_then_only_changes(lab: Lab, tmp_path: Path) -> None:
    target = tmp_path / "www"
    first = publish_site(lab, target.as_uri(), qa=False)
    assert first.uploaded == len(site_files(lab.site_dir)) and first.skipped == 0
    assert _tree(target) == _tree(lab.site_dir)
    assert (target / MANIFEST).is_file()

    again = publish_site(lab, target.as_uri(), qa=False)
    assert again.uploaded == 0 and again.deleted == 0

    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    items[2]["properties"]["eo:cloud_cover"] = 77.0
    folder.write_items([i for i in items if i["id"] != "chips-0000005"])
    third = publish_site(lab, target.as_uri(), qa=False)
    assert third.deleted == 2  # the removed item's JSON and its page
    assert 0 < third.uploaded < 25
    assert not (target / "datasets/chips/items/chips-0000005.json").exists()
    assert _tree(target) == _tree(lab.site_dir)


def test_publish_defaults_to_the_lab_store(lab: Lab) -> None:
    summary = publish_site(lab, qa=False)
    # the site stands at the store's root, beside objects/ (one rule for where bytes are)
    assert summary.target.endswith("/store/")
    assert (lab.root / "store/index.html").is_file()
    assert (lab.root / "store/datasets/chips/items.parquet").is_file()


def test_publish_without_build_needs_a_site(lab: Lab, tmp_path: Path) -> None:
    from eotdl.errors import InputError

    with pytest.raises(InputError, match="no built site"):
        publish_site(lab, (tmp_path / "www").as_uri(), build=False)


@pytest.mark.s3
def test_publish_to_s3_sets_content_types(lab: Lab, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    store = open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url)
    summary = publish_site(lab, store, qa=False)
    assert summary.uploaded == len(site_files(lab.site_dir))
    client = s3_bucket.server.client()
    prefix = s3_bucket.url.split("/", 3)[3] + "/"

    def kind(key: str) -> str:
        head = client.head_object(Bucket=s3_bucket.bucket, Key=prefix + key)
        return str(head["ContentType"])

    assert kind("index.html") == "text/html; charset=utf-8"
    assert kind("catalog.json") == "application/json"
    assert kind("datasets/chips/items/chips-0000001.json") == "application/geo+json"
    assert kind("datasets/chips/items.parquet") == "application/vnd.apache.parquet"
    assert kind("static/site.css") == "text/css; charset=utf-8"
    assert kind("datasets/chips/thumbnail.svg") == "image/svg+xml"
    again = publish_site(lab, store, qa=False)
    assert again.uploaded == 0
