"""`eotdl build`: the site's layout, its pages, and incremental, atomic rebuilds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sitelab import make_site_lab
from synthetic import make_item

from eotdl.catalog.lab import Lab
from eotdl.catalog.tree import MANIFEST, ROWS
from eotdl.errors import InputError
from eotdl.site import folderpages
from eotdl.site.build import build_site
from eotdl.site.search_index import read_search_index


def test_layout(site_dir: Path) -> None:
    for relative in (
        "catalog.json",
        "index.html",
        "search-index.json",
        "contributors.html",
        "404.html",
        "static/site.css",
        "static/site.js",
        "static/leaflet/leaflet.js",
        "static/leaflet/leaflet.css",
        "static/leaflet/images/marker-icon.png",
        "datasets/chips/collection.json",
        "datasets/chips/items/chips-0000000.json",
        "datasets/chips/items/chips-0000000.html",
        "datasets/chips/items/index.html",
        "datasets/chips/items.parquet",
        "datasets/chips/index.html",
        "datasets/chips/footprints.json",
        "datasets/chips/thumbnail.svg",
        "datasets/many-chips/items/page-11.html",
        "models/classifier/index.html",
        "models/classifier/collection.json",
        "models/classifier/items.parquet",
    ):
        assert (site_dir / relative).is_file(), relative
    # big datasets get list pages only, never a page per item
    assert not (site_dir / "datasets/many-chips/items/many-chips-0000000.html").exists()
    assert not (site_dir / "datasets/many-chips/items/page-12.html").exists()


def test_no_page_over_one_megabyte(site_dir: Path) -> None:
    pages = list(site_dir.rglob("*.html"))
    assert len(pages) > 40
    biggest = max(pages, key=lambda p: p.stat().st_size)
    assert biggest.stat().st_size < 1_000_000, biggest


def test_collection_links_pages_and_parquet(site_dir: Path) -> None:
    collection = json.loads((site_dir / "datasets/chips/collection.json").read_text())
    rels = [link["rel"] for link in collection["links"]]
    assert rels.count("item") == 30
    [alternate] = [link for link in collection["links"] if link["rel"] == "alternate"]
    assert alternate == {
        "rel": "alternate",
        "href": "./index.html",
        "type": "text/html",
        "title": "This dataset's page",
    }
    asset = collection["assets"]["geoparquet-items"]
    assert asset["href"] == "./items.parquet"
    assert asset["type"] == "application/vnd.apache.parquet"


def test_search_index(site_dir: Path) -> None:
    rows = {r["id"]: r for r in read_search_index((site_dir / "search-index.json").read_bytes())}
    assert set(rows) == {"chips", "hostile", "many-chips", "classifier"}
    chips = rows["chips"]
    assert chips["title"] == "Chips"
    assert chips["tasks"] == ["classification"]
    assert chips["kind"] == "training"
    assert chips["license"] == "CC-BY-4.0"
    assert chips["items"] == 30
    assert chips["size"] == 30 * (4 * 64 * 64 * 2 + 1024)
    assert chips["bbox"][0] == pytest.approx(-10.0) and chips["bbox"][1] == pytest.approx(35.0)
    assert chips["start"].startswith("2023-01-01") and chips["end"].startswith("2023-")
    assert (
        chips["url"] == "datasets/chips/" and chips["thumbnail"] == "datasets/chips/thumbnail.svg"
    )
    assert chips["group"] == "datasets" and rows["classifier"]["group"] == "models"
    assert "sentinel-2" in chips["text"] and "ada lovelace" in chips["text"]


def test_home_lists_every_dataset_without_javascript(site_dir: Path) -> None:
    html = (site_dir / "index.html").read_text()
    for name in ("chips", "hostile", "many-chips"):
        assert f'data-id="datasets/{name}"' in html
        assert f'href="datasets/{name}/"' in html
    assert 'data-id="models/classifier"' in html
    assert "Hostile &lt;b&gt;card&lt;/b&gt;&lt;img" in html  # titles are escaped, never markup
    assert "<b>card</b>" not in html and "onerror=" not in html.replace("onerror=&#34;", "")


def test_dataset_page(site_dir: Path) -> None:
    html = (site_dir / "datasets/chips/index.html").read_text()
    for text in (
        "Chips",
        "30",
        "CC-BY-4.0",
        "classification",
        'id="footprints-map"',
        "footprints.json",
        "Splits &amp; classes",
        "Browse all 30 items",
        "eotdl get chips --lab http://127.0.0.1:8000/ -o chips/",
        "eotdl.open_dataset(&#34;chips&#34;, lab=&#34;http://127.0.0.1:8000/&#34;)",
        "Client.open(&#34;http://127.0.0.1:8000/catalog.json&#34;)",
        "@misc{chips,",
        "doi = {10.5281/zenodo.1}",
        "Ada Lovelace",
        "static/leaflet/leaflet.js",
        # what QA reported (tests/site/sitelab.py writes the report)
        "Q2 · ML-ready, automated QA passing",
        "not a cloud-optimised GeoTIFF",
        "&lt;script&gt;x&lt;/script&gt;",
        "a finding with &lt;b&gt;markup&lt;/b&gt;",
        "geo-concentration",
        "most items lie in one region",
        'src="qa/plots/classes.png"',
        "water",
        'href="qa/qa.json"',
        'src="images/overview.png"',
    ):
        assert text in html, text
    assert "unpkg.com" not in html and "cdn" not in html.lower()
    assert (site_dir / "datasets/chips/qa/plots/classes.png").is_file()
    assert (site_dir / "datasets/chips/images/overview.png").is_file()
    assert not list(site_dir.rglob("eotdl.toml"))  # a plot path climbing out is ignored
    other = (site_dir / "datasets/many-chips/index.html").read_text()
    assert "QA has not been run" in other


def test_model_page_links_its_dataset(site_dir: Path) -> None:
    html = (site_dir / "models/classifier/index.html").read_text()
    assert "Architecture" in html and "ResNet-18" in html
    assert 'href="../../datasets/chips/"' in html
    assert "Browse all" not in html and 'id="footprints-map"' not in html  # no dataset sections


def test_item_lists_are_paginated(site_dir: Path) -> None:
    first = (site_dir / "datasets/many-chips/items/index.html").read_text()
    assert "Page 1 of 11" in first and 'href="page-2.html"' in first
    assert first.count("<tr") == 20 + 1  # the session's lab has lists of 20 rows
    assert 'href="many-chips-0000000.json"' in first  # no item pages: rows link the JSON
    last = (site_dir / "datasets/many-chips/items/page-11.html").read_text()
    assert "Page 11 of 11" in last and "many-chips-0000209" in last
    small = (site_dir / "datasets/chips/items/index.html").read_text()
    assert 'href="chips-0000007.html"' in small


def test_item_page(site_dir: Path) -> None:
    html = (site_dir / "datasets/chips/items/chips-0000004.html").read_text()
    assert 'data-src="chips-0000004.json"' in html
    assert "eo:cloud_cover" in html and "validation" in html
    assert "objects/sha256/" in html  # the asset's location in the store


def test_contributors_page(site_dir: Path) -> None:
    html = (site_dir / "contributors.html").read_text()
    assert "Ada Lovelace" in html and "Grace Hopper" in html
    assert 'href="datasets/chips/"' in html and 'href="models/classifier/"' in html


def test_manifests_are_not_published_files(site_dir: Path) -> None:
    assert (site_dir / MANIFEST).is_file()
    assert (site_dir / "datasets/chips" / MANIFEST).is_file()


# -- incremental and atomic --------------------------------------------------------------


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 10 rows and item pages up to 60 items, so a 120-item dataset has both kinds."""
    monkeypatch.setattr(folderpages, "PAGE_SIZE", 10)
    monkeypatch.setattr(folderpages, "ITEM_PAGES_MAX", 60)


