"""The labelling page in a real browser (Debian's Chromium through Playwright), end to end:
label chips with keys, draw and edit boxes with the mouse, export the file the page downloads,
apply it with `eotdl labels apply`, see it in `eotdl diff`, and validate the lab."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browsers import ARGS, ARTIFACTS, BROWSER_MARKS, CHROMIUM
from eotdl.catalog.lab import Lab
from eotdl.site.labelling import write_label_page
from eotdl.site.serve import start_site
from labs import Dataset, make_lab

EOTDL = [sys.executable, "-m", "eotdl.cli.main"]

pytestmark = BROWSER_MARKS


def eotdl(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EOTDL, *args], cwd=lab.root, capture_output=True, text=True, timeout=300
    )


def git(lab: Lab, *args: str) -> None:
    subprocess.run(["git", *args], cwd=lab.root, check=True, capture_output=True)


def commit_all(lab: Lab, message: str) -> None:
    git(lab, "add", "-A")
    git(lab, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", message)


CARD = """---
title: Chips
description: Twelve generated chips of three classes, for the labelling test.
license: CC-BY-4.0
tasks: [classification]
kind: training
authors: [eotdl tests]
citation: eotdl tests (2026). Chips.
---

# Chips
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    api = pytest.importorskip("playwright.sync_api")
    with api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Any, lab: Lab, name: str, width: int = 1280) -> tuple[Any, Any, list[str]]:
    site = start_site(lab.site_dir)
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "dialog", lambda dialog: (problems.append("dialog: " + dialog.message), dialog.dismiss())
    )
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(site.url)
            else (problems.append("outside: " + route.request.url), route.abort())
        ),
    )
    page.goto(f"{site.url}datasets/{name}/label/")
    page.wait_for_selector("#classes button")
    return site, page, problems


def build(lab: Lab, name: str) -> None:
    lab.site_dir.mkdir(parents=True, exist_ok=True)
    (lab.site_dir / "index.html").write_text("<!doctype html><title>site</title>")
    write_label_page(lab, name)


def export(page: Any, folder: Path) -> Path:
    with page.expect_download() as info:
        page.click("#export")
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def test_label_a_dozen_chips_with_keys_then_apply_diff_validate(browser, tmp_path):
    lab = make_lab(tmp_path, [Dataset("chips", "classification_folders")])  # 12 chips, 3 classes
    (lab.dataset("chips").card_path).write_text(CARD)
    git(lab, "init", "-q", "-b", "main")
    commit_all(lab, "chips 1.0.0")
    git(lab, "tag", "-a", "chips@1.0.0", "-m", "chips 1.0.0")
    build(lab, "chips")
    site, page, problems = open_page(browser, lab, "chips")
    try:
        page.fill("#annotator", "ann")
        page.press("#annotator", "Enter")  # back to the chip
        chips = json.loads(page.locator("#tasks").text_content())["chips"]
        assert len(chips) == 12
        keys = ["3", "2", "1"] * 4  # River, Pasture, Forest, …
        for key in keys:
            page.keyboard.press(key)
        assert page.text_content("#progress") == "12 of 12 labelled"
        page.keyboard.press("Control+z")
        assert page.text_content("#progress") == "11 of 12 labelled"
        page.keyboard.press("Control+y")
        assert page.text_content("#progress") == "12 of 12 labelled"
        page.screenshot(path=str(_artifact("labelling-classification.png")))
        page.reload()  # labels survive in the browser's storage
        page.wait_for_selector("#classes button")
        assert page.text_content("#progress") == "12 of 12 labelled"
        file = export(page, tmp_path)
    finally:
        site.stop()
    assert problems == []
    data = json.loads(file.read_text())
    verdicts = {f["properties"]["item_id"]: f["properties"]["class"] for f in data["features"]}
    expected = {c["id"]: ["River", "Pasture", "Forest"][n % 3] for n, c in enumerate(chips)}
    assert verdicts == expected
    assert all(f["properties"]["annotator"] == "ann" for f in data["features"])
    assert data["features"][0]["geometry"]["type"] == "Polygon"  # the chip's footprint, WGS84
    before = {i["id"]: i["properties"]["class"] for i in lab.dataset("chips").iter_items()}
    changed = sorted(i for i in expected if expected[i] != before[i])
    assert changed  # the keys disagree with the folders for most chips

    git(lab, "checkout", "-q", "-b", "relabel")
    result = eotdl(lab, "labels", "apply", str(file), "--dataset", "chips", "--version", "1.1.0")
    assert result.returncode == 0, result.stderr
    assert f"{len(changed)} items relabelled" in result.stdout
    diff = eotdl(lab, "diff", "chips", "1.0.0", "--json")
    assert diff.returncode == 0, diff.stderr
    listed = json.loads(diff.stdout)["items"]["changed"]
    assert sorted(c["id"] if isinstance(c, dict) else c for c in listed) == changed
    assert eotdl(lab, "validate", ".").returncode == 0
    commit_all(lab, "relabel")
    check = eotdl(lab, "check", "--base", "main")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"| items changed | {len(changed)} |" in check.stdout
    assert "recipe.yaml" not in check.stdout  # only the labels changed


