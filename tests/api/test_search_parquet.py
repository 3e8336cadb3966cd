"""Search from the parquet files in place: randomised queries against a brute-force answer.

A few thousand generated items (anywhere on Earth, some crossing the antimeridian, some with
no geometry, time ranges, missing properties; and a regional dataset in two versions, the
second a patch of the first) are written with small row groups, so that bbox and datetime
queries skip most of them; every answer (matches, order, pages) must be the brute-force one
and the in-memory engine's over the same file, with the decoded columns kept in memory and
without them. Without ``sortby`` the order is the file's (space-time, as the build writes it:
:func:`eotdl.catalog.geoparquet.spatial_keys`).
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Polygon, box, shape

from eotdl.api import parquet_engine
from eotdl.api.parquet_engine import ParquetTable
from eotdl.api.search import ItemIndex, SearchQuery
from eotdl.api.table import ItemTable
from eotdl.catalog import geoparquet
from eotdl.catalog.geoparquet import patch_items_parquet, write_items_parquet
from eotdl.catalog.locations import Reader
from eotdl.read.parquet import read_parquet

CLASSES = ["forest", "water", "urban", "crop"]
START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


#: The regional dataset: 30° by 30° over three years, so its row groups split time too.
REGION = (-20.0, 10.0, 30.0, 60.0)
COLLECTIONS = ["alpha", "beta", "gamma-1.0.0", "gamma-1.1.0"]


def _item(
    rng: random.Random, collection: str, index: int, region: tuple[float, ...] | None = None
) -> dict[str, Any]:
    if region is None:
        lon, lat = rng.uniform(-179, 178), rng.uniform(-85, 84)
    else:
        lon, lat = rng.uniform(region[0], region[1]), rng.uniform(region[2], region[3])
    size = rng.choice([0.01, 0.1, 1.0])
    geometry: dict[str, Any] | None = {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat]]],
    }
    bbox: list[float] | None = [lon, lat, lon + size, lat + size]
    roll = rng.random()
    if roll < 0.02:  # across the antimeridian
        geometry = {
            "type": "MultiPolygon",
            "coordinates": [
                [[[179.5, lat], [180, lat], [180, lat + 1], [179.5, lat]]],
                [[[-180, lat], [-179.5, lat], [-179.5, lat + 1], [-180, lat]]],
            ],
        }
        bbox = [179.5, lat, -179.5, lat + 1]
    elif roll < 0.05:
        geometry, bbox = None, None
    moment = START + dt.timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
    properties: dict[str, Any] = {"datetime": _stamp(moment), "class": rng.choice(CLASSES)}
    if rng.random() < 0.1:
        properties["datetime"] = None
        properties["start_datetime"] = _stamp(moment)
        properties["end_datetime"] = _stamp(moment + dt.timedelta(days=rng.randint(1, 90)))
    if rng.random() < 0.85:
        properties["cloud"] = round(rng.uniform(0, 100), 1)
    properties["count"] = rng.randint(0, 50)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": f"{collection}-{rng.randrange(10**6):06d}-{index}",
        "collection": collection,
        "geometry": geometry,
        "properties": properties,
        "links": [],
        "assets": {"data": {"href": f"./{index}.tif", "type": "image/tiff"}},
    }
    if bbox is not None:
        item["bbox"] = bbox
    return item


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("parquet-search")
    rng = random.Random(17)
    patch = pytest.MonkeyPatch()
    patch.setattr(geoparquet, "ROW_GROUP", 64)  # many row groups to skip
    patch.setattr(geoparquet, "SORT_BUCKET", 300)  # a large file's sort, range by range
    items: dict[str, list[dict[str, Any]]] = {}
    tables: list[ParquetTable] = []
    memory: list[ItemTable] = []
    position: dict[tuple[str, str], int] = {}  # each item's row in its file
    try:
        for name, count in (("alpha", 1500), ("beta", 1000), ("gamma-1.0.0", 1200)):
            region = REGION if name.startswith("gamma") else None
            patch.setattr(geoparquet, "ROW_GROUP", 64 if region is None else 32)
            items[name] = [_item(rng, name, i, region) for i in range(count)]
            path = root / name / "items.parquet"
            shuffled = sorted(items[name], key=lambda _: rng.random())
            write_items_parquet(shuffled, path, chunk_size=500)
        # the next version: a patch of the first (some items changed, some added, some gone)
        first = items["gamma-1.0.0"]
        changed = [
            {**i, "properties": {**i["properties"], "cloud": 1.0, "count": 99}}
            for i in rng.sample(first, 60)
        ]
        added = [_item(rng, "gamma-1.0.0", 5000 + i, REGION) for i in range(150)]
        gone = {i["id"] for i in rng.sample(first, 40)} - {i["id"] for i in changed}
        assert patch_items_parquet(
            root / "gamma-1.0.0" / "items.parquet",
            root / "gamma-1.1.0" / "items.parquet",
            [*changed, *added],
            removed=gone,
        )
        replaced = {i["id"]: i for i in changed}
        items["gamma-1.1.0"] = [
            replaced.get(i["id"], i) for i in first if i["id"] not in gone
        ] + added
        for name in COLLECTIONS:
            path = root / name / "items.parquet"
            tables.append(ParquetTable(name, str(path), str(path)))
            tables[-1].keep(wait=True)
            raw = read_parquet(str(path), Reader(), by_id=False)
            memory.append(ItemTable(name, raw, str(path)))
            position.update({(name, i): n for n, i in enumerate(raw.column("id").to_pylist())})
    finally:
        patch.undo()
    with pytest.MonkeyPatch.context() as nothing_kept:
        nothing_kept.setattr(parquet_engine, "CACHE_BYTES", 0)
        unkept = [ParquetTable(t.collection_id, t.path, t.base) for t in tables]
        for table in unkept:
            table.keep(wait=True)  # nothing fits in a budget of 0 bytes
        assert all(t.boxes is None and t.spans is None for t in unkept)
        assert all(t.kept(n) is None for t in unkept for n in ("cloud", "class", "count"))
    assert all(t.boxes is not None and t.spans is not None for t in tables)
    shapes = {
        i["id"]: shape(i["geometry"]) if i["geometry"] else None
        for group in items.values()
        for i in group
    }
    return {
        "items": items,
        "shapes": shapes,
        "parquet": ItemIndex(tables),
        "unkept": ItemIndex(unkept),
        "memory": ItemIndex(memory),
        "tables": tables,
        "position": position,
    }


# -- brute force ----------------------------------------------------------------------------


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _value(item: dict[str, Any], name: str) -> Any:
    if name == "id":
        return item["id"]
    value = item["properties"].get(name)
    return _time(value) if name.endswith("datetime") else value


def _truth(node: Any, item: dict[str, Any]) -> bool | None:
    """CQL2's three-valued logic (None: unknown)."""
    op, args = node["op"], node["args"]
    if op in ("and", "or"):
        values = [_truth(a, item) for a in args]
        if op == "and":
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)
    value = _value(item, args[0]["property"])
    if op == "isNull":
        return value is None
    if value is None:
        return None
    if op == "in":
        return value in args[1]
    if op == "between":
        return args[1] <= value <= args[2]
    other = args[1]
    if isinstance(other, dict):
        other = _time(other["timestamp"])
    return {
        "=": value == other,
        "<>": value != other,
        "<": value < other,
        "<=": value <= other,
        ">": value > other,
        ">=": value >= other,
    }[op]


