"""Benchmark (issue #2): writing the static STAC tree, eotdl against pystac.

eotdl's ``write_stac_tree`` turns a lab (``collection.json`` + ``items.ndjson``) into
catalog.json → collection → one file per item. pystac does the same from the same ndjson:
``Collection``/``Item.from_dict``, ``normalize_hrefs`` and ``save(SELF_CONTAINED)``.
Each case runs in a fresh process, so its peak RSS is its own. pystac grows faster than
linearly, so it is only run up to 10k items.

    python bench/bench_tree.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "_work" / "tree"
DATASET = "bench"
sys.path[:0] = [str(REPO / "bench"), str(REPO / "scripts")]

from results import table, write_section  # noqa: E402
from synthetic import make_collection, make_item  # noqa: E402

from eotdl.catalog.lab import Lab, init_lab  # noqa: E402
from eotdl.catalog.tree import write_stac_tree  # noqa: E402

FULL = {"eotdl": [2_000, 5_000, 10_000, 100_000], "pystac": [2_000, 5_000, 10_000]}
QUICK = {"eotdl": [500, 1_000, 10_000], "pystac": [500, 1_000]}


@dataclass
class Case:
    """One tree written by one tool: size, time, files written and peak memory."""

    tool: str
    items: int
    seconds: float
    user: float
    system: float
    files: int
    peak_rss_mb: float
    start_rss_mb: float

    @property
    def memory(self) -> str:
        """Peak RSS, and in brackets how much of it the work added."""
        return f"{self.peak_rss_mb:,.0f} (+{self.peak_rss_mb - self.start_rss_mb:,.0f})"

    @property
    def rate(self) -> float:
        return self.items / self.seconds


def make_lab(root: Path, count: int) -> Path:
    """A lab with one dataset of ``count`` synthetic items (not timed)."""
    lab = init_lab(root, title="Tree benchmark")
    folder = lab.dataset(DATASET)
    folder.path.mkdir(parents=True)
    folder.write_collection(make_collection(DATASET, count))
    folder.write_items(make_item(i, DATASET) for i in range(count))
    return root


def eotdl_tree(lab_dir: Path, out: Path) -> None:
    write_stac_tree(Lab(lab_dir), out)


def pystac_tree(lab_dir: Path, out: Path) -> None:
    """The same tree with pystac, the way its docs build a catalog from dicts."""
    import pystac

    lab = Lab(lab_dir)
    folder = lab.dataset(DATASET)
    catalog = pystac.Catalog(id="eotdl-lab", description="Tree benchmark", title=lab.config.title)
    collection = pystac.Collection.from_dict(folder.read_collection(), preserve_dict=False)
    catalog.add_child(collection)
    for item in folder.iter_items():
        collection.add_item(pystac.Item.from_dict(item, preserve_dict=False))
    catalog.normalize_hrefs(str(out))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)


def current_rss_mb() -> float:
    """This process's resident memory now (Linux), in MiB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_case(tool: str, lab_dir: Path, out: Path, items: int) -> Case:
    """Time one tool writing one tree (runs inside a fresh worker process)."""
    write = eotdl_tree if tool == "eotdl" else pystac_tree
    if tool == "pystac":
        import pystac  # noqa: F401  (import time is not the tool's work)
    start_rss = current_rss_mb()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    write(lab_dir, out)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    files = sum(  # STAC files only: eotdl also keeps hidden build records (.eotdl-build.json)
        1 for _, _, names in os.walk(out) for f in names if f.endswith(".json") and f[0] != "."
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Case(tool, items, seconds, user, system, files, peak, start_rss)


def file_floor(folder: Path, count: int, size: int = 4096) -> float:
    """Seconds to create ``count`` files of ``size`` bytes in one folder: the filesystem's share."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data = b"x" * size
    start = time.perf_counter()
    for index in range(count):
        fd = os.open(folder / f"{index:07d}.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    seconds = time.perf_counter() - start
    shutil.rmtree(folder, ignore_errors=True)
    return seconds


def in_fresh_process(tool: str, lab_dir: Path, out: Path, items: int) -> Case:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_case, tool, lab_dir, out, items).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="up to 10k items, pystac to 1k")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    repeat = 1 if args.quick else 3
    command = "python bench/bench_tree.py" + (" --quick" if args.quick else "")

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    cases: list[Case] = []
    floors: dict[int, float] = {}
    try:
        for count in sorted(set(sizes["eotdl"]) | set(sizes["pystac"])):
            print(f"generating a lab of {count:,} items ...", flush=True)
            lab_dir = make_lab(WORK / f"lab-{count}", count)
            for tool in ("eotdl", "pystac"):
                if count not in sizes[tool]:
                    continue
                runs = []
                for _ in range(repeat):
                    out = WORK / f"out-{tool}-{count}"
                    runs.append(in_fresh_process(tool, lab_dir, out, count))
                    shutil.rmtree(out, ignore_errors=True)
                case = min(runs, key=lambda c: c.seconds)
                if case.files != count + 2:
                    raise RuntimeError(f"{tool} wrote {case.files} files, expected {count + 2}")
                cases.append(case)
                print(
                    f"  {tool:<7} {count:>7,} items {case.seconds:8.2f} s "
                    f"{case.rate:>9,.0f} items/s  peak RSS {case.memory} MiB",
                    flush=True,
                )
            if count in sizes["eotdl"]:
                floors[count] = min(file_floor(WORK / "floor", count) for _ in range(repeat))
                print(f"  floor   {count:>7,} files {floors[count]:8.2f} s", flush=True)
            shutil.rmtree(lab_dir, ignore_errors=True)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    load = os.getloadavg()[0]
    report(cases, floors, repeat, command, load)


def report(
    cases: list[Case], floors: dict[int, float], repeat: int, command: str, load: float
) -> None:
    """Print the summary and write the ``tree`` section of RESULTS.md."""
    eotdl = {c.items: c for c in cases if c.tool == "eotdl"}
    pystac = {c.items: c for c in cases if c.tool == "pystac"}
    largest = max(eotdl)
    base = largest // 10 if largest // 10 in eotdl else min(eotdl)
    growth = eotdl[largest].seconds / eotdl[base].seconds
    user_growth = eotdl[largest].user / eotdl[base].user
    common = max(set(eotdl) & set(pystac))
    speedup = pystac[common].seconds / eotdl[common].seconds
    user_speedup = pystac[common].user / eotdl[common].user
    pystac_sizes = sorted(pystac)
    pystac_growth = pystac[pystac_sizes[-1]].seconds / pystac[pystac_sizes[0]].seconds
    pystac_span = pystac_sizes[-1] / pystac_sizes[0]
    shape = "linear" if growth <= 1.3 * largest / base else "worse than linear"
    rows = []
    for count in sorted(eotdl):
        ours, theirs = eotdl[count], pystac.get(count)
        rows.append(
            [
                f"{count:,}",
                f"{ours.seconds:.2f}",
                f"{ours.rate:,.0f}",
                f"{ours.user:.2f} / {ours.system:.2f}",
                ours.memory,
                f"{floors[count]:.2f}",
                f"{theirs.seconds:.2f}" if theirs else "not run",
                f"{theirs.rate:,.0f}" if theirs else "",
                f"{theirs.user:.2f} / {theirs.system:.2f}" if theirs else "",
                theirs.memory if theirs else "",
                f"{theirs.seconds / ours.seconds:.1f}×" if theirs else "",
                f"{theirs.user / ours.user:.1f}×" if theirs else "",
            ]
        )
    lines = [
        "Writing the static STAC tree (catalog.json → collection.json → one JSON file per "
        "item) from a lab holding one dataset of synthetic items (`scripts/synthetic.py`). "
        "eotdl: `write_stac_tree(lab, out)`. pystac: `Collection`/`Item.from_dict` on the "
        "same ndjson rows (`preserve_dict=False`), `catalog.normalize_hrefs(out)`, "
        "`catalog.save(CatalogType.SELF_CONTAINED)`. Both timings include reading the lab. "
        f"Each case runs in a fresh process, best of {repeat} by wall time; CPU is the "
        "process's user and system time (all threads); peak RSS is that process's "
        "maximum (interpreter and imports included), in brackets what the work added to the "
        "RSS the process had after its imports. The file-creation floor is the time to "
        "create as many 4 KiB files in one folder with bare `os.open`/`os.write`, one thread: "
        "what the filesystem alone costs (the item files are about 4 KiB).",
        "",
        table(
            [
                "Items",
                "eotdl wall s",
                "eotdl items/s",
                "eotdl CPU user / sys s",
                "eotdl peak RSS MiB",
                "File-creation floor s",
                "pystac wall s",
                "pystac items/s",
                "pystac CPU user / sys s",
                "pystac peak RSS MiB",
                "Speed-up (wall)",
                "Speed-up (user CPU)",
            ],
            rows,
        ),
        "",
        f"- eotdl growth: t({largest:,}) / t({base:,}) = **{growth:.1f}** wall, "
        f"{user_growth:.1f} in user CPU, for {largest / base:.0f}× the items ({shape}).",
        f"- Speed-up over pystac at {common:,} items: **{speedup:.1f}×** wall (target ≥ 20×: "
        f"{'met' if speedup >= 20 else 'MISSED'}); **{user_speedup:.1f}×** in user CPU time "
        "(the work the code itself does; system time is the kernel creating files).",
        f"- pystac growth: t({pystac_sizes[-1]:,}) / t({pystac_sizes[0]:,}) = "
        f"{pystac_growth:.1f} for {pystac_span:.0f}× the items. pystac was not run above "
        f"{pystac_sizes[-1]:,} items; nothing in this table is extrapolated.",
        f"- Load average (1 min) at the end of the run: {load:.1f} on {os.cpu_count()} CPUs "
        "(a shared machine: file creation times vary by 2-3× between runs).",
    ]
    print("\n".join(lines[2:]))
    write_section("tree", "Writing the static STAC tree (issue #2)", command, "\n".join(lines))


if __name__ == "__main__":
    main()
