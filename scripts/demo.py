"""`make demo`: a lab from nothing, end to end, on the embedded defaults.

Each step runs the real `eotdl` command a user would type (shown before it runs), in
`demo-lab/` at the repository root. Run it again to start over.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "demo-lab"
DATA = ROOT / "demo-data" / "land-cover"
EOTDL = str(Path(sys.executable).with_name("eotdl"))
sys.path.insert(0, str(ROOT / "scripts"))


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def run(*args: str, cwd: Path = LAB, check: bool = True) -> subprocess.CompletedProcess[str]:
    shown = " ".join(shlex.quote(a) for a in ("eotdl", *args))
    print(f"$ {shown}", flush=True)
    result = subprocess.run([EOTDL, *args], cwd=cwd, text=True, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        sys.exit(f"demo failed at: {shown}")
    return result


def make_source_data() -> Path:
    """A generated land-cover chip set (EuroSAT layout, real CRS) to ingest."""
    from landcover import generate

    if DATA.exists():
        shutil.rmtree(DATA)
    count = generate(DATA, scenes=3, size=256, chip=32, seed=7)
    print(f"generated {count} Sentinel-2-like chips in {DATA.relative_to(ROOT)}/<class>/")
    return DATA


def complete_card() -> None:
    """What a contributor does after ingesting: replace the card's TODOs."""
    from eotdl.catalog.lab import Lab

    folder = Lab(LAB).dataset("land-cover")
    card = folder.read_card()
    card.description = (
        "Land-cover chips (water, forest, cropland, urban, bare) from generated"
        " Sentinel-2-like scenes near Toulouse, for the eotdl demo."
    )
    card.license = "CC-BY-4.0"
    card.tags = ["land-cover", "sentinel-2", "demo"]
    card.authors = ["eotdl demo"]
    card.citation = "eotdl developers (2026). Demo land-cover chips."
    card.body = (
        "# Demo land cover\n\nChips of 32×32 pixels (B02, B03, B04, B08 at 10 m) labelled with"
        " the majority land-cover class of a generated scene. Made by `make demo`.\n"
    )
    folder.write_card(card)
    print(f"filled in {folder.card_path.relative_to(ROOT)}")


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=LAB, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    mirror = os.environ.get("EOTDL_SCHEMA_MIRROR")
    if not mirror:
        print("note: EOTDL_SCHEMA_MIRROR is unset; schemas will be fetched into the cache")
    if LAB.exists():
        shutil.rmtree(LAB)

    step("1. A new lab")
    run("init", str(LAB), "--title", "eotdl demo lab", cwd=ROOT)

    git("init", "-q", "-b", "main")
    git("config", "user.name", "eotdl demo")
    git("config", "user.email", "demo@eotdl.invalid")

    step("2. A dataset from a builder: land-cover chips in one folder per class")
    make_source_data()
    run("ingest", "classification-folders", str(DATA), "--dataset", "land-cover",
        "--split", "stratified:0.7,0.15,0.15", "--seed", "42", "--no-progress")
    complete_card()
    git("add", "-A")
    git("commit", "-q", "-m", "Add the land-cover dataset")

    step("3. Offline validation against the official STAC schemas")
    run("validate", ".")

    step("4. The static site: STAC tree, geoparquet, search index and HTML pages")
    run("build")

    step("Done")
    print(f"lab:          {LAB}")
    print(f"dataset:      {LAB / 'datasets/land-cover'}")
    print(f"STAC catalog: {LAB / '_site/catalog.json'}")
    print(f"site:         {LAB / '_site/index.html'}")
    print("try:         cd demo-lab && eotdl validate _site/catalog.json")
    print("preview:     cd demo-lab && eotdl preview   # then open http://127.0.0.1:8000/")


if __name__ == "__main__":
    main()
