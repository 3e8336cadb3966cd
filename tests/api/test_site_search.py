"""``search_lab``: what ``eotdl search`` does, from Python (query, checks, absolute hrefs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eotdl.api.site_search import search_lab
from eotdl.catalog.lab import LAB_ENV, Lab
from eotdl.errors import InputError
from labs import make_lab, search_datasets
from searchdata import COLLECTIONS


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    root = tmp_path_factory.mktemp("site-search")
    return make_lab(root, search_datasets(COLLECTIONS), title="Search test lab", build=True)


def test_filters_sorts_and_limits(lab: Lab):
    page = search_lab(
        lab.site_dir,
        collections=["beta"],
        filter="class = 'water'",
        sortby="-eo:cloud_cover",
        limit=0,
    )
    assert page.items and page.returned == page.matched
    assert all(
        i["collection"] == "beta" and i["properties"]["class"] == "water" for i in page.items
    )
    clouds = [
        i["properties"]["eo:cloud_cover"] for i in page.items if "eo:cloud_cover" in i["properties"]
    ]
    assert clouds == sorted(clouds, reverse=True)

    limited = search_lab(lab.site_dir, limit=5)
    assert limited.returned == 5 and limited.matched == sum(COLLECTIONS.values())
    collection = limited.feature_collection()
    assert collection["numberReturned"] == 5 and collection["numberMatched"] == limited.matched


def test_python_values_and_text_give_the_same_page(lab: Lab):
    as_text = search_lab(lab.site_dir, bbox="-10,34,-9,36", ids=None, limit=0)
    as_values = search_lab(lab.site_dir, bbox=[-10, 34, -9, 36], limit=0)
    assert [i["id"] for i in as_text.items] == [i["id"] for i in as_values.items]
    assert as_text.items
    json_filter = {"op": "=", "args": [{"property": "class"}, "urban"]}
    by_dict = search_lab(lab.site_dir, filter=json_filter, limit=0)
    by_text = search_lab(lab.site_dir, filter="class = 'urban'", limit=0)
    assert [i["id"] for i in by_dict.items] == [i["id"] for i in by_text.items] != []
    two = [as_text.items[0]["id"], as_text.items[-1]["id"]]
    assert sorted(i["id"] for i in search_lab(lab.site_dir, ids=two).items) == sorted(set(two))


def test_hrefs_are_absolute_from_a_site_and_from_the_lab(lab: Lab):
    from_site = search_lab(lab.site_dir, filter="class = 'water'", limit=0)
    from_lab = search_lab(lab, filter="class = 'water'", limit=0)  # no build needed
    assert [i["id"] for i in from_site.items] == [i["id"] for i in from_lab.items]
    for page in (from_site, from_lab):
        for item in page.items:
            for asset in item["assets"].values():
                assert "://" in asset["href"] or Path(asset["href"]).is_absolute(), asset


def test_default_is_the_built_site_of_the_lab_here(lab: Lab, monkeypatch):
    monkeypatch.delenv(LAB_ENV, raising=False)
    monkeypatch.chdir(lab.root / "datasets")
    here = search_lab(limit=0)
    assert here.matched == sum(COLLECTIONS.values())
    assert all(str(lab.site_dir) in i["assets"]["image"]["href"] for i in here.items[:3])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"collections": ["gamma"]}, "no collection 'gamma'"),
        ({"limit": -1}, "limit -1: must be 0"),
        ({"datetime": "2023-02-30"}, "'2023-02-30' is not a date"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"filter": "class = "}, "invalid filter"),
    ],
)
def test_bad_input_is_one_input_error(lab: Lab, kwargs: dict, message: str):
    with pytest.raises(InputError, match=message):
        search_lab(lab.site_dir, **kwargs)
