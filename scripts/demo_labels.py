"""The demo's labelling round: correct a few chips in the labelling page, as a person would.

Chromium (Debian's, through Playwright) opens the page that `eotdl label` wrote, types the
annotator's name, relabels three chips with the number keys, skips one, and exports the file
the page downloads. Without Chromium the same file is written from the page's own task list,
and the demo says so.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ANNOTATOR = "demo labeller"


def _tasks(page_html: Path) -> dict:
    text = page_html.read_text(encoding="utf-8")
    return json.loads(text.split('id="tasks">', 1)[1].split("</script>", 1)[0])


def _keys(tasks: dict, count: int = 3) -> list[str]:
    """For the first ``count`` chips, the key of a class other than the chip's own."""
    classes = tasks["classes"]
    keys = []
    for chip in tasks["chips"][:count]:
        other = next(i for i, name in enumerate(classes) if name != chip["label"])
        keys.append(str(other + 1))
    return keys


def label_in_browser(site_dir: Path, page_path: str, out: Path) -> Path:
    """Relabel three chips and skip one in the page; return the exported file."""
    tasks = _tasks(site_dir / page_path / "index.html")
    keys = _keys(tasks)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        playwright = None
    else:
        playwright = sync_playwright
    if playwright is None or not os.path.exists(CHROMIUM):
        print("note: no Chromium here; writing the file the page would export")
        return _write_like_the_page(tasks, keys, out)
    from eotdl.site.serve import start_site

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    with start_site(site_dir) as site, playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(accept_downloads=True)
        page.goto(site.url + page_path)
        page.wait_for_selector("#classes button")
        page.fill("#annotator", ANNOTATOR)
        page.press("#annotator", "Enter")
        for key in keys:
            print(f"  chip {page.text_content('#chip-id')}: key {key}")
            page.keyboard.press(key)
        page.keyboard.press("s")
        with page.expect_download() as download:
            page.click("#export")
        download.value.save_as(out)
        browser.close()
    print(f"  exported {out}")
    return out


def _write_like_the_page(tasks: dict, keys: list[str], out: Path) -> Path:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    features = []
    for n, chip in enumerate(tasks["chips"][: len(keys) + 1]):
        properties = {
            "item_id": chip["id"],
            "annotator": ANNOTATOR,
            "time": now,
            "task": tasks["task"],
            "kind": "chip",
            "status": "labelled" if n < len(keys) else "skip",
        }
        if n < len(keys):
            properties["class"] = tasks["classes"][int(keys[n]) - 1]
        features.append(
            {"type": "Feature", "geometry": chip["footprint"], "properties": properties}
        )
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return out