def small_lab(root: Path) -> Lab:
    return make_site_lab(root, many=120)


def _inodes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_ino for p in root.rglob("*") if p.is_file()}


def _change_one_item(lab: Lab, name: str, index: int, **properties: object) -> str:
    folder = lab.dataset(name)
    items = list(folder.iter_items())
    items[index]["properties"].update(properties or {"eo:cloud_cover": 99.5})
    folder.write_items(items)
    return str(items[index]["id"])


def test_one_item_change_rewrites_only_what_depends_on_it(
    tmp_path: Path, small_pages: None
) -> None:
    lab = small_lab(tmp_path / "lab")
    build_site(lab, qa=False)
    before = _inodes(lab.site_dir)
    item_id = _change_one_item(lab, "many-chips", 15, datetime="2023-06-30T00:00:00Z")
    summary = build_site(lab, qa=False)
    after = _inodes(lab.site_dir)
    assert summary.items_written == 1
    assert summary.folders_rebuilt == 1 and summary.folders_reused == 3
    changed = {path for path, inode in after.items() if before.get(path) != inode}
    expected = {
        f"datasets/many-chips/items/{item_id}.json",
        "datasets/many-chips/items/page-2.html",
        "datasets/many-chips/items.parquet",
        "datasets/many-chips/.items.parquet.footer.json",  # the index of its footer
        "datasets/many-chips/index.html",
        "datasets/many-chips/footprints.json",
        "datasets/many-chips/thumbnail.svg",
        "datasets/many-chips/" + MANIFEST,
        "datasets/many-chips/" + ROWS,
        "catalog.json",
        "index.html",
        "search-index.json",
        "contributors.html",
        "404.html",
        MANIFEST,
    }
    assert changed == expected
    data = json.loads((lab.site_dir / f"datasets/many-chips/items/{item_id}.json").read_text())
    assert data["properties"]["datetime"] == "2023-06-30T00:00:00Z"
    assert "2023-06-30" in (lab.site_dir / "datasets/many-chips/items/page-2.html").read_text()
    # a change the list does not show leaves the list page as it was
    before = _inodes(lab.site_dir)
    _change_one_item(lab, "many-chips", 16)
    assert build_site(lab, qa=False).items_written == 1
    after = _inodes(lab.site_dir)
    assert (
        after["datasets/many-chips/items/page-2.html"]
        == before["datasets/many-chips/items/page-2.html"]
    )


