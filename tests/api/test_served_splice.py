"""A spliced ``items.parquet`` serves exactly like a freshly written one, seen from the reader's
side: an incremental build that changes two items splices the file (only the row groups they
left or joined are written again, the others' bytes are copied, the footer is spliced); real
``eotdl serve`` processes on that site and on a full build of the same lab answer pystac-client
alike, page for page, and the file itself, fetched over HTTP, reads as the full build's."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pystac_client import Client
from synthetic import make_collection, make_item

from eotdl.catalog import geoparquet
from eotdl.catalog.geoparquet import read_items_parquet
from eotdl.catalog.lab import init_lab
from eotdl.catalog.parquetsplice import read_footer
from eotdl.site.build import build_site
from serveprocess import start_serve

NAME = "chips"
COUNT = 300
#: Rows per row group while building: 19 row groups, so replacing two leaves the dead bytes
#: well under parquetsplice.MAX_DEAD_SHARE and the build splices.
ROW_GROUP = 16
PARQUET = f"datasets/{NAME}/items.parquet"
#: The item whose property changes, its new value (no other item's is above 30).
CHANGED, NEW_CLOUD = f"{NAME}-0000050", 99.5
#: The item that moves in space and time: away from the others (all at latitude 35), to 2025.
MOVED, NEW_DATETIME = f"{NAME}-0000200", "2025-06-15T10:30:00Z"
NEW_BBOX = [-7.0, 36.0, -6.98, 36.02]
#: The item the edit adds (at latitude 35.05, where no other item is).
ADDED = f"{NAME}-{COUNT:07d}"


@dataclass
class Sites:
    spliced: str  # the served incremental build's URL
    full: str  # the served full build's URL
    spliced_file: Path
    full_file: Path
    old_cloud: float  # CHANGED's value before the edit
    old_datetime: str  # MOVED's datetime and bbox before the edit
    old_bbox: list[float]


def _group_of(path: Path, item_id: str) -> int:
    handle = pq.ParquetFile(path)
    for group in range(handle.metadata.num_row_groups):
        if item_id in handle.read_row_group(group, columns=["id"]).column("id").to_pylist():
            return group
    raise AssertionError(f"{item_id} is in no row group of {path}")


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    root = tmp_path_factory.mktemp("served-splice")
    lab = init_lab(root / "lab", title="Served splice")
    folder = lab.dataset(NAME)
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write_collection(make_collection(NAME, COUNT))
    folder.write_items(make_item(index, NAME) for index in range(COUNT))
    spliced_file = lab.site_dir / PARQUET
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(geoparquet, "ROW_GROUP", ROW_GROUP)
        # both sites' files are written as a large one is: sorted in parts on disk, read back
        # a key range at a time, written in segments of four row groups with one footer
        patch.setattr(geoparquet, "CHUNK", 25)
        patch.setattr(geoparquet, "SORT_BUCKET", 64)
        patch.setattr(geoparquet, "KEY_SAMPLE", 4)
        patch.setattr(geoparquet, "SEGMENT_GROUPS", 4)
        build_site(lab, qa=False)
        before = spliced_file.read_bytes()
        old_groups = pq.ParquetFile(spliced_file).metadata.num_row_groups
        assert old_groups > 6, old_groups
        assert before.count(b"PAR1") >= 4  # each segment's magic, and the file's end
        moved_group = _group_of(spliced_file, MOVED)
        _, old_data_end = read_footer(spliced_file)

        items = list(folder.iter_items())
        changed = next(i for i in items if i["id"] == CHANGED)
        old_cloud = changed["properties"]["eo:cloud_cover"]
        changed["properties"]["eo:cloud_cover"] = NEW_CLOUD
        moved = next(i for i in items if i["id"] == MOVED)
        old_datetime, old_bbox = moved["properties"]["datetime"], moved["bbox"]
        moved["properties"]["datetime"] = NEW_DATETIME
        w, s, e, n = NEW_BBOX
        moved["bbox"] = NEW_BBOX
        moved["geometry"] = {
            "type": "Polygon",
            "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
        }
        folder.write_items([*items, make_item(COUNT, NAME)])

        spliced: list[bool] = []
        real = geoparquet.splice_items_parquet

        def spying(*args: Any, **kwargs: Any) -> bool:
            spliced.append(real(*args, **kwargs))
            return spliced[-1]

        patch.setattr(geoparquet, "splice_items_parquet", spying)
        build_site(lab, qa=False)
        # the incremental build spliced the file (no silent full rewrite): the old row groups'
        # bytes are still its first bytes, the rewritten groups and a new footer follow them
        assert spliced == [True]
        after = spliced_file.read_bytes()
        assert after[:old_data_end] == before[:old_data_end]
        assert len(after) > len(before)
        assert pq.ParquetFile(spliced_file).metadata.num_row_groups == old_groups
        assert _group_of(spliced_file, MOVED) != moved_group  # it moved in the file

        full_site = root / "full"
        build_site(lab, full_site, qa=False, full=True)
    full_file = full_site / PARQUET
    assert spliced_file.read_bytes() != full_file.read_bytes()  # not the same file twice
    started = [start_serve(lab.site_dir), start_serve(full_site)]
    try:
        yield Sites(
            started[0].url,
            started[1].url,
            spliced_file,
            full_file,
            old_cloud,
            old_datetime,
            old_bbox,
        )
    finally:
        for served in started:
            served.stop()


def _search(url: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every page pystac-client fetches for a search, with the server's own address (in
    links and hrefs) replaced, so two servers' pages compare."""
    search = Client.open(url).search(**{"max_items": None, **kwargs})
    return [json.loads(json.dumps(page).replace(url, "SERVER")) for page in search.pages_as_dicts()]


