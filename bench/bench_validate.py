"""Benchmark (issue #2): offline STAC validation, eotdl against stac-validator and pystac.

One synthetic dataset (a lab with ``datasets/bench/``) and the same items as a static catalog
of files. Every tool reads its schemas from the local mirror (``../shared/stac-schemas``), and
HTTP(S) proxies point at a closed local port, so a tool that tried the network would fail
instead of quietly downloading. The slow validators are timed on a subset and extrapolated.

    python bench/bench_validate.py [--quick]
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

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "stac-schemas"
WORK = REPO / "bench" / "_work" / "validate"
DATASET = "bench"
sys.path[:0] = [str(REPO / "bench"), str(REPO / "scripts")]

from results import table, write_section  # noqa: E402
from synthetic import make_collection, make_item  # noqa: E402

from eotdl.catalog.lab import Lab, init_lab  # noqa: E402
from eotdl.catalog.tree import STAC_VERSION as TREE_VERSION  # noqa: E402
from eotdl.catalog.tree import write_stac_tree  # noqa: E402
from eotdl.catalog.validate import Validator, validate_target  # noqa: E402

DEAD_PROXY = "http://127.0.0.1:9"


@dataclass
class Timing:
    """One tool's measurement: how many objects it checked, how long, and its verdict."""

    tool: str
    input: str
    objects: int
    seconds: float
    cpu: float
    valid: int
    note: str = ""
    subset: bool = False

    @property
    def rate(self) -> float:
        return self.objects / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.objects / self.cpu


def offline_env(fast_cache: Path) -> dict[str, str]:
    """The environment every tool runs in: schemas from the mirror, network refused."""
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
    """An executable of this virtual environment (or on PATH)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install the dev dependencies (pip install -e '.[dev]')")
    return found


def make_lab(root: Path, count: int) -> Lab:
    """A lab with one dataset of ``count`` synthetic items."""
    lab = init_lab(root, title="Validation benchmark")
    folder = lab.dataset(DATASET)
    folder.path.mkdir(parents=True)
    folder.write_collection(make_collection(DATASET, count))
    folder.write_items(make_item(i, DATASET) for i in range(count))
    return lab


def schema_config(path: Path) -> Path:
    """A stac-validator schema config mapping every mirrored URL to its file."""
    files = sorted(MIRROR.rglob("*.json"))
    mapping = {f"https://{p.relative_to(MIRROR).as_posix()}": str(p) for p in files}
    path.write_text(json.dumps({"schemas": mapping}, indent=1))
    return path


def fill_fast_cache(cache: Path) -> Path:
    """The disk cache of ``stac-validator fast``: URL without scheme, ``/`` → ``_``."""
    cache.mkdir(parents=True, exist_ok=True)
    for path in MIRROR.rglob("*.json"):
        shutil.copyfile(path, cache / path.relative_to(MIRROR).as_posix().replace("/", "_"))
    return cache


def feature_collection(lab: Lab, path: Path) -> Path:
    """The dataset's items as one GeoJSON FeatureCollection (the input of ``fast``)."""
    features = list(lab.dataset(DATASET).iter_items())
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def clock() -> tuple[float, float]:
    """Wall time and CPU time (this process and its finished children) so far."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + children.ru_utime + children.ru_stime


def since(start: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds since ``start`` (a :func:`clock` reading)."""
    now = clock()
    return now[0] - start[0], now[1] - start[1]


