"""What a reader sees, in Chromium: previews, gallery, item pages, band table, and every page
kind at phone width (390 px) without horizontal scrolling.

The lab is made the way a contributor makes one (``ingest`` of real GeoTIFF chips, so every
item has a preview), with a QA report holding band statistics and a model. Screenshots of each
page kind, desktop and phone, are saved under ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sitelab import MODEL_CARD, link_objects_if_missing, write_qa_report

from browsers import ARGS, ARTIFACTS, BROWSER_MARKS, CHROMIUM
from eotdl.catalog import canonical
from eotdl.catalog.lab import Lab
from eotdl.site.build import build_site
from eotdl.site.serve import RunningSite, start_site
from labs import Dataset, Model, make_lab

CLASSES = ("water", "forest", "urban")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = BROWSER_MARKS


def make_views_lab(root: Path) -> Lab:
    """A lab in git with one ingested dataset of real chips (3 classes, 3 splits), published
    twice: 1.0.0 (12 chips) and 1.1.0 (18 chips), and a model."""

    def chips(per_class: int, version: str) -> Dataset:
        return Dataset(
            "land-cover",
            "classification_folders",
            classes=CLASSES,
            per_class=per_class,
            size=32,
            bands=4,
            stem="{cls}-{i}_20230415",
            datetime=None,
            split_seed=1,
            version=version,
        )

    lab = make_lab(
        root,
        [chips(4, "1.0.0"), chips(6, "1.1.0"), Model("classifier", "land-cover", card=MODEL_CARD)],
        tag=True,
        title="A lab with a rather long title for phones",
    )
    report = write_qa_report(lab, "land-cover")
    data = canonical.loads((report / "qa.json").read_bytes())
    data["eda"]["bands"] = [
        {
            "asset": "image",
            "name": f"B0{i}",
            "count": 18432,
            "nodata_share": 0.0,
            "min": 1.0,
            "max": 2999.0,
            "mean": 1621.4567,
            "std": 865.25,
            "percentiles": {"p2": 61.0, "p25": 751.0, "p50": 1620.0, "p75": 2250.5, "p98": 2940},
        }
        for i in range(2, 6)
    ]
    (report / "qa.json").write_bytes(canonical.dumps_pretty(data))
    _train_record(lab.model("classifier"))
    return lab


def _train_record(folder: Any) -> None:
    """What the runner records in a model's item (mlm:input/output, metrics, curve)."""
    item = next(folder.iter_items())
    item["properties"].update(
        {
            "mlm:framework_version": "2.5.0",
            "mlm:total_parameters": 11689512,
            "mlm:input": [
                {
                    "name": "image",
                    "bands": ["B02", "B03", "B04", "B08"],
                    "input": {
                        "shape": [-1, 4, 32, 32],
                        "dim_order": ["batch", "channel", "height", "width"],
                        "data_type": "float32",
                    },
                    "value_scaling": [
                        {"type": "z-score", "mean": 1500.0 + b, "stddev": 800.0} for b in range(4)
                    ],
                }
            ],
            "mlm:output": [
                {
                    "name": "classes",
                    "tasks": ["classification"],
                    "result": {"shape": [-1, 3], "dim_order": ["batch", "class"]},
                    "classification:classes": [
                        {"value": i, "name": c} for i, c in enumerate(sorted(CLASSES))
                    ],
                }
            ],
            "eotdl:dataset": {"name": "land-cover", "version": "1.1.0"},
            "eotdl:metrics": {
                "test": {"accuracy": 0.8333, "loss": 0.41, "macro_f1": 0.82},
                "validate": {"accuracy": 0.75, "loss": 0.5, "macro_f1": 0.7},
            },
            "eotdl:history": [
                {
                    "epoch": e,
                    "train_loss": 1.2 / e,
                    "validate": {"loss": 1.0 / e, "accuracy": 0.5 + e / 10},
                }
                for e in range(1, 4)
            ],
            "eotdl:confusion": {"test": [[2, 0, 0], [1, 1, 0], [0, 0, 2]]},
        }
    )
    folder.write_items([item])