def _alike(sites: Sites, **kwargs: Any) -> list[dict[str, Any]]:
    """The features both servers return for a search, checked to be page for page alike."""
    spliced, full = _search(sites.spliced, **kwargs), _search(sites.full, **kwargs)
    assert [[f["id"] for f in page["features"]] for page in spliced] == [
        [f["id"] for f in page["features"]] for page in full
    ], kwargs
    assert spliced == full, kwargs
    return [feature for page in spliced for feature in page["features"]]


def _ids(features: list[dict[str, Any]]) -> list[str]:
    return [feature["id"] for feature in features]


def _day(stamp: str) -> str:
    """The day around ``stamp`` as a datetime interval."""
    return f"{stamp[:10]}T00:00:00Z/{stamp[:10]}T23:59:59Z"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_paging_through_the_collection_is_alike(sites: Sites, method: str) -> None:
    features = _alike(sites, collections=[NAME], limit=7, method=method)
    assert len(features) == len(set(_ids(features))) == COUNT + 1
    assert ADDED in _ids(features)
    changed = next(f for f in features if f["id"] == CHANGED)
    assert changed["properties"]["eo:cloud_cover"] == NEW_CLOUD
    moved = next(f for f in features if f["id"] == MOVED)
    assert moved["properties"]["datetime"] == NEW_DATETIME and moved["bbox"] == NEW_BBOX