def run_cli(
    args: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a command; return its wall time, its CPU time and its result."""
    start = clock()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    return *since(start), done


def best_of(repeat: int, measure: Callable[[], Timing]) -> Timing:
    """The fastest of ``repeat`` runs (each run starts cold: new process or new validator)."""
    return min((measure() for _ in range(repeat)), key=lambda t: t.seconds)


def eotdl_cli(target: Path, label: str, env: dict[str, str]) -> Timing:
    seconds, cpu, done = run_cli([tool_path("eotdl"), "validate", str(target), "--json"], env)
    report = json.loads(done.stdout)
    valid = report["checked"] - report["invalid"]
    return Timing("`eotdl validate` (CLI)", label, report["checked"], seconds, cpu, valid)


def eotdl_library(lab: Lab) -> Timing:
    start = clock()
    report = validate_target(str(lab.root), Validator())
    seconds, cpu = since(start)
    valid = report.checked - report.invalid_objects
    note = "in-process, includes reading the ndjson and compiling the schemas"
    return Timing(
        "eotdl `validate_target` (library)",
        "lab (ndjson)",
        report.checked,
        seconds,
        cpu,
        valid,
        note,
    )


def stac_validator_recursive(catalog: Path, config: Path, env: dict[str, str]) -> Timing:
    args = [
        tool_path("stac-validator"),
        "validate",
        "--recursive",
        "--no_output",
        "--schema-config",
        str(config),
        str(catalog),
    ]
    seconds, cpu, done = run_cli(args, env)
    found = re.search(r"passed: (\d+)/(\d+)", done.stdout)
    if not found:
        raise RuntimeError(f"stac-validator validate gave no summary:\n{done.stdout}{done.stderr}")
    return Timing(
        "`stac-validator validate --recursive`",
        "static catalog (subset)",
        int(found[2]),
        seconds,
        cpu,
        int(found[1]),
        subset=True,
    )


def stac_validator_fast(target: Path, recursive: bool, env: dict[str, str]) -> Timing:
    args = [tool_path("stac-validator"), "fast", "-q", *(["-r"] if recursive else []), str(target)]
    seconds, cpu, done = run_cli(args, env)
    total = re.search(r"Total Objects (?:Processed|Validated)\s*:\s*(\d+)", done.stdout)
    valid = re.search(r"Valid Objects\s*:\s*(?:\x1b\[[0-9;]*m)?(\d+)", done.stdout)
    if not total or not valid:
        raise RuntimeError(f"stac-validator fast gave no summary:\n{done.stdout}{done.stderr}")
    if recursive:
        return Timing(
            "`stac-validator fast -r`", "static catalog", int(total[1]), seconds, cpu, int(valid[1])
        )
    return Timing(
        "`stac-validator fast`",
        "FeatureCollection file",
        int(total[1]),
        seconds,
        cpu,
        int(valid[1]),
    )


def pystac_validate(lab: Lab, count: int) -> Timing:
    """pystac's ``validate_dict`` on the collection and the first ``count`` items."""
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
    valid = 0
    start = clock()
    for obj in objects:
        try:
            validate_dict(obj, validator=validator)
            valid += 1
        except pystac.STACValidationError:
            pass
    seconds, cpu = since(start)
    note = "in-process on parsed dicts (JSON parsing not timed)"
    return Timing(
        "pystac `validate_dict`",
        "dicts (subset)",
        len(objects),
        seconds,
        cpu,
        valid,
        note,
        subset=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 items, 100-item subset")
    parser.add_argument("--keep", action="store_true", help="keep bench/_work/validate")
    args = parser.parse_args()
    if not MIRROR.is_dir():
        sys.exit(
            f"schema mirror not found at {MIRROR}: it must sit beside the repository "
            "(../shared/stac-schemas)"
        )
    count, subset, repeat = (1_000, 100, 1) if args.quick else (10_000, 1_000, 3)
    command = "python bench/bench_validate.py" + (" --quick" if args.quick else "")

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = offline_env(fill_fast_cache(WORK / "fast-cache"))
    os.environ.update(env)  # the in-process runs get the same mirror and dead proxy
    try:
        print(f"generating {count:,} items (+ a {subset:,}-item subset) ...", flush=True)
        lab = make_lab(WORK / "lab", count)
        small = make_lab(WORK / "lab-subset", subset)
        catalog = write_stac_tree(lab, WORK / "tree").root / "catalog.json"
        small_catalog = write_stac_tree(small, WORK / "tree-subset").root / "catalog.json"
        collection_file = feature_collection(lab, WORK / "items.json")
        config = schema_config(WORK / "schema-config.json")

        timings: list[Timing] = []

        def record(timing: Timing) -> None:
            timings.append(timing)
            print(
                f"  {timing.tool:<42} {timing.objects:>6} objects {timing.seconds:8.2f} s "
                f"{timing.rate:>9,.0f}/s  valid {timing.valid}/{timing.objects}",
                flush=True,
            )

        record(best_of(repeat, lambda: eotdl_cli(lab.root, "lab (ndjson)", env)))
        record(best_of(repeat, lambda: eotdl_library(lab)))
        record(best_of(repeat, lambda: eotdl_cli(catalog, "static catalog", env)))
        record(best_of(repeat, lambda: stac_validator_fast(collection_file, False, env)))
        record(best_of(repeat, lambda: stac_validator_fast(catalog, True, env)))
        record(stac_validator_recursive(small_catalog, config, env))
        record(pystac_validate(lab, subset))
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    report(timings, count, subset, repeat, command, os.getloadavg()[0])


def report(
    timings: list[Timing], count: int, subset: int, repeat: int, command: str, load: float
) -> None:
    """Print the summary and write the ``validate`` section of RESULTS.md."""
    total = count + 1
    eotdl_cli_rate = timings[0].rate
    others = [t for t in timings if not t.tool.startswith(("`eotdl", "eotdl"))]
    fastest = max(others, key=lambda t: t.rate)
    ratio = eotdl_cli_rate / fastest.rate
    library_ratio = timings[1].rate / fastest.rate
    cpu_fastest = max(others, key=lambda t: t.cpu_rate)
    cpu_ratio = timings[0].cpu_rate / cpu_fastest.cpu_rate
    all_valid = all(t.valid == t.objects for t in timings)
    rows = [
        [
            t.tool,
            t.input,
            f"{t.objects:,}",
            f"{t.seconds:.2f}",
            f"{t.rate:,.0f}",
            f"{t.cpu:.2f}",
            f"{t.cpu_rate:,.0f}",
            f"{total / t.rate:,.1f}" + (" (extrapolated)" if t.subset else ""),
            "yes" if t.valid == t.objects else f"NO ({t.valid}/{t.objects})",
            t.note,
        ]
        for t in timings
    ]
    meets_rate = eotdl_cli_rate >= 10_000
    meets_ratio = ratio >= 20
    lines = [
        f"One dataset of {count:,} synthetic items (`scripts/synthetic.py`: STAC 1.0.0, eo, "
        f"projection, raster, file) plus its collection: {total:,} objects. The static "
        "catalog is the same dataset written by `write_stac_tree` (catalog → collection → "
        "one file per item, so one object more). Schemas come from `../shared/stac-schemas` "
        "for every tool; HTTP(S) proxies point at a closed port so no tool can fetch.",
        "",
        table(
            [
                "Tool",
                "Input",
                "Objects timed",
                "Wall s",
                "Objects/s (wall)",
                "CPU s",
                "Objects per CPU s",
                f"Seconds for {total:,} objects",
                "All valid",
                "Notes",
            ],
            rows,
        ),
        "",
        f"- eotdl CLI: **{eotdl_cli_rate:,.0f} objects/s** wall time, process start included "
        f"(target ≥ 10,000: {'met' if meets_rate else 'MISSED'}).",
        f"- Fastest other tool: {fastest.tool} at {fastest.rate:,.0f} objects/s; "
        f"eotdl CLI is **{ratio:.1f}×** faster (target ≥ 20×: "
        f"{'met' if meets_ratio else 'MISSED'}); the eotdl library in-process is "
        f"{library_ratio:.1f}× faster.",
        f"- By CPU time (less sensitive to other jobs on the machine): eotdl CLI "
        f"{timings[0].cpu_rate:,.0f} objects per CPU second, {cpu_ratio:.1f}× the best other "
        f"({cpu_fastest.tool}, {cpu_fastest.cpu_rate:,.0f}).",
        f"- Every tool reported every object valid: {'yes' if all_valid else 'NO'}.",
        f"- Command-line tools are timed as a subprocess (wall clock, and the child's user + "
        f"system CPU time), best of {repeat} by wall time (each run a fresh process: start-up "
        "and schema compilation included); the library and pystac rows are timed in-process.",
        f"- `stac-validator validate --recursive` and pystac are timed once on the first "
        f"{subset:,} items (stac-validator: a {subset:,}-item static catalog; pystac: the "
        f"collection and {subset:,} item dicts) and their rate extrapolated to {total:,} objects.",
        "- `stac-validator validate` reads the mirror through `--schema-config` (a JSON map "
        "of every mirrored URL to its file); `fast` reads `STAC_VALIDATOR_CACHE_DIR`, filled "
        "from the mirror; pystac uses a `JsonSchemaSTACValidator` subclass whose `_get_schema` "
        "reads the mirror.",
        "- Not the same checks: `fast` strips `additionalProperties: false` in shared "
        "properties, `unevaluatedProperties`, `if/then/else` and `dependencies` from the "
        "schemas before compiling; `stac-validator validate --recursive` validates every "
        f"object with the root catalog's STAC version ({TREE_VERSION} here, while the items "
        f"are {make_item(0)['stac_version']}); eotdl "
        "and pystac apply the full schemas of each object's own version.",
        f"- Load average (1 min) at the end of the run: {load:.1f} on {os.cpu_count()} CPUs "
        "(a shared machine; the short runs vary by up to 2× between runs).",
    ]
    print("\n".join(lines[2:]))
    write_section("validate", "Validation speed (issue #2)", command, "\n".join(lines))


if __name__ == "__main__":
    main()