@pytest.fixture(scope="module")
def views_lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    base = tmp_path_factory.mktemp("views")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOTDL_SITE_TILES", "none")
        lab = make_views_lab(base)
        build_site(lab, qa=False)
    link_objects_if_missing(lab)
    return lab


@pytest.fixture(scope="module")
def served(views_lab: Lab) -> Iterator[RunningSite]:
    with start_site(views_lab.site_dir) as site:
        yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _open(browser: Any, served: RunningSite, viewport: dict[str, int], **kw: Any) -> Any:
    context = browser.new_context(viewport=viewport, **kw)
    tab = context.new_page()
    tab.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(served.url) else r.abort()
    )
    return tab


def _first_item(lab: Lab) -> dict[str, Any]:
    return next(lab.dataset("land-cover").iter_items())


def _pages(lab: Lab) -> dict[str, str]:
    item = _first_item(lab)
    return {
        "home": "",
        "dataset": "datasets/land-cover/",
        "items": "datasets/land-cover/items/index.html",
        "item": f"datasets/land-cover/items/{item['id']}.html",
        "version": "datasets/land-cover/versions/1.1.0.html",
        "model": "models/classifier/",
        "contributors": "contributors.html",
    }


def test_no_page_scrolls_sideways_on_a_phone_and_the_title_shows(
    browser: Any, served: RunningSite, views_lab: Lab
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        tab = _open(browser, served, viewport, is_mobile=viewport is PHONE)
        for kind, path in _pages(views_lab).items():
            tab.goto(f"{served.url}{path}")
            tab.wait_for_load_state("load")
            width = tab.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], f"{kind} page is {width[0]} px wide at {width[1]} px"
            title = tab.locator(".brand-title")
            assert title.inner_text() == "A lab with a rather long title for phones"
            box = title.evaluate("e => [e.scrollWidth, e.clientWidth, e.getClientRects().length]")
            assert box[0] <= box[1] + 1, f"{kind}: the title is cut at {box[1]} px"
            tab.screenshot(path=str(ARTIFACTS / f"{kind}-{suffix}.png"), full_page=True)
        tab.context.close()


def _loaded(tab: Any, selector: str) -> list[int]:
    """The natural widths of the images (lazy ones loaded first; 0 for a broken one)."""
    tab.eval_on_selector_all(selector, "imgs => imgs.forEach(i => { i.loading = 'eager'; })")
    tab.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete)", arg=selector
    )
    return tab.eval_on_selector_all(selector, "imgs => imgs.map(i => i.naturalWidth)")


def test_every_item_shows_its_preview_and_the_gallery_links_to_items(
    browser: Any, served: RunningSite, views_lab: Lab
) -> None:
    tab = _open(browser, served, DESKTOP)
    tab.goto(f"{served.url}datasets/land-cover/items/index.html")
    tab.wait_for_load_state("load")
    widths = _loaded(tab, "img.preview-thumb")
    assert len(widths) == 18 and all(w >= 128 for w in widths), widths
    tab.goto(f"{served.url}datasets/land-cover/")
    tab.wait_for_load_state("load")
    groups = tab.eval_on_selector_all("#gallery .gallery-row h4", "hs => hs.map(h => h.innerText)")
    assert groups == sorted(CLASSES) + ["test", "train", "validate"]
    assert all(w > 0 for w in _loaded(tab, "#gallery img"))
    first = tab.locator("#gallery .gallery-row").first
    first.locator("a").first.click()
    tab.wait_for_load_state("load")
    assert tab.url.endswith(".html") and "/items/" in tab.url
    assert tab.locator("#item-preview").evaluate("i => i.naturalWidth") >= 128
    assert sorted(CLASSES)[0] in tab.locator(".preview-large figcaption").inner_text()
    tab.context.close()