def test_added_and_removed_items(tmp_path: Path, small_pages: None) -> None:
    lab = small_lab(tmp_path / "lab")
    build_site(lab, qa=False)
    folder = lab.dataset("chips")
    items = [i for i in folder.iter_items() if i["id"] != "chips-0000003"]
    items.append(make_item(500, "chips"))
    folder.write_items(items)
    summary = build_site(lab, qa=False)
    assert summary.items_written == 1
    items_dir = lab.site_dir / "datasets/chips/items"
    assert not (items_dir / "chips-0000003.json").exists()
    assert not (items_dir / "chips-0000003.html").exists()
    assert (items_dir / "chips-0000500.json").is_file()
    assert (items_dir / "chips-0000500.html").is_file()
    collection = json.loads((lab.site_dir / "datasets/chips/collection.json").read_text())
    hrefs = [link["href"] for link in collection["links"] if link["rel"] == "item"]
    assert "./items/chips-0000500.json" in hrefs and "./items/chips-0000003.json" not in hrefs
    from eotdl.catalog.geoparquet import read_items_parquet

    ids = [i["id"] for i in read_items_parquet(lab.site_dir / "datasets/chips/items.parquet")]
    assert sorted(ids) == sorted(i["id"] for i in items)  # in space-time order, each once


def test_nothing_changed_reuses_everything(tmp_path: Path, small_pages: None) -> None:
    lab = small_lab(tmp_path / "lab")
    build_site(lab, qa=False)
    before = _inodes(lab.site_dir)
    os.utime(lab.dataset("chips").items_path)  # touched, same content
    summary = build_site(lab, qa=False)
    assert summary.items_written == 0 and summary.folders_rebuilt == 0
    after = _inodes(lab.site_dir)
    same = {p for p in after if before.get(p) == after[p]}
    assert {p for p in after if p.startswith("datasets/")} <= same


def test_card_change_rebuilds_that_dataset_pages(tmp_path: Path, small_pages: None) -> None:
    lab = small_lab(tmp_path / "lab")
    build_site(lab, qa=False)
    folder = lab.dataset("chips")
    card = folder.read_card()
    card.title = "Renamed chips"
    folder.write_card(card)
    summary = build_site(lab, qa=False)
    assert summary.folders_rebuilt == 1
    assert "Renamed chips" in (lab.site_dir / "datasets/chips/items/chips-0000001.html").read_text()
    assert "Renamed chips" in (lab.site_dir / "index.html").read_text()


def test_failed_build_leaves_previous_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_pages: None
) -> None:
    lab = small_lab(tmp_path / "lab")
    build_site(lab, qa=False)
    before = {p: p.read_bytes() for p in lab.site_dir.rglob("*") if p.is_file()}
    _change_one_item(lab, "chips", 1)

    original = folderpages.FolderPages._list_pages

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(folderpages.FolderPages, "_list_pages", broken)
    with pytest.raises(RuntimeError, match="template exploded"):
        build_site(lab, qa=False)
    after = {p: p.read_bytes() for p in lab.site_dir.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in lab.root.iterdir() if p.name.startswith("._site")] == []
    monkeypatch.setattr(folderpages.FolderPages, "_list_pages", original)
    assert build_site(lab, qa=False).items_written == 1


def test_bad_item_is_a_clear_error(tmp_path: Path, small_pages: None) -> None:
    lab = small_lab(tmp_path / "lab")
    build_site(lab, qa=False)
    with lab.dataset("chips").items_path.open("a") as handle:
        handle.write('{"type": "Feature", "id": "../escape"}\n')
    with pytest.raises(InputError, match="cannot be a file name"):
        build_site(lab, qa=False)
    assert (lab.site_dir / "index.html").is_file()


def test_full_rebuild(tmp_path: Path, small_pages: None) -> None:
    lab = small_lab(tmp_path / "lab")
    build_site(lab, qa=False)
    summary = build_site(lab, qa=False, full=True)
    assert summary.items_written == summary.items == 30 + 4 + 120 + 1
