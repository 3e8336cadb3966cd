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


def make_source_data(scenes: int) -> Path:
    """A generated land-cover chip set (EuroSAT layout, real CRS) to ingest."""
    from landcover import generate

    if DATA.exists():
        shutil.rmtree(DATA)
    count = generate(DATA, scenes=scenes, size=256, chip=32, seed=7)
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
    subprocess.run(
        ["git", *args], cwd=LAB, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )


def ingest_scenes(scenes: int) -> None:
    """Generate ``scenes`` scenes of chips and (re-)ingest them as the land-cover dataset."""
    make_source_data(scenes=scenes)
    run(
        "ingest",
        "classification-folders",
        str(DATA),
        "--dataset",
        "land-cover",
        "--split",
        "stratified:0.7,0.15,0.15",
        "--seed",
        "42",
        "--no-progress",
    )


def has_command(name: str) -> bool:
    """Whether this eotdl has a command (the demo grows with the project)."""
    from eotdl.cli.main import COMMANDS

    return name in COMMANDS


def bump_version(version: str) -> None:
    from eotdl.catalog.lab import Lab

    folder = Lab(LAB).dataset("land-cover")
    collection = folder.read_collection()
    collection["version"] = version
    folder.write_collection(collection)
    print(f"collection.json version → {version}")


def relabel_round() -> None:
    from demo_labels import label_in_browser

    git("checkout", "-q", "-b", "relabel")
    run("label", "land-cover", "--limit", "8", "--no-serve")
    labels = label_in_browser(
        LAB / "_site", "datasets/land-cover/label/", DATA.parent / "labels.geojson"
    )
    run("labels", "apply", str(labels), "--dataset", "land-cover", "--version", "1.2.0")
    git("add", "-A")
    git("commit", "-q", "-m", "land-cover: labels corrected in the labelling page")
    run("check", "--base", "main")
    git("checkout", "-q", "main")
    git("merge", "-q", "--no-ff", "-m", "Merge relabel", "relabel")
    run("publish", "--tag")
    run("diff", "land-cover", "1.1.0", "1.2.0")


def main() -> None:
    mirror = os.environ.get("EOTDL_SCHEMA_MIRROR")
    if not mirror:
        print("note: EOTDL_SCHEMA_MIRROR is unset; schemas will be fetched into the cache")
    for folder in (LAB, ROOT / "demo-downloads"):
        if folder.exists():
            shutil.rmtree(folder)

    step("1. A new lab (a git repository; the object store is a folder inside it)")
    run("init", str(LAB), "--title", "eotdl demo lab", cwd=ROOT)
    git("init", "-q", "-b", "main")
    git("config", "user.name", "eotdl demo")
    git("config", "user.email", "demo@eotdl.invalid")
    git("add", "-A")
    git("commit", "-q", "-m", "A new lab")

    step("2. A dataset from a builder: land-cover chips in one folder per class")
    ingest_scenes(3)
    complete_card()
    git("add", "-A")
    git("commit", "-q", "-m", "Add the land-cover dataset")

    step("3. Offline validation against the official STAC schemas")
    run("validate", ".")

    step("4. The bytes: content-addressed in the lab's store, verified")
    run("storage", "du")
    run("storage", "verify")

    step("5. QA: checks, quality level, EDA and bias discoverability")
    run("qa", "land-cover")

    step("6. Publish version 1.0.0: build the site, upload it, tag land-cover@1.0.0")
    run("publish", "--tag")

    step("7. A pull request: a fourth scene, version 1.1.0, checked like CI checks it")
    git("checkout", "-q", "-b", "more-scenes")
    ingest_scenes(4)
    bump_version("1.1.0")
    git("add", "-A")
    git("commit", "-q", "-m", "land-cover: a fourth scene")
    run("check", "--base", "main")
    git("checkout", "-q", "main")
    git("merge", "-q", "--no-ff", "-m", "Merge more-scenes", "more-scenes")
    run("publish", "--tag")
    run("diff", "land-cover", "1.0.0", "1.1.0")
    run("credits")

    step("7b. Labelling with no server: correct chips in the browser, bring them back by PR")
    relabel_round()

    if has_command("train"):
        step("8. Train a tiny model on it with the Dask runner; it lands in models/ as STAC")
        run(
            "train",
            "land-cover",
            "--task",
            "classification",
            "--model",
            "small-cnn",
            "--epochs",
            "2",
            "--workers",
            "2",
            "--name",
            "land-cover-cnn",
        )
        git("add", "-A")
        git("commit", "-q", "-m", "Model land-cover-cnn")
        run("build")

    if has_command("get"):
        step("9. Read it as a user would: download and verify the published dataset")
        run(
            "get",
            "land-cover",
            "--lab",
            str(LAB / "_site"),
            "-o",
            str(ROOT / "demo-downloads"),
            cwd=ROOT,
        )

    step("Done")
    print(f"lab:          {LAB}")
    print(f"dataset:      {LAB / 'datasets/land-cover'}")
    print(f"STAC catalog: {LAB / '_site/catalog.json'}")
    print(f"site:         {LAB / '_site/index.html'}")
    print(f"previews:     {LAB / '_site/datasets/land-cover/items/index.html'}")
    print(f"version page: {LAB / '_site/datasets/land-cover/versions/1.2.0.html'}")
    print(f"model page:   {LAB / '_site/models/land-cover-cnn/index.html'}")
    preview, api = closing_commands(Path.cwd())
    print(f"preview:      {preview}   # then open http://127.0.0.1:8000/")
    print(f"STAC API:     {api}   # pystac_client.Client.open(URL)")
    print(f"(or first `source {_shown(Path(EOTDL).parent / 'activate', Path.cwd())}`: then plain")
    print(" `eotdl …` works in that shell)")


def _shown(path: Path, cwd: Path) -> str:
    """``path`` as typed in a shell opened at ``cwd`` (relative when it is below it)."""
    try:
        return shlex.quote(path.relative_to(cwd).as_posix())
    except ValueError:
        return shlex.quote(str(path))


def closing_commands(cwd: Path) -> list[str]:
    """The commands the demo ends with, as they work when typed in a fresh shell at ``cwd``
    (the venv's eotdl by its path: a fresh shell has no activated venv)."""
    eotdl = _shown(Path(EOTDL).absolute(), cwd)
    lab = _shown(LAB, cwd)
    site = _shown(LAB / "_site", cwd)
    return [f"{eotdl} preview --lab {lab}", f"{eotdl} serve --site {site}"]


if __name__ == "__main__":
    main()
