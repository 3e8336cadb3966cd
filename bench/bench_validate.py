"""Benchmark (issues #2, #16): offline STAC validation, eotdl against stac-validator and pystac.

Synthetic STAC 1.1 Items (eo 2.0, projection 2.0, file 2.1) at 1,000, 10,000 and 100,000
items: a lab (``datasets/bench/items.ndjson`` + collection) for eotdl, the same items as one
FeatureCollection file for ``stac-validator fast``, parsed dicts for pystac. Every tool reads
its schemas from the local mirror (``../shared/stac-schemas``); HTTP(S) proxies point at a
closed port, so a tool that tried the network would fail instead of quietly downloading.

At each size the cases run in rounds (each round runs every case once, order rotating), so a
busy moment of the shared machine hits every case alike; the best round of each case counts,
and ratios compare cases of the same run. Wall and CPU seconds (user + system, children
included) and the 1-minute load average are recorded beside every figure.

    python bench/bench_validate.py [--quick] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "stac-schemas"
WORK = REPO / "bench" / "_work" / "validate"
DATASET = "bench"
sys.path[:0] = [str(REPO / "bench"), str(REPO / "scripts")]

from results import CPUS, load, table, write_section  # noqa: E402
from synthetic import make_collection, make_item  # noqa: E402

from eotdl.catalog.lab import Lab, init_lab  # noqa: E402
from eotdl.catalog.validate import Validator, validate_target  # noqa: E402

DEAD_PROXY = "http://127.0.0.1:9"
EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/file/v2.1.0/schema.json",
]
PYSTAC_SUBSET = 100


def item_11(index: int) -> dict[str, Any]:
    """``synthetic.make_item`` as a STAC 1.1 Item: eo 2.0 and raster fields in ``bands``,
    projection 2.0 (``proj:code``), file 2.1."""
    item = make_item(index, DATASET)
    item["stac_version"] = "1.1.0"
    item["stac_extensions"] = list(EXTENSIONS)
    props = item["properties"]
    props["proj:code"] = f"EPSG:{props.pop('proj:epsg')}"
    asset = item["assets"]["image"]
    eo_bands, raster_bands = asset.pop("eo:bands"), asset.pop("raster:bands")
    asset["bands"] = [
        {
            "name": eo["name"],
            "eo:common_name": eo["common_name"],
            "eo:center_wavelength": eo["center_wavelength"],
            "data_type": raster["data_type"],
            "nodata": raster["nodata"],
            "statistics": raster["statistics"],
        }
        for eo, raster in zip(eo_bands, raster_bands, strict=True)
    ]
    return item


def collection_11(count: int) -> dict[str, Any]:
    collection = make_collection(DATASET, count)
    collection["stac_version"] = "1.1.0"
    return collection


@dataclass
class Timing:
    """One run of one case: objects checked, wall and CPU seconds, verdict, load."""

    case: str
    objects: int
    seconds: float
    cpu: float
    valid: int
    load: float

    @property
    def rate(self) -> float:
        return self.objects / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.objects / self.cpu


def offline_env(fast_cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        EOTDL_SCHEMA_MIRROR=str(MIRROR),
        EOTDL_OFFLINE="1",
        STAC_VALIDATOR_CACHE_DIR=str(fast_cache),
        NO_PROXY="",
        no_proxy="",
    )
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[name] = DEAD_PROXY
    return env


def tool_path(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install the dev dependencies (pip install -e '.[dev]')")
    return found


def fill_fast_cache(cache: Path) -> Path:
    """The disk cache of ``stac-validator fast``: URL without scheme, ``/`` → ``_``."""
    cache.mkdir(parents=True, exist_ok=True)
    for path in MIRROR.rglob("*.json"):
        shutil.copyfile(path, cache / path.relative_to(MIRROR).as_posix().replace("/", "_"))
    return cache


def make_inputs(root: Path, count: int) -> tuple[Lab, Path]:
    """A lab with ``count`` items, and the same items as one FeatureCollection file."""
    lab = init_lab(root / "lab", title="Validation benchmark")
    folder = lab.dataset(DATASET)
    folder.path.mkdir(parents=True)
    folder.write_collection(collection_11(count))
    folder.write_items(item_11(i) for i in range(count))
    features = root / "items.json"
    with features.open("wb") as out:
        out.write(b'{"type":"FeatureCollection","features":[')
        for index, line in enumerate(folder.items_path.open("rb")):
            out.write((b"," if index else b"") + line.rstrip(b"\n"))
        out.write(b"]}")
    return lab, features


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system of the child and its own children) and stdout."""
    start = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = child.stdout.read() if child.stdout else b""
    _, _, usage = os.wait4(child.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, out.decode()


def eotdl_cli(lab: Lab, env: dict[str, str], case: str = "`eotdl validate LAB` (CLI)") -> Timing:
    seconds, cpu, out = run_child([tool_path("eotdl"), "validate", str(lab.root), "--json"], env)
    report = json.loads(out)
    valid = report["checked"] - report["invalid"]
    return Timing(case, report["checked"], seconds, cpu, valid, load()[0])


def in_process(case: str, work: Callable[[], tuple[int, int]]) -> Timing:
    """Time ``work`` here: wall, and CPU of this process plus the children it reaped."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start, cpu_start = time.perf_counter(), time.process_time()
    checked, valid = work()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    cpu = time.process_time() - cpu_start + children
    return Timing(case, checked, seconds, cpu, valid, load()[0])


def eotdl_library(lab: Lab, processes: int | None) -> Timing:
    def work() -> tuple[int, int]:
        report = validate_target(str(lab.root), Validator(processes=processes))
        return report.checked, report.checked - report.invalid_objects

    name = "eotdl `validate_target` (library"
    name += ", one process)" if processes == 1 else ")"
    return in_process(name, work)


def stac_validator_fast(features: Path, env: dict[str, str]) -> Timing:
    seconds, cpu, out = run_child([tool_path("stac-validator"), "fast", "-q", str(features)], env)
    total = re.search(r"Total Objects (?:Processed|Validated)\s*:\s*(\d+)", out)
    valid = re.search(r"Valid Objects\s*:\s*(?:\x1b\[[0-9;]*m)?(\d+)", out)
    if not total or not valid:
        raise RuntimeError(f"stac-validator fast gave no summary:\n{out}")
    return Timing(
        "`stac-validator fast` (FeatureCollection)",
        int(total[1]),
        seconds,
        cpu,
        int(valid[1]),
        load()[0],
    )


def pystac_validate(lab: Lab, count: int) -> Timing:
    """pystac's ``validate_dict`` on the collection and the first ``count`` items (parsed)."""
    import pystac
    from pystac.validation import JsonSchemaSTACValidator, validate_dict

    class MirrorValidator(JsonSchemaSTACValidator):
        """pystac's own validator with schemas read from the mirror instead of the network."""

        def _get_schema(self, schema_uri: str) -> dict[str, Any]:
            if schema_uri not in self.schema_cache:
                host_path = schema_uri.split("://", 1)[1].split("#", 1)[0]
                self.schema_cache[schema_uri] = json.loads((MIRROR / host_path).read_text())
            return self.schema_cache[schema_uri]

    folder = lab.dataset(DATASET)
    objects = [folder.read_collection()]
    for index, item in enumerate(folder.iter_items()):
        if index >= count:
            break
        objects.append(item)
    validator = MirrorValidator()

    def work() -> tuple[int, int]:
        valid = 0
        for obj in objects:
            try:
                validate_dict(obj, validator=validator)
                valid += 1
            except pystac.STACValidationError:
                pass
        return len(objects), valid

    return in_process("pystac `validate_dict` (parsed dicts, subset)", work)


def floor(lab: Lab, count: int) -> list[Callable[[], Timing]]:
    """jsonschema-rs alone, one core: ``is_valid`` of eotdl's compiled validator over parsed
    dicts; and parsing alone (orjson), the other half of eotdl's work per item."""
    from eotdl.catalog.validate import _item_key

    lines = lab.dataset(DATASET).items_path.read_bytes().splitlines()[:count]
    objects = [orjson.loads(line) for line in lines]
    validator = Validator(processes=1)
    check = validator._item_check(_item_key(objects[0]), objects[0])

    def validate() -> tuple[int, int]:
        return len(objects), sum(1 for obj in objects if check(obj))

    def parse() -> tuple[int, int]:
        for line in lines:
            orjson.loads(line)
        return len(lines), len(lines)

    return [
        lambda: in_process("floor: jsonschema-rs `is_valid` on parsed dicts, one core", validate),
        lambda: in_process("floor: `orjson.loads` of the lines, one core", parse),
    ]


def rounds(cases: list[Callable[[], Timing]], count: int) -> list[Timing]:
    """Run every case ``count`` times in rotating order; the best (wall) run of each."""
    best: dict[int, Timing] = {}
    for index in range(count):
        order = list(range(len(cases)))
        shift = index % len(cases)
        for case in order[shift:] + order[:shift]:
            timing = cases[case]()
            print(
                f"    {timing.case:<58} {timing.objects:>7} objects {timing.seconds:8.2f} s "
                f"{timing.rate:>9,.0f}/s  cpu {timing.cpu:7.2f} s  load {timing.load:.1f}",
                flush=True,
            )
            if case not in best or timing.seconds < best[case].seconds:
                best[case] = timing
    return [best[i] for i in range(len(cases))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 items, 1 round")
    parser.add_argument("--sizes", default=None, help="comma-separated item counts")
    parser.add_argument("--keep", action="store_true", help="keep bench/_work/validate")
    args = parser.parse_args()
    if not MIRROR.is_dir():
        sys.exit(f"schema mirror not found at {MIRROR}: it must sit beside the repository")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    sizes = sizes or ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    command = "python bench/bench_validate.py" + (" --quick" if args.quick else "")
    if args.sizes:
        command += f" --sizes {args.sizes}"

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = offline_env(fill_fast_cache(WORK / "fast-cache"))
    os.environ.update(env)  # the in-process runs get the same mirror and dead proxy
    results: dict[int, list[Timing]] = {}
    extra: list[Timing] = []
    try:
        tiny, _ = make_inputs(WORK / "n1", 1)
        start_up = "start-up: `eotdl validate LAB` of a 1-item lab (CLI)"
        extra += rounds([lambda: eotdl_cli(tiny, env, start_up)], 5)
        for count in sizes:
            print(f"{count:,} items: generating ...", flush=True)
            lab, features = make_inputs(WORK / f"n{count}", count)
            repeat = 1 if args.quick else 2 if count >= 100_000 else 3
            cases: list[Callable[[], Timing]] = [
                lambda lab=lab: eotdl_cli(lab, env),
                lambda lab=lab: eotdl_library(lab, None),
                lambda lab=lab: eotdl_library(lab, 1),
                lambda features=features: stac_validator_fast(features, env),
            ]
            results[count] = rounds(cases, repeat)
            if count == sizes[0]:
                pystac = rounds([lambda lab=lab: pystac_validate(lab, PYSTAC_SUBSET)], 1)
                results[count] += pystac
            if count == 10_000 or (count == sizes[-1] and 10_000 not in sizes):
                extra += rounds(floor(lab, 10_000), 3)
            shutil.rmtree(WORK / f"n{count}", ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    report(results, extra, command)


def report(results: dict[int, list[Timing]], floors: list[Timing], command: str) -> None:
    """Print the summary and write the ``validate`` section of RESULTS.md."""
    rows = []
    summary = []
    for count, timings in results.items():
        fast = next(t for t in timings if t.case.startswith("`stac-validator"))
        for t in timings:
            vs_fast = t.rate / fast.rate
            vs_fast_cpu = t.cpu_rate / fast.cpu_rate
            rows.append(
                [
                    f"{count:,}",
                    t.case,
                    f"{t.objects:,}",
                    f"{t.seconds:.2f}",
                    f"{t.rate:,.0f}",
                    f"{t.cpu:.2f}",
                    f"{t.cpu_rate:,.0f}",
                    f"{vs_fast:.1f}×",
                    f"{vs_fast_cpu:.1f}×",
                    "yes" if t.valid == t.objects else f"NO ({t.valid}/{t.objects})",
                    f"{t.load:.1f}",
                ]
            )
        cli = timings[0]
        wall_ratio, cpu_ratio = cli.rate / fast.rate, cli.cpu_rate / fast.cpu_rate
        summary.append(
            f"- {count:,} items: `eotdl validate` (CLI, start-up included) "
            f"**{wall_ratio:.1f}×** `stac-validator fast` in wall time (target ≥ 20×: "
            f"{'met' if wall_ratio >= 20 else 'MISSED'}), **{cpu_ratio:.1f}×** in CPU seconds "
            f"(target ≥ 10×: {'met' if cpu_ratio >= 10 else 'MISSED'}); {cli.rate:,.0f} "
            f"objects/s wall, {cli.cpu_rate:,.0f} per CPU second."
        )
    fixed = next((t for t in floors if t.case.startswith("start-up")), None)
    per_item = sum(t.cpu / t.objects for t in floors if t.case.startswith("floor"))
    if fixed is not None and per_item and 10_000 in results:
        fast = next(t for t in results[10_000] if t.case.startswith("`stac-validator"))
        needed = fast.seconds / 20
        best_case = fixed.seconds + 10_000 * per_item / CPUS
        summary.append(
            f"- Why 10,000 items is the hard case: 20× `fast` ({fast.seconds:.2f} s) means "
            f"{needed:.2f} s for the whole command. The fixed cost alone (a 1-item lab) is "
            f"{fixed.seconds:.2f} s, and the floor of the per-item work (`orjson.loads` + "
            f"jsonschema-rs `is_valid`, {per_item * 1e6:.1f} µs an item on one core) adds "
            f"{10_000 * per_item / CPUS:.2f} s on {CPUS} cores with perfect sharing: "
            f"{best_case:.2f} s at best, {fast.seconds / best_case:.1f}×. At 100,000 items the "
            "fixed cost is amortised and the target is met."
        )
    floor_rows = [
        [t.case, f"{t.objects:,}", f"{t.seconds:.3f}", f"{t.cpu:.3f}"]
        + [f"{t.cpu / t.objects * 1e6:.1f}" if t.objects > 2 else "(fixed cost)", f"{t.load:.1f}"]
        for t in floors
    ]
    lines = [
        "Synthetic STAC 1.1 Items (`scripts/synthetic.py` turned into 1.1: eo 2.0, projection "
        "2.0, file 2.1; about 1.8 kB each) plus their collection. eotdl validates a lab "
        "(`datasets/bench/items.ndjson`), `stac-validator fast` (stac-valid, fastjsonschema) "
        "the same items as one FeatureCollection file, pystac `validate_dict` parsed dicts "
        f"(the collection and the first {PYSTAC_SUBSET} items). Schemas come from "
        "`../shared/stac-schemas` for every tool; HTTP(S) proxies point at a closed port.",
        "",
        table(
            [
                "Items",
                "Case",
                "Objects",
                "Wall s",
                "Objects/s",
                "CPU s",
                "Objects per CPU s",
                "vs fast (wall)",
                "vs fast (CPU)",
                "All valid",
                "Load (1 min)",
            ],
            rows,
        ),
        "",
        *summary,
        "",
        "Where the time goes: the CLI's fixed cost (a 1-item lab: interpreter, imports, "
        "schema loading and compilation; best of 5), and the floor of the per-item work "
        "(10,000 items parsed once, one core, best of 3).",
        "",
        table(
            ["Case", "Objects", "Wall s", "CPU s", "CPU µs per object", "Load (1 min)"],
            floor_rows,
        ),
        "",
        "- CLI rows are a fresh process each (start-up and schema compilation included), wall "
        "clock and the child's user + system CPU (its forked workers included); library and "
        "pystac rows run in this process (CPU includes the workers it forked). At 1,000 and "
        "10,000 items each case is the best of 3 rotating rounds, at 100,000 one round.",
        "- eotdl splits an ndjson file of more than 2 MB into byte ranges validated by "
        f"{CPUS} forked processes (one per CPU; they inherit the compiled schemas); each item "
        "costs one `orjson.loads` and one `is_valid` of the validator cached for its (version, "
        "extensions); only an invalid item takes the slow path that explains it. The extension "
        "schemas' `^(?!prefix:)` patterns are compiled as equivalent look-ahead-free regular "
        "expressions (same names matched; about a fifth of `is_valid`).",
        "- Not the same checks: `fast` strips `additionalProperties: false` in shared "
        "properties, `unevaluatedProperties`, `if/then/else` and `dependencies` from the "
        "schemas before compiling; eotdl and pystac apply the full schemas of each object's "
        "own version and extensions, formats not enforced.",
        "- pystac is timed on its subset and its rate is per object; it is too slow to run on "
        "10,000 or 100,000 items here (about 50 objects/s).",
    ]
    print("\n".join(lines[2:]))
    write_section("validate", "Validation speed (issues #2, #16)", command, "\n".join(lines))


if __name__ == "__main__":
    main()
