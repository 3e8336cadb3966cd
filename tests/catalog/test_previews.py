"""Previews: the quicklook renderer (pure) and thumbnails added to a lab's raster items."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eotdl.builders.ingestion import ingest
from eotdl.catalog.hrefkeys import store_key
from eotdl.catalog.lab import init_lab
from eotdl.catalog.previews import add_previews, ensure_previews, preview_href
from eotdl.catalog.quicklook import (
    Box,
    Chip,
    display_bands,
    palette_color,
    read_chip,
    render_png,
    stretch_limits,
)
from eotdl.storage.hashing import sha256_of_checksum
from rastergen import write_mask, write_tif


def _image(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_bands_by_common_name_then_sentinel2_name_then_first_three_then_one():
    common = {"eo:bands": [{"common_name": c} for c in ("nir", "blue", "green", "red")]}
    assert display_bands(common) == [4, 3, 2]
    sentinel = {"eo:bands": [{"description": d} for d in ("B02", "B03", "B04", "B08")]}
    assert display_bands(sentinel) == [3, 2, 1]
    assert display_bands({"eo:bands": [{"name": n} for n in "abcd"]}) == [1, 2, 3]
    assert display_bands({"eo:bands": [{"name": "ndvi"}]}) == [1]
    assert display_bands({}, count=1) == [1]


def test_decimated_read_never_exceeds_the_preview_size(tmp_path: Path):
    path = write_tif(tmp_path / "big.tif", bands=3, size=1000)
    chip = read_chip(path, [1, 2, 3], max_side=256)
    assert chip.data.shape == (3, 256, 256)
    assert chip.source_shape == (1000, 1000)


def test_stretch_is_percentiles_of_valid_pixels_only():
    data = np.arange(100, dtype=np.float32).reshape(1, 10, 10)
    valid = np.ones((10, 10), dtype=bool)
    valid[0, :] = False  # values 0..9 are nodata
    lo, hi = stretch_limits([Chip(data, valid, (10, 10))])[0]
    assert lo == pytest.approx(np.percentile(np.arange(10, 100), 2))
    assert hi == pytest.approx(np.percentile(np.arange(10, 100), 98))


def test_nodata_is_transparent_and_one_band_uses_a_colormap():
    data = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1))[None]
    valid = np.ones((8, 8), dtype=bool)
    valid[:, 0] = False
    pixels = _image(render_png(Chip(data, valid, (8, 8)), [[0.0, 1.0]], min_side=8))
    assert (pixels[:, 0, 3] == 0).all() and (pixels[:, 1:, 3] == 255).all()
    low, high = pixels[0, 1, :3], pixels[0, 7, :3]
    assert tuple(low) != tuple(high) and not (low == low[0]).all()  # coloured, not grey


def test_mask_boxes_and_caption_are_drawn_over_the_chip():
    grey = np.full((3, 64, 64), 0.5, dtype=np.float32)
    chip = Chip(grey, np.ones((64, 64), dtype=bool), (64, 64))
    plain = _image(render_png(chip, [[0.0, 1.0]] * 3, min_side=64))
    mask = np.full((64, 64), -1)
    mask[:32] = 2
    blended = _image(render_png(chip, [[0.0, 1.0]] * 3, mask=mask, min_side=64))
    assert (blended[40, 10] == plain[40, 10]).all()
    red = palette_color(2)[0]
    assert abs(int(blended[10, 10, 0]) - int(0.45 * plain[10, 10, 0] + 0.55 * red)) <= 1
    boxed = _image(
        render_png(chip, [[0.0, 1.0]] * 3, boxes=[Box((10, 10, 50, 50), 1)], min_side=64)
    )
    assert tuple(boxed[10, 30, :3]) == palette_color(1)
    captioned = _image(render_png(chip, [[0.0, 1.0]] * 3, caption="water", min_side=64))
    assert (captioned[-3] != plain[-3]).any() and (captioned[5] == plain[5]).all()


def _eurosat(root: Path) -> Path:
    for n, name in enumerate(("water", "forest", "urban")):
        for k in range(3):
            write_tif(root / name / f"{name}{k}_20230415.tif", seed=10 * n + k, bands=4, size=32)
    return root


def test_ingest_gives_every_raster_item_a_stored_thumbnail(tmp_path: Path):
    lab = init_lab(tmp_path / "lab")
    ingest(lab, "classification-folders", str(_eurosat(tmp_path / "src")), "chips", progress=False)
    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    assert len(items) == 9
    for item in items:
        asset = item["assets"]["thumbnail"]
        assert asset["roles"] == ["thumbnail"] and asset["type"] == "image/png"
        key = store_key(lab, folder.path, asset["href"])
        assert key is not None and key.startswith("objects/sha256/") and key.endswith(".png")
        path = lab.root / "store" / key
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert sha256_of_checksum(asset["file:checksum"]) == digest
        assert path.stat().st_size == asset["file:size"]
        picture = Image.open(path)
        assert picture.format == "PNG" and max(picture.size) >= 128
    again = add_previews(lab, folder)
    assert again.made == 0 and again.had == 9


def test_build_adds_previews_only_where_missing(tmp_path: Path):
    lab = init_lab(tmp_path / "lab")
    ingest(lab, "classification-folders", str(_eurosat(tmp_path / "src")), "chips", progress=False)
    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    kept = preview_href(items[0])
    for item in items[1:]:
        del item["assets"]["thumbnail"]
    folder.write_items(items)
    result = ensure_previews(lab, folder)
    assert result is not None and result.made == 8 and result.had == 1
    assert preview_href(next(folder.iter_items())) == kept
    assert ensure_previews(lab, folder) is None  # unchanged since: nothing read


def test_segmentation_masks_are_blended_in_the_class_palette(tmp_path: Path):
    lab = init_lab(tmp_path / "lab")
    for k in range(2):
        write_tif(tmp_path / "src/images" / f"t{k}_20230415.tif", seed=k, bands=3, size=32)
        write_mask(tmp_path / "src/masks" / f"t{k}_20230415.tif", [1, 2], seed=k, size=32)
    (tmp_path / "classes.json").write_text(json.dumps({"1": "water", "2": "land"}))
    ingest(
        lab,
        "segmentation-pairs",
        str(tmp_path / "src"),
        "seg",
        {"classes": tmp_path / "classes.json"},
        progress=False,
    )
    folder = lab.dataset("seg")
    item = next(folder.iter_items())
    key = store_key(lab, folder.path, preview_href(item) or "")
    pixels = np.asarray(Image.open(lab.root / "store" / str(key)).convert("RGB"), dtype=int)
    first, second = palette_color(0), palette_color(1)
    # every pixel is tinted towards one of the two class colours (55 % of the colour)
    towards = [np.abs(pixels - np.array(c) * 0.55).max(axis=-1) for c in (first, second)]
    assert (np.minimum(*towards) <= 0.45 * 255 + 2).all()


def test_a_reingest_keeps_the_previews_of_unchanged_chips(tmp_path: Path):
    lab = init_lab(tmp_path / "lab")
    source = _eurosat(tmp_path / "src")
    ingest(lab, "classification-folders", str(source), "chips", progress=False)
    before = {i["id"]: i["assets"]["thumbnail"] for i in lab.dataset("chips").iter_items()}
    write_tif(source / "water" / "water9_20230415.tif", seed=99, bands=4, size=32)
    (source / "urban" / "urban0_20230415.tif").rename(source / "forest" / "urban0_20230415.tif")
    ingest(lab, "classification-folders", str(source), "chips", progress=False)
    after = {i["id"]: i["assets"]["thumbnail"] for i in lab.dataset("chips").iter_items()}
    assert len(after) == 10
    same = {k for k in before if k in after and before[k] == after[k]}
    changed = set(after) - same
    assert len(same) == 8 and all(("water9" in k or "urban0" in k) for k in changed)


def test_png_chips_get_previews_too(tmp_path: Path):
    import warnings

    import rasterio

    for n, name in enumerate(("sea", "land")):
        for k in range(2):
            path = tmp_path / "src" / name / f"{name}{k}_20230415.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            profile = {"driver": "PNG", "width": 16, "height": 16, "count": 3, "dtype": "uint8"}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with rasterio.open(path, "w", **profile) as dst:
                    dst.write(np.full((3, 16, 16), 40 + 100 * n + k, dtype="uint8"))
    lab = init_lab(tmp_path / "lab")
    ingest(lab, "classification-folders", str(tmp_path / "src"), "pngs", progress=False)
    items = list(lab.dataset("pngs").iter_items())
    assert len(items) == 4 and all(preview_href(i) for i in items)


def test_ensure_lab_previews_goes_dataset_by_dataset(tmp_path: Path):
    from eotdl.catalog.previews import ensure_lab_previews
    from eotdl.errors import InputError

    lab = init_lab(tmp_path / "lab")
    ingest(lab, "classification-folders", str(_eurosat(tmp_path / "src")), "chips", progress=False)
    done = list(ensure_lab_previews(lab))  # every dataset by default
    assert [name for name, _ in done] == ["chips"]
    assert done[0][1] is not None and done[0][1].had == 9
    assert list(ensure_lab_previews(lab, ["chips"])) == [("chips", None)]  # unchanged since
    passes = ensure_lab_previews(lab, ["chips", "nope"])
    assert next(passes) == ("chips", None)  # the datasets before a bad name are done
    with pytest.raises(InputError, match="no dataset 'nope'"):
        next(passes)
