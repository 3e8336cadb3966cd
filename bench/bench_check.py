"""`eotdl check` with one changed item in a big lab vs a full check of the same lab.

A lab of D datasets × N synthetic items (STAC 1.0 with eo/projection/raster/file fields; assets
dropped so no store is needed) is committed to git; a branch changes one item and bumps the
version. Timed, each as the CLI in a fresh process:

- ``eotdl check --base main``: the pull request as CI checks it (one item changed);
- ``eotdl check --base <first commit>``: every dataset is new, so every item is validated and
  QA'd: what a check that ignores what changed would cost.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
sys.path.insert(0, str(HERE))

from results import table, write_section  # noqa: E402
from synthetic import make_collection, make_item  # noqa: E402

from eotdl.catalog.card import Card  # noqa: E402
from eotdl.catalog.lab import init_lab  # noqa: E402

EOTDL = str(Path(sys.executable).with_name("eotdl"))


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_lab(root: Path, datasets: int, items: int) -> str:
    lab = init_lab(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.org")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    first = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    for d in range(datasets):
        name = f"ds{d:02d}"
        folder = lab.dataset(name)
        folder.write_collection(make_collection(name, items))

        def stripped(i: int, name: str = name, d: int = d) -> dict:
            item = make_item(i, name, seed=d)
            item["assets"] = {}
            item["stac_extensions"] = item["stac_extensions"][:3]
            return item

        folder.write_items(stripped(i) for i in range(items))
        folder.write_card(
            Card(title=name, description="synthetic", license="CC-BY-4.0", citation="bench")
        )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "datasets")
    git(root, "checkout", "-q", "-b", "pr")
    folder = lab.dataset("ds00")
    lines = folder.items_path.read_bytes().splitlines(keepends=True)
    lines[len(lines) // 2] = lines[len(lines) // 2].replace(b'"gsd":10', b'"gsd":20')
    folder.items_path.write_bytes(b"".join(lines))
    collection = folder.read_collection()
    collection["version"] = "1.1.0"
    folder.write_collection(collection)
    git(root, "commit", "-qam", "change one item")
    return first


def timed(args: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system) of the child, exit code, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([EOTDL, *args], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, result.returncode, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 dataset of 10k items")
    args = parser.parse_args()
    datasets, items = (1, 10_000) if args.quick else (10, 10_000)
    work = HERE / "_work" / "check"
    shutil.rmtree(work, ignore_errors=True)
    mirror = HERE.parent.parent / "shared" / "stac-schemas"
    if mirror.exists():
        os.environ.setdefault("EOTDL_SCHEMA_MIRROR", str(mirror))
    os.environ["EOTDL_OFFLINE"] = "1"
    start = time.perf_counter()
    first = make_lab(work, datasets, items)
    print(f"lab of {datasets * items:,} items made in {time.perf_counter() - start:.0f} s")
    one, one_cpu, rc_one, out = timed(["check", "--base", "main"], work)
    assert rc_one == 0, out
    assert "items changed | 1 |" in out, out
    full, full_cpu, rc_full, _ = timed(["check", "--base", first], work)
    load = os.getloadavg()[0]
    rows = [
        ["`eotdl check --base main` (1 item changed)", f"{one:.2f}", f"{one_cpu:.2f}", "1", rc_one],
        [
            "`eotdl check --base <first commit>` (everything new)",
            f"{full:.2f}",
            f"{full_cpu:.2f}",
            f"{datasets * items:,}",
            rc_full,
        ],
    ]
    body = (
        f"A git lab of {datasets} datasets × {items:,} synthetic items"
        f" ({datasets * items:,} items, assets dropped), one item changed on a branch with a"
        " version bump. Each command runs as a fresh process (start-up included).\n\n"
        + table(["command", "wall s", "CPU s", "items checked", "exit"], rows)
        + f"\n\n- One-item check: **{one:.2f} s** wall, {one_cpu:.2f} s CPU (target ≤ 2 s);"
        f" {full / one:.1f}× less wall time than checking everything ({full:.1f} s)."
        f"\n- Load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs."
    )
    write_section(
        "check",
        "eotdl check: cost proportional to the change (issue #7)",
        f"python bench/bench_check.py{' --quick' if args.quick else ''}",
        body,
    )
    print(body)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
