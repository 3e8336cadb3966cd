"""Write a benchmark's section of ``bench/RESULTS.md``, with the machine's load beside it.

Each benchmark owns one section, delimited by HTML comments, and replaces only that section,
so benchmarks can run in any order and in separate runs.

Timings on a busy machine mean little, so every benchmark (by importing this module) prints
the load average when it starts, and :func:`write_section` records the load at the start and
at the end of the run in the section. When the 1-minute load per CPU exceeds
``BENCH_MAX_LOAD`` (default 1.0) at either end, the section is refused unless
``BENCH_ALLOW_BUSY=1``, and then it is written with a warning saying so.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in `bench/` (`make bench` runs them all). Each section names the\n"
    "machine and the command that produced it; numbers are from one run on that machine.\n"
)

CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
MAX_LOAD = float(os.environ.get("BENCH_MAX_LOAD", "1.0"))
ALLOW_BUSY = os.environ.get("BENCH_ALLOW_BUSY", "") not in ("", "0")


def load() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (zeros where the system has none)."""
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not on Linux or macOS
        return (0.0, 0.0, 0.0)


def load_text(value: tuple[float, float, float] | None = None) -> str:
    """``"1.23 / 0.98 / 0.70"`` (1, 5, 15 min)."""
    one, five, fifteen = value or load()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def busy(value: tuple[float, float, float] | None = None) -> bool:
    """Whether the 1-minute load per CPU is above ``BENCH_MAX_LOAD``."""
    return (value or load())[0] / CPUS > MAX_LOAD


START_LOAD = load()
print(
    f"load average (1/5/15 min) at start: {load_text(START_LOAD)} on {CPUS} CPUs"
    + (
        f"  -- BUSY (above {MAX_LOAD:g} per CPU): figures will be noisy"
        + ("" if ALLOW_BUSY else "; RESULTS.md will not be written (BENCH_ALLOW_BUSY=1 to force)")
        if busy(START_LOAD)
        else ""
    ),
    file=sys.stderr,
    flush=True,
)


def machine() -> str:
    """A one-line description of this machine."""
    cpus = os.cpu_count() or 0
    mem = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{platform.machine()}, {cpus} CPUs{mem}, Python {platform.python_version()}"


def write_section(name: str, title: str, command: str, body: str) -> bool:
    """Replace (or append) the section ``name`` of RESULTS.md, with the load of the run.

    Returns False (and writes nothing) when the machine was too busy and ``BENCH_ALLOW_BUSY``
    is not set.
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    end_load = load()
    was_busy = busy(START_LOAD) or busy(end_load)
    loads = (
        f"Load average (1/5/15 min) on {CPUS} CPUs: {load_text(START_LOAD)} at the start,"
        f" {load_text(end_load)} at the end."
    )
    print(loads, file=sys.stderr, flush=True)
    if was_busy and not ALLOW_BUSY:
        print(
            f"NOT writing RESULTS.md section {name!r}: the 1-minute load per CPU was above"
            f" {MAX_LOAD:g}; rerun on a quieter machine, or set BENCH_ALLOW_BUSY=1 to record"
            " the figures with a warning",
            file=sys.stderr,
        )
        return False
    if was_busy:
        loads += (
            f" **Busy machine** (above {MAX_LOAD:g} per CPU): other jobs shared the CPUs, so"
            " absolute figures are noisy; ratios measured in the same rounds are the figures"
            " to trust."
        )
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Machine: {machine()}. Run: {stamp}. Command: `{command}`\n\n"
        f"{loads}\n\n"
        f"{body.strip()}\n<!-- /bench:{name} -->"
    )
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")
    return True


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
