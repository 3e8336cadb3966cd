"""A Python user's journey through ``eotdl``'s top-level names alone: make a lab, ingest with a
builder, validate, QA, build the site, download, search, serve a STAC API and load arrays, as
the usage in ``help(eotdl)`` and the README's Python section show."""

from __future__ import annotations

import threading
from pathlib import Path

import pystac_client

import eotdl
from rastergen import write_tif


def write_chips(folder: Path) -> Path:
    """Three classes of four seeded 16 px GeoTIFF chips, one folder per class."""
    for c, name in enumerate(["Forest", "Pasture", "River"]):
        for i in range(4):
            offset = (160.0 * i, -160.0 * c)
            write_tif(folder / name / f"{name}_{i}.tif", seed=10 * c + i, size=16, offset=offset)
    return folder


def test_a_dataset_from_ingest_to_arrays(tmp_path: Path, shared_mirror: Path):
    source = write_chips(tmp_path / "source")
    lab = eotdl.init_lab(tmp_path / "lab")
    assert eotdl.Lab.locate(lab.root / "datasets").root == lab.root

    made = eotdl.ingest(
        lab,
        "classification-folders",
        str(source),
        "chips",
        {"datetime": "2018-06-01"},
        split="stratified:0.5,0.25,0.25",
        progress=False,
    )
    assert (made.saved.items, made.saved.splits) == (12, {"train": 6, "validate": 3, "test": 3})
    assert eotdl.validate_target(str(lab.root)).ok
    qa = eotdl.run_qa(lab, "chips", eda=False)
    assert qa.to_dict()["dataset"] == "chips"
    eotdl.build_site(lab, qa=False)

    got = eotdl.get("chips", tmp_path / "download", lab=lab.site_dir, split="test", progress=False)
    assert (got.items, got.failed) == (3, [])
    page = eotdl.search_lab(
        lab.site_dir, collections=["chips"], filter="\"ml-aoi:split\" = 'train'"
    )
    assert page.matched == 6

    with eotdl.stac_api_server(lab.site_dir, port=0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            found = pystac_client.Client.open(server.url).search(collections=["chips"])
            assert len(list(found.items())) == 12
        finally:
            server.shutdown()

    x, y = eotdl.open_dataset("chips", lab=lab.root).to_numpy("validate")
    assert len(x) == len(y) == 3