def test_item_list_filters_by_class_and_split_and_works_without_javascript(
    browser: Any, served: RunningSite
) -> None:
    url = f"{served.url}datasets/land-cover/items/index.html"
    tab = _open(browser, served, DESKTOP)
    tab.goto(url)
    tab.wait_for_selector("#item-filters:not([hidden])")
    tab.select_option("#item-filters select[name=class]", "forest")
    shown = tab.eval_on_selector_all(
        "#item-rows tbody tr:not([hidden])", "rs => rs.map(r => r.dataset.class)"
    )
    assert shown == ["forest"] * 6
    tab.select_option("#item-filters select[name=split]", "train")
    shown = tab.eval_on_selector_all(
        "#item-rows tbody tr:not([hidden])", "rs => rs.map(r => [r.dataset.class, r.dataset.split])"
    )
    assert shown and all(row == ["forest", "train"] for row in shown) and len(shown) < 6
    assert tab.inner_text("#item-filter-count").startswith(f"{len(shown)} of 18")
    tab.context.close()
    plain = _open(browser, served, DESKTOP, java_script_enabled=False)
    plain.goto(url)
    assert plain.locator("#item-rows tbody tr").count() == 18
    assert not plain.is_visible("#item-filters")
    plain.context.close()


def test_item_page_links_every_asset_and_groups_properties(
    browser: Any, served: RunningSite, views_lab: Lab
) -> None:
    item = _first_item(views_lab)
    tab = _open(browser, served, DESKTOP)
    tab.goto(f"{served.url}datasets/land-cover/items/{item['id']}.html")
    links = tab.eval_on_selector_all("ul.assets a.download", "as => as.map(a => a.href)")
    assert len(links) == len(item["assets"]) >= 2
    for href in links:
        with urllib.request.urlopen(href) as response:  # every asset resolves over HTTP
            assert response.status == 200 and response.read(1)
    headings = tab.eval_on_selector_all(".panel h3", "hs => hs.map(h => h.innerText)")
    for group in ("Core", "Label", "ML AOI (splits)", "Projection"):
        assert group in headings
    tab.context.close()


def test_band_table_has_readable_numbers_and_headers(browser: Any, served: RunningSite) -> None:
    tab = _open(browser, served, DESKTOP)
    tab.goto(f"{served.url}datasets/land-cover/")
    headers = tab.eval_on_selector_all(".band-table th", "hs => hs.map(h => h.innerText)")
    assert headers[:7] == ["Band", "Pixels", "Nodata", "Min", "Max", "Mean", "Std"]
    cells = tab.eval_on_selector_all(".band-table td", "ds => ds.map(d => d.innerText)")
    assert "image B02" in cells and "18,432" in cells and "1,621" in cells and "865.2" in cells
    assert not any("e+" in c or "e-" in c for c in cells)
    plots = tab.eval_on_selector_all(
        ".plots figure",
        "fs => fs.map(f => [f.getBoundingClientRect().width, f.querySelector('a').href])",
    )
    assert plots and all(width >= 600 for width, _ in plots)  # legible, not squeezed in 300 px
    for _, href in plots:  # each opens full size
        with urllib.request.urlopen(href) as response:
            assert response.headers["Content-Type"] == "image/png"
    tab.context.close()


