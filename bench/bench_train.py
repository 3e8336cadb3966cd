"""Benchmark (issue #9): the Dask runner against a plain PyTorch loop, on the same data (CPU).

A lab holds one generated land-cover dataset (``scripts/landcover.py``: Sentinel-2-like
32×32 chips, 4 bands uint16, five classes; about 1000 chips, ``--quick`` 256). Every case
trains ``small-cnn`` (AdamW, batch 32, cross-entropy) on the train split with the same
normalisation and reader (eotdl's access loader), ``num_workers=0``:

- ``plain``: one process, a ``DataLoader(shuffle=True)`` loop, torch on 2 threads (and on 1);
- ``runner, 1 worker`` and ``runner, 2 workers``: ``eotdl.train(cluster="local")`` (one DDP
  rank per worker, gloo), cores shared out between the ranks;
- ``runner, 2 workers, MALLOC_TRIM_THRESHOLD_=65536``: Dask's default left in place.

Reported: training samples/s (the train pass only, mean of the epochs after the first), the
share of step time spent waiting for data, and the whole call's wall time (cluster start,
torch import in the workers, validation, test, saving). Each case runs in a fresh process;
cases run in rounds with the order rotating, and the best round of each is kept.

    python bench/bench_train.py [--quick] [--runs N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "_work" / "train"
MIRROR = REPO.parent / "shared" / "stac-schemas"
DATASET = "land-cover"
sys.path[:0] = [str(REPO / "bench"), str(REPO / "scripts")]

from results import table, write_section  # noqa: E402

BATCH = 32
CASES = {
    "plain": "plain PyTorch loop, one process, torch on 2 threads",
    "plain-1": "plain PyTorch loop, one process, torch on 1 thread",
    "runner-1": "`eotdl.train`, local cluster, 1 worker",
    "runner-2": "`eotdl.train`, local cluster, 2 workers",
    "runner-2-trim": "`eotdl.train`, 2 workers, `MALLOC_TRIM_THRESHOLD_=65536` (Dask default)",
}


def make_lab(root: Path, scenes: int) -> int:
    """A lab with the land-cover dataset; the number of chips."""
    from landcover import generate

    from eotdl.builders.ingestion import ingest
    from eotdl.catalog.lab import init_lab

    lab = init_lab(root / "lab")
    count = generate(root / "chips", scenes=scenes, size=256, chip=32, seed=7)
    ingest(
        lab,
        "classification-folders",
        str(root / "chips"),
        DATASET,
        {"datetime": "2023-06-01"},
        split="stratified:0.7,0.15,0.15",
        progress=False,
    )
    return count


def case_plain(lab: Path, epochs: int, threads: int) -> dict[str, Any]:
    """A plain single-process loop over the same samples, reader and normalisation."""
    import torch
    from torch.utils.data import DataLoader

    from eotdl.ml.torch import TorchDataset
    from eotdl.train.loop import Normalize
    from eotdl.train.models import MODELS
    from eotdl.train.samples import resolve_samples
    from eotdl.train.spec import JobSpec

    torch.set_num_threads(threads)
    spec = JobSpec(DATASET, "classification", "small-cnn", "plain", lab=str(lab), batch_size=BATCH)
    samples = resolve_samples(spec)
    torch.manual_seed(0)
    model = MODELS["small-cnn"].build(samples.in_channels, samples.num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    dataset = TorchDataset(samples.train, samples.reader, Normalize(samples.mean, samples.std))
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    rates, shares = [], []
    for _ in range(epochs):
        model.train()
        count, load = 0, 0.0
        started = waited = time.perf_counter()
        for images, targets in loader:
            load += time.perf_counter() - waited
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(images), targets)
            loss.backward()
            optimizer.step()
            loss.item()
            count += images.shape[0]
            waited = time.perf_counter()
        seconds = time.perf_counter() - started
        rates.append(count / seconds)
        shares.append(load / seconds)
    return {"rates": rates, "shares": shares, "train": len(samples.train)}


def case_runner(lab: Path, epochs: int, workers: int, trim: bool) -> dict[str, Any]:
    import eotdl
    from eotdl.train import cluster

    if trim:  # put Dask's default back
        del cluster.WORKER_CONFIG["distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"]
    item = eotdl.train(
        DATASET,
        lab=lab,
        model="small-cnn",
        epochs=epochs,
        batch_size=BATCH,
        workers=workers,
        name=f"bench-{workers}{'-trim' if trim else ''}",
        resume=False,
        progress=False,
    )
    history = item["properties"]["eotdl:history"]
    return {
        "rates": [r["samples_per_s"] for r in history],
        "shares": [r["load_share"] for r in history],
        "accuracy": item["properties"]["eotdl:metrics"]["test"].get("accuracy"),
    }


def run_case(case: str, lab: Path, epochs: int) -> dict[str, Any]:
    started = time.perf_counter()
    if case.startswith("plain"):
        result = case_plain(lab, epochs, 1 if case == "plain-1" else min(2, os.cpu_count() or 1))
    else:
        workers = int(case.split("-")[1])
        result = case_runner(lab, epochs, workers, trim=case.endswith("trim"))
    result["wall_s"] = time.perf_counter() - started
    return result


def summary(result: dict[str, Any]) -> tuple[float, float]:
    """Mean samples/s and loading share over the epochs after the first."""
    rates = result["rates"][1:] or result["rates"]
    shares = result["shares"][1:] or result["shares"]
    return sum(rates) / len(rates), sum(shares) / len(shares)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 chips, 3 epochs, one round")
    parser.add_argument("--runs", type=int, default=None, help="rounds (best kept)")
    parser.add_argument("--keep", action="store_true", help="keep bench/_work/train")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--lab", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        result = run_case(args.case, args.lab, args.epochs)
        Path(os.environ["BENCH_OUT"]).write_text(json.dumps(result))
        return 0
    scenes, epochs = (4, 3) if args.quick else (16, 4)
    runs = args.runs or (1 if args.quick else 2)
    load_before = os.getloadavg()[0]
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        EOTDL_SCHEMA_MIRROR=str(MIRROR),
        EOTDL_OFFLINE="1",
        EOTDL_CACHE_DIR=str(WORK / "cache"),
        NO_COLOR="1",
    )
    os.environ.update(env)
    print("making the dataset…", flush=True)
    chips = make_lab(WORK, scenes)
    lab = WORK / "lab"
    best: dict[str, dict[str, Any]] = {}
    try:
        keys = list(CASES)
        for number in range(runs):
            shift = number % len(keys)
            for key in keys[shift:] + keys[:shift]:
                print(f"  round {number + 1}: {CASES[key]}", flush=True)
                out = WORK / f"{key}.json"
                command = [sys.executable, __file__, "--case", key, "--lab", str(lab)]
                command += ["--epochs", str(epochs)]
                subprocess.run(command, check=True, env={**env, "BENCH_OUT": str(out)}, cwd=REPO)
                result = json.loads(out.read_text())
                if key not in best or summary(result)[0] > summary(best[key])[0]:
                    best[key] = result
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    load_after = os.getloadavg()[0]
    plain_rate = summary(best["plain"])[0]
    rows = []
    for key, label in CASES.items():
        rate, share = summary(best[key])
        rows.append(
            [
                label,
                f"{rate:.0f}",
                f"{rate / plain_rate:.2f}×",
                f"{share:.0%}",
                f"{best[key]['wall_s']:.1f}",
            ]
        )
    trained = best["plain"]["train"]
    body = (
        f"{chips} chips of 32×32 px, 4 bands uint16 ({trained} in the train split), `small-cnn`,"
        f" batch {BATCH}, {epochs} epochs, DataLoader `num_workers=0`; samples/s is the train"
        " pass of the epochs after the first (all ranks together); the loading share is the"
        " time a step waited for its batch (reading GeoTIFFs with rasterio, normalising);"
        " wall time is the whole call: cluster start, torch import in the workers,"
        f" validation, test and saving. Load average {load_before:.1f} before,"
        f" {load_after:.1f} after (a shared machine: compare rows of one run).\n\n"
        + table(
            ["case", "samples/s", "vs plain", "data loading", "wall s"],
            rows,
        )
    )
    command = "python bench/bench_train.py" + (" --quick" if args.quick else "")
    write_section("train", "Training: the Dask runner against a plain PyTorch loop", command, body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
