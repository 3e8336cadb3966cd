"""`eotdl serve`: the STAC API answers pystac-client exactly as a brute-force filter does."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pystac_client
import pytest
from shapely.geometry import box, mapping, shape

from eotdl.api.index import load_index
from eotdl.api.routes import CONFORMANCE
from eotdl.api.server import make_server
from labs import make_lab, search_datasets
from searchdata import COLLECTIONS, brute_force, search_items


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("search")
    lab = make_lab(root, search_datasets(COLLECTIONS), title="Search test lab", build=True)
    server = make_server(load_index(str(lab.site_dir)), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", lab.site_dir
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str, data: bytes | None = None, method: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(body) if "json" in kind else body
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _random_filter(rng: random.Random) -> tuple[dict[str, Any], Any]:
    """A CQL2-JSON filter and the same condition in Python (CQL2's unknowns are false)."""
    c = round(rng.uniform(0, 30), 2)
    name = rng.choice(["eo:cloud_cover", "properties.eo:cloud_cover"])
    cloud_prop = {"property": name}

    def cloud(item: dict[str, Any]) -> float | None:
        return item["properties"].get("eo:cloud_cover")

    def klass(item: dict[str, Any]) -> str:
        return item["properties"]["class"]

    kind = rng.randrange(9)
    if kind == 0:
        return {"op": "<", "args": [cloud_prop, c]}, lambda i: cloud(i) is not None and cloud(i) < c
    if kind == 1:
        k = rng.choice(["forest", "water", "urban"])
        return {"op": "=", "args": [{"property": "class"}, k]}, lambda i: klass(i) == k
    if kind == 2:
        ks = rng.sample(["forest", "water", "urban"], 2)
        return (
            {
                "op": "and",
                "args": [
                    {"op": "in", "args": [{"property": "class"}, ks]},
                    {"op": ">=", "args": [cloud_prop, c]},
                ],
            },
            lambda i: klass(i) in ks and cloud(i) is not None and cloud(i) >= c,
        )
    if kind == 3:
        low, high = sorted([c, round(rng.uniform(0, 30), 2)])
        return (
            {"op": "not", "args": [{"op": "between", "args": [cloud_prop, low, high]}]},
            lambda i: cloud(i) is not None and not (low <= cloud(i) <= high),
        )
    if kind == 4:
        prefix = f"{rng.choice(list(COLLECTIONS))}-000{rng.randint(0, 15):02d}"
        return (
            {"op": "like", "args": [{"property": "id"}, prefix + "%"]},
            lambda i: i["id"].startswith(prefix),
        )
    if kind == 5:
        return (
            {
                "op": "or",
                "args": [
                    {"op": "isNull", "args": [cloud_prop]},
                    {"op": "<>", "args": [{"property": "class"}, "forest"]},
                ],
            },
            lambda i: cloud(i) is None or klass(i) != "forest",
        )
    if kind == 6:
        x = rng.uniform(-10.2, -2)
        area = box(x, 34.99, x + rng.uniform(0.02, 1.5), 35.05)
        return (
            {"op": "s_intersects", "args": [{"property": "geometry"}, mapping(area)]},
            lambda i: shape(i["geometry"]).intersects(area),
        )
    if kind == 7:
        month = rng.randint(1, 12)
        moment = dt.datetime(2023, month, 10, tzinfo=dt.UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            {"op": ">", "args": [{"property": "datetime"}, {"timestamp": text}]},
            lambda i: (
                dt.datetime.fromisoformat(i["properties"]["datetime"].replace("Z", "+00:00"))
                > moment
            ),
        )
    k = rng.choice(["forest", "water", "urban"])
    return (
        {
            "op": "or",
            "args": [
                {"op": "=", "args": [{"property": "class"}, k]},
                {"op": "<", "args": [cloud_prop, c]},
            ],
        },
        lambda i: klass(i) == k or (cloud(i) is not None and cloud(i) < c),
    )


def test_pystac_client_search_equals_brute_force(api):
    url, _ = api
    client = pystac_client.Client.open(url)
    assert [c.id for c in client.get_collections()] == list(COLLECTIONS)
    data = {name: search_items(name, n, seed) for seed, (name, n) in enumerate(COLLECTIONS.items())}
    all_ids = [i["id"] for items in data.values() for i in items]
    rng = random.Random(20240601)
    checked = 0
    for round_ in range(36):
        method = "GET" if round_ % 2 else "POST"
        kwargs: dict[str, Any] = {"limit": rng.randint(3, 60), "max_items": None, "method": method}
        expect: dict[str, Any] = {}
        if rng.random() < 0.3:
            chosen = rng.sample(list(COLLECTIONS), rng.randint(1, 2))
            kwargs["collections"] = chosen
            expect["collections"] = chosen
        if rng.random() < 0.15:
            ids = rng.sample(all_ids, rng.randint(1, 30))
            kwargs["ids"] = ids
            expect["ids"] = ids
        if rng.random() < 0.4:
            x = rng.uniform(-10.5, -1)
            bbox = [x, rng.uniform(34.9, 35.01), x + rng.uniform(0.01, 3), 35.1]
            kwargs["bbox"] = bbox
            expect["bbox"] = bbox
        if rng.random() < 0.4:
            start = dt.datetime(2023, rng.randint(1, 12), rng.randint(1, 28), tzinfo=dt.UTC)
            end = start + dt.timedelta(days=rng.randint(0, 90))
            form = rng.randrange(3)
            text = [
                f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
                f"../{end:%Y-%m-%dT%H:%M:%SZ}",
                f"{start:%Y-%m-%dT%H:%M:%SZ}/..",
            ][form]
            kwargs["datetime"] = text
            expect["interval"] = [(start, end), (None, end), (start, None)][form]
        if rng.random() < 0.6:
            cql, predicate = _random_filter(rng)
            kwargs["filter"] = cql
            kwargs["filter_lang"] = "cql2-json"
            expect["predicate"] = predicate
        if rng.random() < 0.4:
            field, descending = rng.choice(
                [
                    ("eo:cloud_cover", True),
                    ("eo:cloud_cover", False),
                    ("datetime", True),
                    ("datetime", False),
                    ("id", True),
                ]
            )
            prefix = "properties." if field == "eo:cloud_cover" and rng.random() < 0.5 else ""
            kwargs["sortby"] = f"{'-' if descending else '+'}{prefix}{field}"
            expect["sort"] = (field, descending)
        search = client.search(**kwargs)
        found = [item.id for item in search.items()]
        expected = brute_force(data, **expect)
        assert found == expected, (kwargs, len(found), len(expected))
        checked += len(expected)
    assert checked > 500  # the queries were not all empty


def test_landing_conformance_and_collections(api):
    url, _ = api
    status, landing = _get(url + "/")
    assert status == 200 and landing["conformsTo"] == CONFORMANCE
    rels = {(link["rel"], link.get("method")) for link in landing["links"]}
    assert {("search", "GET"), ("search", "POST"), ("conformance", None), ("data", None)} <= rels
    status, collections = _get(url + "/collections")
    assert [c["id"] for c in collections["collections"]] == list(COLLECTIONS)
    status, alpha = _get(url + "/collections/alpha")
    assert status == 200 and any(link["rel"] == "items" for link in alpha["links"])
    status, queryables = _get(url + "/collections/alpha/queryables")
    assert status == 200 and queryables["properties"]["eo:cloud_cover"] == {"type": "number"}
    status, item = _get(url + "/collections/alpha/items/alpha-0000003")
    assert status == 200 and item["id"] == "alpha-0000003" and item["collection"] == "alpha"
    assert next(link for link in item["links"] if link["rel"] == "self")["href"] == (
        url + "/collections/alpha/items/alpha-0000003"
    )


def test_items_endpoint_pages_with_next_links(api):
    url, _ = api
    seen: list[str] = []
    page_url: str | None = url + "/collections/beta/items?limit=50"
    pages = 0
    while page_url:
        status, page = _get(page_url)
        assert status == 200
        assert page["numberMatched"] == COLLECTIONS["beta"]
        seen += [f["id"] for f in page["features"]]
        page_url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        pages += 1
    in_file_order = brute_force({"beta": search_items("beta", COLLECTIONS["beta"], 1)})
    assert pages == 3 and seen == in_file_order and len(set(seen)) == COLLECTIONS["beta"]


def test_post_next_link_carries_the_body(api):
    url, _ = api
    body = {
        "collections": ["alpha"],
        "limit": 100,
        "filter": {"op": "=", "args": [{"property": "class"}, "water"]},
    }
    status, page = _get(url + "/search", json.dumps(body).encode(), "POST")
    assert status == 200
    link = (
        next(link for link in page["links"] if link["rel"] == "next")
        if (page["numberMatched"] > 100)
        else None
    )
    if link is not None:
        assert link["method"] == "POST" and link["body"]["filter"] == body["filter"]


def test_cql2_text_in_get(api):
    url, _ = api
    query = urllib.parse.urlencode(
        {"filter": "class = 'water' AND eo:cloud_cover < 10", "limit": 1000}
    )
    status, page = _get(f"{url}/search?{query}")
    assert status == 200 and page["numberMatched"] == page["numberReturned"] > 0
    for feature in page["features"]:
        assert feature["properties"]["class"] == "water"
        assert feature["properties"]["eo:cloud_cover"] < 10


@pytest.mark.parametrize(
    "query",
    [
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=0,10,1,5",
        "datetime=yesterday",
        "datetime=../..",
        "datetime=2023-05-01/2023-01-01",
        "limit=0",
        "limit=-3",
        "limit=ten",
        "token=-5",
        "token=abc",
        "filter=class%20%3D",
        "filter=eo%3Acloud_cover%20%3C%20%27x%27",
        "filter=%7B%22op%22%3A%22nope%22%2C%22args%22%3A%5B%5D%7D",
        "filter=%7Bbroken",
        "filter-lang=cql2-xml&filter=a%3D1",
        "sortby=-nothing_like_this",
        "intersects=%7B%22type%22%3A%22Polygon%22%7D",
        "intersects=notjson",
        "query=%7B%7D",
        "bbox=0,0,1,1&intersects=%7B%22type%22%3A%22Point%22%2C%22coordinates%22%3A%5B0%2C0%5D%7D",
        "collections=alpha&ids=",
    ],
)
def test_bad_queries_are_400s(api, query):
    url, _ = api
    status, body = _get(f"{url}/search?{query}")
    if query == "collections=alpha&ids=":
        assert status == 200  # an empty list is no filter
        return
    assert status == 400, body
    assert body["code"] == "BadRequest" and body["description"]


def test_bad_posts_and_paths(api):
    url, _ = api
    assert _get(url + "/search", b"{not json", "POST")[0] == 400
    assert _get(url + "/search", b"[1, 2]", "POST")[0] == 400
    assert _get(url + "/search", json.dumps({"limit": "x"}).encode(), "POST")[0] == 400
    assert _get(url + "/search", json.dumps({"bbox": "1,2"}).encode(), "POST")[0] == 400
    assert _get(url + "/search", json.dumps({"sortby": 5}).encode(), "POST")[0] == 400
    assert _get(url + "/collections/nope")[0] == 404
    assert _get(url + "/collections/alpha/items/nope")[0] == 404
    assert _get(url + "/collections", b"{}", "POST")[0] == 405
    assert _get(url + "/nothing/here.json")[0] == 404
    assert _get(url + "/../../etc/passwd")[0] == 404


def test_static_site_is_served(api):
    url, site = api
    status, catalog = _get(url + "/catalog.json")
    assert status == 200 and catalog == json.loads((site / "catalog.json").read_text())
    request = urllib.request.Request(
        url + "/datasets/alpha/items.parquet", headers={"Range": "bytes=0-3"}
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 206 and response.read() == b"PAR1"


def test_two_copies_serve_the_same_pages(api):
    """Stateless: a next link from one server works on another copy of it."""
    url, site = api
    other = make_server(load_index(str(site)), port=0)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        other_url = f"http://127.0.0.1:{other.server_address[1]}"
        _, first = _get(url + "/search?limit=7&sortby=-eo:cloud_cover")
        href = next(link["href"] for link in first["links"] if link["rel"] == "next")
        _, second_here = _get(href)
        _, second_there = _get(href.replace(url, other_url))
        assert [f["id"] for f in second_here["features"]] == [
            f["id"] for f in second_there["features"]
        ]
    finally:
        other.shutdown()
        other.server_close()


def test_service_desc_and_doc(api):
    url, _ = api
    _, landing = _get(url + "/")
    links = {link["rel"]: link for link in landing["links"]}
    assert links["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    request = urllib.request.Request(links["service-desc"]["href"])
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == links["service-desc"]["type"]
        document = json.loads(response.read())
    assert document["openapi"].startswith("3.") and "/search" in document["paths"]
    assert links["service-doc"]["type"] == "text/html"
    with urllib.request.urlopen(links["service-doc"]["href"]) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"STAC API" in response.read()


def test_every_page_has_self_next_and_prev_links(api):
    url, _ = api
    for page_url in (url + "/collections/beta/items?limit=50", url + "/search?limit=100"):
        _, first = _get(page_url)
        rels = {link["rel"]: link["href"] for link in first["links"]}
        assert rels["self"] == page_url and "next" in rels and "prev" not in rels
        _, second = _get(rels["next"])
        rels = {link["rel"]: link["href"] for link in second["links"]}
        assert {"self", "prev", "root"} <= set(rels)
        _, back = _get(rels["prev"])
        assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]
    body = {"collections": ["alpha"], "limit": 100}
    _, page = _get(url + "/search", json.dumps(body).encode(), "POST")
    following = next(link for link in page["links"] if link["rel"] == "next")
    _, second = _get(url + "/search", json.dumps(following["body"]).encode(), "POST")
    previous = next(link for link in second["links"] if link["rel"] == "prev")
    assert previous["method"] == "POST" and previous["body"]["token"] == "0"


def test_no_local_path_is_ever_served(api):
    url, site = api
    lab_root = site.parent
    served = [url]
    lab_server = make_server(load_index(str(lab_root)), port=0)  # a lab folder, not built
    threading.Thread(target=lab_server.serve_forever, daemon=True).start()
    served.append(f"http://127.0.0.1:{lab_server.server_address[1]}")
    try:
        for base in served:
            for path in (
                "/search?limit=500",
                "/collections",
                "/collections/alpha/items/alpha-0000003",
            ):
                request = urllib.request.Request(base + path)
                with urllib.request.urlopen(request) as response:
                    text = response.read().decode()
                assert "file://" not in text and str(lab_root) not in text, (base, path)
    finally:
        lab_server.shutdown()
        lab_server.server_close()