def test_the_moved_item_is_found_at_its_new_place_and_time_only(sites: Sites) -> None:
    w, s, e, n = NEW_BBOX
    there = _alike(sites, bbox=[w - 0.01, s - 0.01, e + 0.01, n + 0.01], limit=3)
    assert _ids(there) == [MOVED]
    assert _ids(_alike(sites, bbox=[-10.01, 35.04, -9.97, 35.08], limit=1)) == [ADDED]
    w, s, e, n = sites.old_bbox
    old_place = _alike(sites, bbox=[w + 0.001, s + 0.001, e - 0.001, n - 0.001], limit=3)
    assert MOVED not in _ids(old_place)
    assert _ids(_alike(sites, datetime=_day(NEW_DATETIME), limit=2)) == [MOVED]
    old_day = _alike(sites, datetime=_day(sites.old_datetime), limit=2)
    assert old_day and MOVED not in _ids(old_day)
    assert _ids(_alike(sites, datetime="2024-01-01T00:00:00Z/..", method="POST")) == [MOVED]
    shape = {"type": "Point", "coordinates": [(w + e) / 2, (s + n) / 2]}
    assert MOVED not in _ids(_alike(sites, intersects=shape, limit=2))
    w, s, e, n = NEW_BBOX
    shape = {"type": "Point", "coordinates": [(w + e) / 2, (s + n) / 2]}
    assert _ids(_alike(sites, intersects=shape, limit=2)) == [MOVED]
    # bbox and datetime together, over the stretch of the old row groups it left
    spans = _alike(sites, bbox=[-10, 34.9, 5, 36.1], datetime="2023-09-01/2025-12-31", limit=9)
    assert MOVED in _ids(spans) and len(spans) > 9


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_filter_on_the_changed_property_sees_its_new_value_only(
    sites: Sites, method: str
) -> None:
    above = {"op": ">", "args": [{"property": "eo:cloud_cover"}, 50]}
    assert _ids(_alike(sites, filter=above, filter_lang="cql2-json", method=method)) == [CHANGED]
    was = {"op": "=", "args": [{"property": "eo:cloud_cover"}, sites.old_cloud]}
    assert CHANGED not in _ids(_alike(sites, filter=was, filter_lang="cql2-json", method=method))
    text = f"eo:cloud_cover > 20 OR id = '{MOVED}'"
    some = _alike(sites, filter=text, filter_lang="cql2-text", limit=11, method=method)
    assert len(some) > 11 and CHANGED in _ids(some) and MOVED in _ids(some)
    top = _alike(sites, sortby="-eo:cloud_cover", limit=5, max_items=5, method=method)
    assert _ids(top)[0] == CHANGED and top[0]["properties"]["eo:cloud_cover"] == NEW_CLOUD


def test_ids_and_item_pages_are_alike(sites: Sites) -> None:
    wanted = [MOVED, CHANGED, ADDED, f"{NAME}-0000000", f"{NAME}-0000299"]
    found = _alike(sites, ids=wanted, limit=3)
    assert sorted(_ids(found)) == sorted(wanted)
    by_id = {f["id"]: f for f in found}
    assert by_id[CHANGED]["properties"]["eo:cloud_cover"] == NEW_CLOUD
    assert by_id[MOVED]["properties"]["datetime"] == NEW_DATETIME
    assert by_id[MOVED]["geometry"]["coordinates"][0][0] == NEW_BBOX[:2]
    served = []
    for url in (sites.spliced, sites.full):
        collection = Client.open(url).get_collection(NAME)
        item = collection.get_item(MOVED) if collection is not None else None
        assert item is not None
        served.append(json.loads(json.dumps(item.to_dict()).replace(url, "SERVER")))
    assert served[0] == served[1] and served[0]["bbox"] == NEW_BBOX


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(f"{url}/{PARQUET}", timeout=60) as response:
        return bytes(response.read())


def test_the_served_file_reads_as_the_full_builds(sites: Sites, tmp_path: Path) -> None:
    data = _fetch(sites.spliced)
    assert data == sites.spliced_file.read_bytes()  # the spliced file is what is served
    full_data = _fetch(sites.full)
    spliced, full = pq.read_table(io.BytesIO(data)), pq.read_table(io.BytesIO(full_data))
    assert spliced.num_rows == full.num_rows == COUNT + 1
    assert pq.read_metadata(io.BytesIO(data)).num_rows == COUNT + 1
    assert spliced.schema.equals(full.schema, check_metadata=True)
    assert spliced.sort_by("id").equals(full.sort_by("id"))
    assert spliced.equals(full)  # in the same order, too
    changed = spliced.filter(pc.equal(spliced["id"], CHANGED))
    assert changed["eo:cloud_cover"].to_pylist() == [NEW_CLOUD]
    copy = tmp_path / "items.parquet"
    copy.write_bytes(data)
    full_copy = tmp_path / "full.parquet"
    full_copy.write_bytes(full_data)
    assert list(read_items_parquet(copy)) == list(read_items_parquet(full_copy))
