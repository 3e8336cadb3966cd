"""A one-item rebuild, run as `eotdl build` runs it (a fresh process), imports neither
stac-geoparquet nor pandas: the changed item's row is made from the file's schema
(:mod:`eotdl.catalog.arrowitems`) and spliced in (a big dataset) or the file written again
with its own schema and metadata (a small one); those imports were a third of its time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from synthetic import make_collection, make_item

from eotdl.catalog import canonical, geoparquet
from eotdl.catalog.lab import init_lab
from eotdl.site.build import build_site

REBUILD = """
import json, sys
from eotdl.catalog.lab import Lab
from eotdl.site.build import build_site
summary = build_site(Lab(sys.argv[1]), qa=False)
heavy = ("pandas", "stac_geoparquet", "shapely", "pystac", "pyproj")
print(json.dumps({"written": summary.items_written,
                  "imported": sorted(m for m in heavy if m in sys.modules)}))
"""


@pytest.mark.parametrize(
    ("count", "row_group"),
    [(1200, 64), (40, 1024)],
    ids=["spliced", "one-row-group-rewritten"],  # a splice replacing all of it is declined
)
def test_a_one_item_rebuild_imports_no_stac_geoparquet_or_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, row_group: int
) -> None:
    monkeypatch.setattr(geoparquet, "ROW_GROUP", row_group)
    lab = init_lab(tmp_path / "lab", title="Imports")
    folder = lab.dataset("chips")
    folder.write_collection(make_collection("chips", count))
    folder.write_items(make_item(n, "chips") for n in range(count))
    build_site(lab, qa=False)
    lines = folder.items_path.read_bytes().splitlines(keepends=True)
    item = canonical.loads(lines[count // 2])
    item["properties"]["eo:cloud_cover"] = 42.5
    lines[count // 2] = canonical.dumps(item) + b"\n"
    folder.items_path.write_bytes(b"".join(lines))

    env = {**os.environ, "EOTDL_SITE_TILES": "none"}
    done = subprocess.run(
        [sys.executable, "-c", REBUILD, str(lab.root)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"written": 1, "imported": []}, done.stderr[-2000:]
    table = pq.read_table(lab.site_dir / "datasets" / "chips" / "items.parquet")
    row = table.filter(pc.equal(table["id"], item["id"]))
    assert row.num_rows == 1 and row["eo:cloud_cover"].to_pylist() == [42.5]
    assert table.schema.metadata.keys() >= {b"geo", b"stac-geoparquet"}
    assert table.num_rows == count
