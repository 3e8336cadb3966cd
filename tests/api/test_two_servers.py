"""Stateless serving: two ``eotdl serve`` processes on the same built site answer every query
alike, byte for byte, as two replicas behind a load balancer must. Real processes on
127.0.0.1, asked through HTTP (and through pystac-client, as a reader would)."""

from __future__ import annotations

import json
import random
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from pystac_client import Client

from labs import Dataset, make_lab
from serveprocess import start_serve

DATASETS = {"forests": 700, "rivers": 300}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    contents = [
        Dataset(name, "synthetic", count=count, seed=seed)
        for seed, (name, count) in enumerate(DATASETS.items())
    ]
    lab = make_lab(tmp_path_factory.mktemp("two"), contents, title="Two servers", build=True)
    started = [start_serve(lab.site_dir), start_serve(lab.site_dir)]
    try:
        yield [served.url for served in started]
    finally:
        for served in started:
            served.stop()


def _queries(count: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(17)
    for _ in range(count):
        query: dict[str, Any] = {"limit": rng.choice([1, 7, 50, 200])}
        if rng.random() < 0.6:
            x, y = rng.uniform(-10, 4), rng.uniform(35, 37)
            query["bbox"] = [round(x, 3), round(y, 3), round(x + rng.uniform(0.1, 3), 3), 37.5]
        if rng.random() < 0.5:
            month = rng.randint(1, 12)
            query["datetime"] = f"2023-{month:02d}-01T00:00:00Z/2023-{month:02d}-20T00:00:00Z"
        if rng.random() < 0.5:
            query["filter"] = {
                "op": "<",
                "args": [{"property": "eo:cloud_cover"}, round(rng.uniform(0, 30), 1)],
            }
        if rng.random() < 0.3:
            query["sortby"] = [{"field": "properties.eo:cloud_cover", "direction": "desc"}]
        if rng.random() < 0.5:
            query["collections"] = [rng.choice(list(DATASETS))]
        yield query


def _post(url: str, body: dict[str, Any]) -> bytes:
    request = urllib.request.Request(
        f"{url}/search",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Host": "replica.example"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def test_two_serve_processes_answer_every_query_byte_for_byte_alike(servers: list[str]) -> None:
    first, second = servers
    matched = 0
    for query in _queries(60):
        a, b = _post(first, query), _post(second, query)
        assert a == b, f"the replicas differ on {query}"
        matched += len(json.loads(a)["features"])
    assert matched > 0  # the queries found something: the comparison is not of empty pages


def test_paging_across_the_two_replicas_walks_every_item_once(servers: list[str]) -> None:
    """A reader whose pages land on alternate replicas (round-robin) sees each item once."""
    ids: list[str] = []
    body: dict[str, Any] | None = {"collections": ["forests"], "limit": 64}
    page = 0
    while body is not None and page < 100:
        answer = json.loads(_post(servers[page % 2], body))
        ids += [f["id"] for f in answer["features"]]
        following = [link for link in answer["links"] if link["rel"] == "next"]
        body = following[0]["body"] if following else None  # POST paging: the next body
        page += 1
    assert page > 2  # it did page, across both replicas
    assert len(ids) == len(set(ids)) == DATASETS["forests"]


def test_pystac_client_sees_the_same_items_from_each_replica(servers: list[str]) -> None:
    found = []
    for url in servers:
        client = Client.open(url)
        search = client.search(collections=["rivers"], bbox=[-10, 35, 0, 36], max_items=500)
        found.append(sorted(item.id for item in search.items()))
    assert found[0] == found[1] and found[0]