def _brute(site: dict[str, Any], query: SearchQuery) -> tuple[int, list[str]]:
    hits: list[tuple[int, str, dict[str, Any]]] = []
    area = query.intersects
    if query.bbox is not None:
        minx, miny, maxx, maxy = query.bbox
        if minx > maxx:
            area = box(minx, miny, 180, maxy).union(box(-180, miny, maxx, maxy))
        else:
            area = box(minx, miny, maxx, maxy)
    for c, (name, items) in enumerate(site["items"].items()):
        if query.collections is not None and name not in query.collections:
            continue
        for item in sorted(items, key=lambda i: site["position"][name, i["id"]]):
            if query.ids is not None and item["id"] not in query.ids:
                continue
            if area is not None:
                geometry = site["shapes"][item["id"]]
                if geometry is None or not geometry.intersects(area):
                    continue
            if query.interval is not None:
                props = item["properties"]
                start = _time(props.get("start_datetime") or props.get("datetime"))
                end = _time(props.get("end_datetime") or props.get("datetime"))
                low, high = query.interval
                if start is None or end is None:
                    continue
                if (high is not None and start > high) or (low is not None and end < low):
                    continue
            if query.filter is not None and _truth(query.filter, item) is not True:
                continue
            hits.append((c, item["id"], item))
    for name, descending in reversed(query.sortby):
        present = [h for h in hits if _value(h[2], name) is not None]
        missing = [h for h in hits if _value(h[2], name) is None]
        present.sort(key=lambda h: _value(h[2], name), reverse=descending)
        hits = present + missing
    page = hits[query.offset : query.offset + query.limit]
    return len(hits), [item["id"] for _, _, item in page]


# -- random queries -------------------------------------------------------------------------


