"""`eotdl serve` under a crowd (issue #12): 200 concurrent clients send 2,000 requests to a
served demo-sized site on 127.0.0.1; latency p50/p95/p99, connection errors, server memory.

Half the clients keep their connection alive, half open a new one per request; the requests
mix item search (plain, CQL2 filter, bbox + datetime), collection pages, a collection and
static files. Each client starts at one barrier, so the 200 arrive at once.

    .venv/bin/python bench/bench_serve_load.py [--clients N] [--requests N] [--rounds N] [--quick]

The site (3 datasets, 1,000 items) is written under bench/_work/serve_load and removed after.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "serve_load"
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "scripts")]

import psutil  # noqa: E402
import results  # noqa: E402
from synthetic import make_collection, make_item  # noqa: E402

DATASETS = {"forests": 400, "rivers": 350, "towns": 250}
TARGETS = [
    "/search?limit=10",
    "/search?limit=10&filter=" + urllib.parse.quote("eo:cloud_cover < 10 AND gsd = 10"),
    "/search?limit=10&bbox=-10,35,0,40&datetime=2023-01-01T00:00:00Z/2023-06-30T00:00:00Z",
    "/collections/forests/items?limit=10",
    "/collections",
    "/collections/rivers",
    "/datasets/towns/collection.json",
    "/catalog.json",
]


def make_site() -> Path:
    from eotdl.catalog.lab import init_lab
    from eotdl.catalog.tree import write_stac_tree

    shutil.rmtree(WORK, ignore_errors=True)
    lab = init_lab(WORK / "lab", title="Load lab")
    for seed, (name, count) in enumerate(DATASETS.items()):
        folder = lab.dataset(name)
        folder.path.mkdir(parents=True)
        folder.write_collection(make_collection(name, count))
        folder.write_items([make_item(i, name, seed) for i in range(count)])
    write_stac_tree(lab, lab.site_dir, parquet=True)
    return lab.site_dir


def crowd(host: str, port: int, clients: int, total: int) -> tuple[list[float], list[str]]:
    """Latencies (s) of the requests that succeeded, and the errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(index: int) -> None:
        keep_alive = index % 2 == 0
        connection: http.client.HTTPConnection | None = None
        mine: list[float] = []
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            pass
        for n in range(total // clients):
            target = TARGETS[(index + n) % len(TARGETS)]
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, port, timeout=60)
                connection.request("GET", target)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
                mine.append(time.perf_counter() - started)
                if not keep_alive or response.will_close:
                    connection.close()
                    connection = None
            except Exception as exc:
                with lock:
                    errors.append(f"{target}: {type(exc).__name__}: {exc}")
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="One round.")
    args, _ = parser.parse_known_args()  # run_all.py passes its own flags to every script
    if args.quick:
        args.rounds = 1
    site = make_site()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "300"}
    process = subprocess.Popen(
        [sys.executable, "-m", "eotdl.cli.main", "serve", "--site", str(site), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    rows = []
    try:
        assert process.stderr is not None
        match = re.search(r"http://(127\.0\.0\.1):(\d+)", process.stderr.readline())
        assert match, "eotdl serve did not start"
        host, port = match.group(1), int(match.group(2))
        server = psutil.Process(process.pid)
        crowd(host, port, 20, 200)  # warm up
        rss_start = server.memory_info().rss
        for round_ in range(1, args.rounds + 1):
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            latencies, errors = crowd(host, port, args.clients, args.requests)
            wall = time.perf_counter() - started
            rows.append(
                [
                    round_,
                    len(latencies),
                    len(errors),
                    f"{1000 * statistics.median(latencies):.0f}",
                    f"{1000 * percentile(latencies, 0.95):.0f}",
                    f"{1000 * percentile(latencies, 0.99):.0f}",
                    f"{1000 * max(latencies):.0f}",
                    f"{len(latencies) / wall:.0f}",
                    f"{server.memory_info().rss / 2**20:.0f}",
                    f"{load_before:.1f}",
                ]
            )
            print(rows[-1], errors[:3], flush=True)
        rss_end = server.memory_info().rss
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        shutil.rmtree(WORK, ignore_errors=True)
    body = (
        f"{args.clients} concurrent clients (half kept-alive, half a new connection per request)"
        f" send {args.requests} requests per round to `eotdl serve` on 127.0.0.1, over a site"
        f" of {len(DATASETS)} datasets, {sum(DATASETS.values())} items; requests mix search"
        " (plain, CQL2, bbox + datetime), item pages, collections and static files. Latency is"
        " from the client, request sent to body read; the clients run on the same 2 CPUs as"
        " the server.\n\n"
        + results.table(
            [
                "round",
                "ok",
                "errors",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "req/s",
                "server RSS MiB",
                "load avg before",
            ],
            rows,
        )
        + f"\n\n- Server RSS after warm-up {rss_start / 2**20:.0f} MiB, after all rounds"
        f" {rss_end / 2**20:.0f} MiB.\n- Load average (1 min) at the end:"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs."
    )
    results.write_section(
        "serve_load",
        "`eotdl serve` under 200 concurrent clients (issue #12)",
        "python bench/bench_serve_load.py",
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