def test_draw_and_edit_two_boxes_then_apply(browser, tmp_path):
    lab = make_lab(tmp_path, [Dataset("boxes", "detection")])
    build(lab, "boxes")
    site, page, problems = open_page(browser, lab, "boxes")
    try:
        page.fill("#annotator", "bob")
        page.press("#annotator", "Enter")
        first = json.loads(page.locator("#tasks").text_content())["chips"][0]
        canvas = page.locator("#canvas")
        page.wait_for_function("document.getElementById('canvas').width > 0")
        box = canvas.bounding_box()

        def point(x: float, y: float) -> tuple[float, float]:
            return box["x"] + x / first["w"] * box["width"], box["y"] + y / first["h"] * box[
                "height"
            ]

        def drag(a: tuple[float, float], b: tuple[float, float]) -> None:
            page.mouse.move(*point(*a))
            page.mouse.down()
            page.mouse.move(*point(*b), steps=4)
            page.mouse.up()

        # delete what the chip had, then draw two boxes of two classes
        page.evaluate("document.getElementById('canvas').focus()")
        for _ in range(len(first["boxes"])):
            page.keyboard.press("Tab")
            page.keyboard.press("Delete")
        page.keyboard.press("1")  # boat or car, whichever is first
        drag((1, 1), (5, 5))
        page.keyboard.press("2")
        drag((8, 8), (12, 12))
        drag((10, 10), (11, 10))  # move the second box right by one pixel
        drag((5, 5), (6, 7))  # resize the first box by its lower-right corner
        assert "2 boxes" in page.text_content("#current")
        file = export(page, tmp_path)
        page.screenshot(path=str(_artifact("labelling-detection.png")))
    finally:
        site.stop()
    assert problems == []
    data = json.loads(file.read_text())
    boxes = sorted(
        (f["properties"]["pixel_bbox"], f["properties"]["class"])
        for f in data["features"]
        if f["properties"]["kind"] == "box"
    )
    classes = json.loads(
        Path(lab.site_dir / "datasets/boxes/label/index.html")
        .read_text()
        .split('id="tasks">')[1]
        .split("</script>")[0]
    )["classes"]
    assert [[round(v) for v in b] for b, _ in boxes] == [[1, 1, 6, 7], [9, 8, 13, 12]]
    assert [c for _, c in boxes] == [classes[0], classes[1]]
    result = eotdl(lab, "labels", "apply", str(file), "--dataset", "boxes", "--version", "2.0.0")
    assert result.returncode == 0, result.stderr
    item = {i["id"]: i for i in lab.dataset("boxes").iter_items()}[first["id"]]
    assert item["assets"]["labels"]["title"] == "2 bounding boxes"


def test_class_names_are_text_and_the_page_fits_a_tablet(browser, tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    classes = ("Forest", "Pasture", hostile)
    odd = Dataset(
        "odd", "classification_folders", classes=classes, per_class=2, stem="c{c}_{i}", split=None
    )
    lab = make_lab(tmp_path, [odd])
    build(lab, "odd")
    site, page, problems = open_page(browser, lab, "odd", width=768)
    try:
        names = page.locator("#classes button").all_text_contents()
        assert any(hostile in n for n in names)
        assert page.locator("#classes img").count() == 0
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]
        page.screenshot(path=str(_artifact("labelling-tablet.png")))
    finally:
        site.stop()
    assert problems == []


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def test_a_polygon_drawn_with_the_keyboard_only(browser, tmp_path):
    lab = make_lab(tmp_path, [Dataset("tiles", "segmentation_pairs")])
    build(lab, "tiles")
    site, page, problems = open_page(browser, lab, "tiles")
    try:
        page.fill("#annotator", "kim")
        page.press("#annotator", "Enter")
        classes = json.loads(page.locator("#tasks").text_content())["classes"]
        page.keyboard.press(str(classes.index("water") + 1))
        # the cursor starts at the chip's centre (8, 8); Shift moves it 10 pixels
        for keys in (["Shift+J"], ["Shift+K", "l", "l"], ["Shift+I", "Shift+I"]):
            for key in keys:
                page.keyboard.press(key)
            page.keyboard.press(" ")
        page.keyboard.press("Enter")
        assert "1 polygons" in page.text_content("#current")
        file = export(page, tmp_path)
    finally:
        site.stop()
    assert problems == []
    polygons = [
        f["properties"]
        for f in json.loads(file.read_text())["features"]
        if f["properties"]["kind"] == "polygon"
    ]
    assert polygons[0]["class"] == "water"
    assert polygons[0]["pixel_polygon"] == [[0, 8], [2, 16], [2, 0]]
