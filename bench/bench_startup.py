"""Benchmark (issue #16): how fast the ``eotdl`` command starts.

``eotdl --help``, ``eotdl --version`` and ``eotdl COMMAND --help`` for every command, each a
fresh process of the installed entry point, beside ``python -c pass`` (the interpreter alone).
Every round runs every case once, in a rotating order, so a busy moment on the shared machine
hits every case alike; minimum and median of the rounds, wall and CPU (user + system of the
child), and the 1-minute load average when each case ran.

    python bench/bench_startup.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench")]

from results import load, table, write_section  # noqa: E402

from eotdl.cli.main import COMMANDS  # noqa: E402

TARGET_S = 0.25


def eotdl_path() -> str:
    beside = Path(sys.executable).with_name("eotdl")
    found = str(beside) if beside.exists() else shutil.which("eotdl")
    if not found:
        sys.exit("eotdl not found: pip install -e .")
    return found


def run_once(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process (stdout discarded)."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    err = child.stderr.read() if child.stderr else b""
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({child.returncode}): {err.decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    eotdl = eotdl_path()
    cases: list[tuple[str, list[str]]] = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("eotdl --version", [eotdl, "--version"]),
        ("eotdl --help", [eotdl, "--help"]),
        *[(f"eotdl {name} --help", [eotdl, name, "--help"]) for name in sorted(COMMANDS)],
    ]
    walls: dict[str, list[float]] = {name: [] for name, _ in cases}
    cpus: dict[str, list[float]] = {name: [] for name, _ in cases}
    loads: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _, argv in cases:  # warm the page cache and the bytecode cache once
        run_once(argv)
    for index in range(args.rounds):
        shift = index % len(cases)
        for name, argv in cases[shift:] + cases[:shift]:
            wall, cpu = run_once(argv)
            walls[name].append(wall)
            cpus[name].append(cpu)
            loads[name].append(load()[0])
        print(f"round {index + 1}/{args.rounds} done (load {load()[0]:.2f})", flush=True)

    rows = []
    worst = ("", 0.0)
    for name, _ in cases:
        median = statistics.median(walls[name])
        if name != "python -c pass" and median > worst[1]:
            worst = (name, median)
        rows.append(
            [
                f"`{name}`",
                f"{min(walls[name]) * 1000:.0f}",
                f"{median * 1000:.0f}",
                f"{min(cpus[name]) * 1000:.0f}",
                f"{statistics.median(cpus[name]) * 1000:.0f}",
                f"{min(loads[name]):.2f}–{max(loads[name]):.2f}",
                "yes" if median <= TARGET_S else "NO",
            ]
        )
        print(f"  {name:<28} min {min(walls[name]) * 1000:6.0f} ms  median {median * 1000:6.0f} ms")
    over = [r[0] for r in rows[1:] if r[-1] == "NO"]
    lines = [
        f"Each case is a fresh process of the installed `eotdl` entry point ({args.rounds} "
        "rounds; every round runs every case once, in a rotating order, after one warm-up "
        "run). Wall is the time from spawn to exit; CPU is the child's user + system time; "
        "*load* is the 1-minute load average when the case ran (lowest–highest over the "
        "rounds). The imports behind each case are checked by `tests/cli/test_startup.py` "
        "(none of numpy, rasterio, pyarrow, dask, torch, matplotlib, boto3).",
        "",
        table(
            [
                "Command",
                "Wall min ms",
                "Wall median ms",
                "CPU min ms",
                "CPU median ms",
                "Load (1 min)",
                f"Median ≤ {TARGET_S * 1000:.0f} ms",
            ],
            rows,
        ),
        "",
        f"- Slowest median: {worst[0]} at **{worst[1] * 1000:.0f} ms** (target ≤ "
        f"{TARGET_S * 1000:.0f} ms: {'met' if not over else 'MISSED for ' + ', '.join(over)}).",
    ]
    print("\n".join(lines[2:]))
    write_section(
        "startup",
        "CLI start-up (issue #16)",
        "python bench/bench_startup.py" + (f" --rounds {args.rounds}" if args.rounds != 10 else ""),
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