def _random_filter(rng: random.Random) -> dict[str, Any]:
    def leaf() -> dict[str, Any]:
        kind = rng.choice(["cloud", "class", "count", "in", "between", "null", "time"])
        if kind == "cloud":
            op = rng.choice(["<", "<=", ">", ">=", "=", "<>"])
            return {"op": op, "args": [{"property": "cloud"}, round(rng.uniform(0, 100), 1)]}
        if kind == "class":
            op = rng.choice(["=", "<>", "<", ">="])
            return {"op": op, "args": [{"property": "class"}, rng.choice(CLASSES)]}
        if kind == "count":
            return {
                "op": rng.choice(["<", ">="]),
                "args": [{"property": "count"}, rng.randint(0, 50)],
            }
        if kind == "in":
            return {"op": "in", "args": [{"property": "class"}, rng.sample(CLASSES, 2)]}
        if kind == "between":
            low = rng.randint(0, 40)
            return {"op": "between", "args": [{"property": "count"}, low, low + 5]}
        if kind == "null":
            return {"op": "isNull", "args": [{"property": "cloud"}]}
        moment = START + dt.timedelta(days=rng.randint(0, 3 * 365))
        return {
            "op": rng.choice(["<", ">="]),
            "args": [{"property": "datetime"}, {"timestamp": _stamp(moment)}],
        }

    if rng.random() < 0.5:
        return leaf()
    return {"op": rng.choice(["and", "or"]), "args": [leaf(), leaf()]}


def _random_query(rng: random.Random, site: dict[str, Any]) -> SearchQuery:
    query = SearchQuery(limit=rng.choice([1, 5, 10, 50, 400]))
    if rng.random() < 0.6:
        x, y = rng.uniform(-180, 170), rng.uniform(-90, 80)
        w, h = rng.choice([0.5, 5, 30]), rng.choice([0.5, 5, 30])
        query.bbox = (x, y, min(180, x + w), min(90, y + h))
        if rng.random() < 0.1:
            query.bbox = (rng.uniform(150, 179), y, rng.uniform(-179, -150), min(90, y + h))
        elif rng.random() < 0.3:  # in the regional dataset
            x, y = rng.uniform(REGION[0], REGION[1]), rng.uniform(REGION[2], REGION[3])
            query.bbox = (x, y, x + w / 4, y + h / 4)
    elif rng.random() < 0.2:
        x, y = rng.uniform(-40, 20), rng.uniform(-20, 50)
        query.intersects = Polygon([(x, y), (x + 15, y + 2), (x + 4, y + 12), (x, y)])
    if rng.random() < 0.5:
        low = START + dt.timedelta(days=rng.randint(-30, 3 * 365))
        high = low + dt.timedelta(days=rng.choice([1, 10, 100, 400]))
        query.interval = rng.choice([(low, high), (None, high), (low, None)])
    if rng.random() < 0.5:
        query.filter = _random_filter(rng)
    if rng.random() < 0.1:
        everything = [i["id"] for group in site["items"].values() for i in group]
        query.ids = rng.sample(everything, 40)
    if rng.random() < 0.2:
        query.collections = rng.sample(COLLECTIONS, rng.choice([1, 2]))
    if rng.random() < 0.4:
        field = rng.choice(["cloud", "count", "class", "datetime", "id"])
        query.sortby = [(field, rng.random() < 0.5)]
    if rng.random() < 0.4:
        query.offset = rng.choice([0, 3, 10, 100, 2000])
    return query


def _answer(index: ItemIndex, query: SearchQuery) -> tuple[int, list[str]]:
    result = index.search(query)
    return result.matched, [item["id"] for item in result.items()]


def test_random_queries_match_brute_force_and_the_memory_engine(site: dict[str, Any]) -> None:
    rng = random.Random(2026)
    nonempty = 0
    for n in range(200):
        query = _random_query(rng, site)
        expected = _brute(site, query)
        assert _answer(site["parquet"], query) == expected, (n, query)
        assert _answer(site["unkept"], query) == expected, (n, query)
        assert _answer(site["memory"], query) == expected, (n, query)
        nonempty += bool(expected[1])
    assert nonempty > 80  # the queries found something


def test_files_are_in_row_groups_that_queries_skip(site: dict[str, Any]) -> None:
    for table in site["tables"]:
        order = geoparquet.sort_order(pq.read_table(table.path)).to_pylist()
        assert order == sorted(order)  # written in space-time order, patched files too
    table = site["tables"][0]  # global, three years: cut in space first
    groups = table.metadata.num_row_groups
    assert groups >= 20
    assert pq.read_metadata(table.path).row_group(0).num_rows == 64
    small = SearchQuery(bbox=(30, 20, 33, 23))
    assert 0 < len(table._groups(small)) < groups // 4
    regional = site["tables"][2]  # 30° and three years: cut in space and in time
    groups = regional.metadata.num_row_groups
    moment = START + dt.timedelta(days=400)
    day = SearchQuery(interval=(moment, moment + dt.timedelta(days=1)))
    assert 0 < len(regional._groups(day)) < groups // 2
    square = SearchQuery(bbox=(-10, 40, -7, 43))
    assert 0 < len(regional._groups(square)) < groups // 2
    ids = table.table.column_names
    assert "bbox" in ids and "geometry" in ids