def test_versions_are_listed_with_a_page_and_a_json_diff_each(
    browser: Any, served: RunningSite, views_lab: Lab
) -> None:
    tab = _open(browser, served, DESKTOP)
    tab.goto(f"{served.url}datasets/land-cover/")
    rows = tab.eval_on_selector_all(
        ".versions-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert [r[0].split()[0] for r in rows] == ["1.1.0", "1.0.0"]
    assert [r[2] for r in rows] == ["18", "12"] and [r[4] for r in rows] == [
        "land-cover@1.1.0",
        "land-cover@1.0.0",
    ]
    for href in tab.eval_on_selector_all(
        ".versions-table a", "as => as.map(a => a.href)"
    ):  # collection, parquet, page and JSON of every version resolve
        with urllib.request.urlopen(href) as response:
            assert response.status == 200
    tab.click("text=+6 −0 ~0")
    tab.wait_for_load_state("load")
    assert tab.url.endswith("/versions/1.1.0.html")
    assert tab.inner_text("#n-added") == "6" and tab.inner_text("#n-removed") == "0"
    added = tab.eval_on_selector_all("#added a", "as => as.map(a => a.innerText)")
    with urllib.request.urlopen(f"{served.url}datasets/land-cover/versions/1.1.0.json") as r:
        data = json.load(r)
    assert data["previous"] == "1.0.0" and sorted(added) == sorted(data["diff"]["items"]["added"])
    assert data["before"]["items"] == 12 and data["after"]["items"] == 18
    assert data["after"]["classes"] == {c: 6 for c in sorted(CLASSES)}
    balance = tab.inner_text("#balance")
    assert "forest" in balance and "+2" in balance
    first = tab.eval_on_selector("#added a", "a => a.href")
    with urllib.request.urlopen(first) as response:  # the added item, in that version
        assert json.load(response)["id"] in added
    tab.wait_for_selector("#changes-map[data-drawn]")
    assert tab.get_attribute("#changes-map", "data-drawn") == "6"
    tab.context.close()


def test_model_page_is_a_model_page(browser: Any, served: RunningSite) -> None:
    tab = _open(browser, served, DESKTOP)
    tab.goto(f"{served.url}models/classifier/")
    text = tab.inner_text("main")
    for dataset_only in ("Browse all", "unversioned", "Where", "eotdl get classifier"):
        assert dataset_only not in text
    facts = tab.inner_text("#model-facts")
    assert "ResNet-18" in facts and "pytorch 2.5.0" in facts and "11,689,512" in facts
    assert tab.eval_on_selector_all(
        "#metrics-table tbody tr",
        "rs => rs.map(r => r.cells[0].innerText + ' ' + r.cells[1].innerText)",
    ) == ["test 0.8333", "validate 0.7500"]
    confusion = tab.eval_on_selector_all(
        "#confusion tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert confusion[1] == ["urban", "1", "1", "0", "2"]  # classes in mlm:output order
    recall = tab.eval_on_selector_all(
        "#per-class tbody tr", "rs => rs.map(r => r.cells[2].innerText)"
    )
    assert recall == ["1.0000", "0.5000", "1.0000"]
    assert tab.locator(".curve-figure svg polyline").count() == 3  # 2 losses, 1 metric
    bands = tab.eval_on_selector_all(
        "table.inputs tbody tr", "rs => rs.map(r => r.cells[0].innerText)"
    )
    assert bands == ["B02", "B03", "B04", "B08"]
    snippets = tab.inner_text("#use")
    assert "eotdl models get classifier" in snippets and "eotdl predict classifier/" in snippets
    tab.click("#trained-on")
    tab.wait_for_load_state("load")
    assert tab.url.endswith("datasets/land-cover/versions/1.1.0.html")
    tab.context.close()


def test_footprints_on_the_map_show_their_preview(browser: Any, served: RunningSite) -> None:
    tab = _open(browser, served, DESKTOP)
    tab.goto(f"{served.url}datasets/land-cover/")
    tab.wait_for_selector("#footprints-map[data-drawn]")
    assert tab.get_attribute("#footprints-map", "data-drawn") == "18"
    tab.evaluate(
        """() => {
        const map = document.getElementById('footprints-map').eotdlMap;
        let shape = null;
        map.eachLayer(l => {
            if (!shape && l.getTooltip && l.getTooltip() && l.getBounds) shape = l;
        });
        shape.openTooltip();
        }"""
    )
    tab.wait_for_selector(".leaflet-tooltip .map-tip img")
    assert _loaded(tab, ".leaflet-tooltip .map-tip img")[0] >= 128
    tab.context.close()