def test_only_the_geometries_needed_are_read(site: dict[str, Any]) -> None:
    """A bbox query parses the geometries of the items its bbox only partly covers."""
    table: ParquetTable = site["tables"][0]
    query = SearchQuery(bbox=(-60, -40, 60, 40))
    asked: list[int] = []
    original = table.geometries

    def counted(rows: Any) -> Any:
        asked.extend(rows.tolist())
        return original(rows)

    patch = pytest.MonkeyPatch()
    patch.setattr(table, "geometries", counted)
    try:
        matched = table.match(query, 10, False)[1]
    finally:
        patch.undo()
    assert len(matched) > 100
    assert 0 < len(asked) < len(matched) // 4


def test_paging_walks_every_match_once(site: dict[str, Any]) -> None:
    query = SearchQuery(
        bbox=(-60, -40, 60, 40), filter={"op": ">", "args": [{"property": "cloud"}, 50]}
    )
    total, _ = _brute(site, SearchQuery(**{**query.__dict__, "limit": 10**6}))
    seen: list[tuple[str, str]] = []  # (collection, id): two versions share their ids
    while True:
        result = site["parquet"].search(query)
        assert result.matched == total
        if not result.rows:
            break
        names = [table.collection_id for table, _ in result.rows]
        seen += zip(names, [item["id"] for item in result.items()], strict=True)
        query.offset += len(result.rows)
        query.limit = 97
    assert len(seen) == len(set(seen)) == total
    assert {name for name, _ in seen} == set(COLLECTIONS)


def test_items_and_lookups_read_back_whole(site: dict[str, Any]) -> None:
    table: ParquetTable = site["tables"][1]
    original = {i["id"]: i for i in site["items"]["beta"]}
    for item_id in random.Random(3).sample(sorted(original), 25):
        row = table.row_of.get(item_id)
        assert row is not None
        item = table.items([row])[0]
        assert item["id"] == item_id
        assert item["properties"]["class"] == original[item_id]["properties"]["class"]
        assert item["assets"] == original[item_id]["assets"]
    assert table.row_of.get("no-such-item") is None
    assert len(table) == 1000


def test_two_loads_answer_alike(site: dict[str, Any]) -> None:
    """Stateless: a second process (here a second load of the same files) answers alike."""
    again = ItemIndex(ParquetTable(t.collection_id, t.path, t.base) for t in site["tables"])
    loading = [ParquetTable(t.collection_id, t.path, t.base) for t in site["tables"]]
    for table in loading:
        table.keep()  # in the background: the first searches wait for it
    rng = random.Random(5)
    for _ in range(30):
        query = _random_query(rng, site)
        expected = _answer(site["parquet"], query)
        assert _answer(ItemIndex(loading), query) == expected
        assert _answer(again, query) == expected


def test_a_footer_whose_row_count_is_wrong_is_refused(tmp_path: Path) -> None:
    """A spliced footer must count the rows of its row groups: one that does not is refused
    with what is wrong, not served with pages that miss rows or run past the end."""
    from eotdl.catalog.parquetsplice import MAGIC, _assembled, read_footer

    rng = random.Random(5)
    items = [_item(rng, "c", i) for i in range(300)]
    patch = pytest.MonkeyPatch()
    patch.setattr(geoparquet, "ROW_GROUP", 64)
    try:
        write_items_parquet(items, tmp_path / "good.parquet")
    finally:
        patch.undo()
    assert len(ParquetTable("c", str(tmp_path / "good.parquet"))) == 300
    footer, data_end = read_footer(tmp_path / "good.parquet", use_index=False)
    groups = [footer.data[a:b] for a, b in footer.row_groups]
    sizes = [(rows + 1, size) for rows, size in footer.sizes]  # one row too many per group
    wrong = _assembled(footer, groups, sizes).data
    data = (tmp_path / "good.parquet").read_bytes()[:data_end]
    (tmp_path / "bad.parquet").write_bytes(data + wrong + len(wrong).to_bytes(4, "little") + MAGIC)
    assert pq.read_metadata(tmp_path / "bad.parquet").num_rows == 300 + len(groups)
    with pytest.raises(
        pa.ArrowInvalid, match=r"footer counts 30\d rows but its row groups hold 300"
    ):
        ParquetTable("c", str(tmp_path / "bad.parquet"))
