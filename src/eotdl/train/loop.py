"""One rank's training: DDP over a DistributedSampler, metrics, events, checkpoints.

Every rank builds the model from the job's seed, loads the last checkpoint when resuming,
and trains epoch by epoch; each epoch's shuffle and random state derive from (seed, epoch,
rank) alone, so a run resumed from a checkpoint ends with the same weights as one that never
stopped. After each epoch rank 0 writes a checkpoint to the lab's object store (atomically:
the store never shows a partial object, and an existing one is never replaced), all ranks
meet at a barrier, and rank 0 reports the epoch as a Dask event.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from eotdl.ml.labels import IGNORE
from eotdl.ml.samples import SampleReader
from eotdl.ml.torch import TorchDataset
from eotdl.storage import ObjectStore, open_store
from eotdl.train.metrics import confusion_metrics
from eotdl.train.models import ModelEntry, count_parameters
from eotdl.train.ranks import Rendezvous, process_group
from eotdl.train.spec import JobSpec

#: ``hook(rank, epochs_done)``, called on every rank after each epoch's checkpoint.
EpochHook = Callable[[int, int], None]
CHECKPOINT = re.compile(r"epoch-(\d{4,})\.pt$")
#: Least time between two step events, in seconds.
STEP_EVENTS = 0.5


@dataclass(frozen=True)
class StoreRef:
    """How a worker opens the lab's object store (a URL and its S3 settings)."""

    url: str
    endpoint_url: str = ""
    region: str = ""
    profile: str = ""

    def open(self) -> ObjectStore:
        return open_store(
            self.url,
            endpoint_url=self.endpoint_url or None,
            region=self.region or None,
            profile=self.profile or None,
        )


@dataclass
class RankJob:
    """Everything a rank needs, sent once to every worker."""

    spec: JobSpec
    entry: ModelEntry
    train: list[dict[str, Any]]
    validate: list[dict[str, Any]]
    test: list[dict[str, Any]]
    reader: SampleReader
    in_channels: int
    num_classes: int
    mean: list[float]
    std: list[float]
    store: StoreRef
    topic: str
    resume_key: str | None = None
    threads: int | None = None
    timeout: float = 120.0
    hooks: Sequence[EpochHook] = field(default_factory=tuple)
    attempt: int = 1


class Normalize:
    """Per-band z-score: ``(x - mean) / std`` (picklable, for DataLoader workers)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.mean) / self.std


class Reporter:
    """Rank 0's events on the job's topic (a no-op elsewhere and outside a Dask worker)."""

    def __init__(self, topic: str, active: bool) -> None:
        self.topic = topic
        self.worker: Any = None
        self.last_step = 0.0
        if active:
            with contextlib.suppress(ValueError, ImportError):
                from distributed import get_worker

                self.worker = get_worker()

    def send(self, kind: str, **fields: Any) -> None:
        if self.worker is not None:
            self.worker.log_event(self.topic, {"kind": kind, **fields})

    def step(self, epoch: int, step: int, steps: int, loss: float) -> None:
        now = time.monotonic()
        if self.worker is not None and (now - self.last_step >= STEP_EVENTS or step == steps):
            self.last_step = now
            self.send("step", epoch=epoch, step=step, steps=steps, loss=loss)


def rank_main(rank: int, world: int, rendezvous: Rendezvous, job: RankJob) -> dict[str, Any] | None:
    """The task each Dask worker runs: join the process group, train; rank 0 returns the result."""
    device = torch.device("cuda", 0) if job.spec.device == "cuda" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.set_num_threads(job.threads or _worker_threads())
    backend = "nccl" if device.type == "cuda" else "gloo"
    with process_group(rank, world, rendezvous, backend, job.timeout):
        return train_rank(rank, world, device, job)


def train_rank(rank: int, world: int, device: torch.device, job: RankJob) -> dict[str, Any] | None:
    """Train (or resume) to the last epoch, then evaluate on the test split."""
    spec = job.spec
    torch.manual_seed(spec.seed)
    model = job.entry.build(job.in_channels, job.num_classes).to(device)
    optimizer = make_optimizer(spec, model)
    store = job.store.open()
    start, history = 0, []
    if job.resume_key:
        state = load_checkpoint(store, job.resume_key, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = int(state["epoch"]), list(state["history"])
    ddp = DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )
    transform = Normalize(job.mean, job.std)
    dataset = TorchDataset(job.train, job.reader, transform)
    sampler: DistributedSampler[Any] = DistributedSampler(
        dataset, num_replicas=world, rank=rank, shuffle=True, seed=spec.seed
    )
    workers = _loader_workers(spec.loader_workers)
    loader = DataLoader(
        dataset,
        batch_size=spec.batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
    )
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    reporter = Reporter(job.topic, rank == 0)
    reporter.send(
        "start",
        epoch=start,
        epochs=spec.epochs,
        steps=len(loader),
        attempt=job.attempt,
        world=world,
    )
    for epoch in range(start, spec.epochs):
        torch.manual_seed(epoch_seed(spec.seed, epoch, rank))
        sampler.set_epoch(epoch)
        ddp.train()
        record = _train_epoch(ddp, loader, optimizer, loss_fn, device, reporter, epoch)
        record["validate"] = evaluate(model, job, job.validate, rank, world, device)
        history.append(record)
        if rank == 0:
            save_checkpoint(store, checkpoint_key(spec, epoch + 1), model, optimizer, history)
        dist.barrier()
        reporter.send("epoch", **record)
        for hook in job.hooks:
            hook(rank, epoch + 1)
    confusion: list[list[int]] = []
    test = evaluate(model, job, job.test, rank, world, device, confusion)
    reporter.send("test", metrics=test)
    if rank != 0:
        return None
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    return {
        "state": buffer.getvalue(),
        "history": history,
        "test": test,
        "test_confusion": confusion,
        "validate": history[-1]["validate"] if history else {},
        "parameters": count_parameters(model),
        "resumed_from": start,
    }


def _train_epoch(
    ddp: DistributedDataParallel,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    device: torch.device,
    reporter: Reporter,
    epoch: int,
) -> dict[str, Any]:
    """One pass over this rank's share; loss, samples/s and data-loading share for all ranks."""
    loss_sum, count, load_time = 0.0, 0, 0.0
    started = time.perf_counter()
    waited = started
    steps = len(loader)
    for step, (images, targets) in enumerate(loader, start=1):
        load_time += time.perf_counter() - waited
        images = images.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(ddp(images), targets)
        loss.backward()
        optimizer.step()
        value = float(loss.item())
        loss_sum += value * images.shape[0]
        count += images.shape[0]
        reporter.step(epoch + 1, step, steps, value)
        waited = time.perf_counter()
    seconds = time.perf_counter() - started
    totals = torch.tensor([loss_sum, count, load_time, seconds], dtype=torch.float64, device=device)
    dist.all_reduce(totals)
    total_count = max(float(totals[1]), 1.0)
    return {
        "epoch": epoch + 1,
        "train_loss": round(float(totals[0]) / total_count, 6),
        "samples": int(totals[1]),
        "seconds": round(seconds, 4),
        "samples_per_s": round(total_count / max(seconds, 1e-9), 2),
        "load_share": round(float(totals[2]) / max(float(totals[3]), 1e-9), 4),
    }


@torch.no_grad()
def evaluate(
    model: nn.Module,
    job: RankJob,
    items: list[dict[str, Any]],
    rank: int,
    world: int,
    device: torch.device,
    confusion_out: list[list[int]] | None = None,
) -> dict[str, float]:
    """Metrics of rank 0's model on ``items`` (each rank scores every world-th item); the
    confusion matrix (rows: true class, columns: predicted) into ``confusion_out``."""
    for buffer in model.buffers():  # e.g. batch-norm statistics: everyone uses rank 0's
        dist.broadcast(buffer, 0)
    k = job.num_classes
    confusion = torch.zeros(k * k, dtype=torch.float64, device=device)
    loss_sum = torch.zeros(1, dtype=torch.float64, device=device)
    mine = items[rank::world]
    if mine:
        model.eval()
        loader = DataLoader(
            TorchDataset(mine, job.reader, Normalize(job.mean, job.std)),
            batch_size=job.spec.batch_size,
        )
        loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE, reduction="sum")
        for images, targets in loader:
            images, targets = images.to(device), targets.to(device)
            logits = model(images)
            loss_sum += loss_fn(logits, targets).double()
            predicted = logits.argmax(dim=1)
            valid = targets != IGNORE
            pairs = targets[valid] * k + predicted[valid]
            confusion += torch.bincount(pairs.flatten(), minlength=k * k).double()
    dist.all_reduce(confusion)
    dist.all_reduce(loss_sum)
    if confusion_out is not None:
        confusion_out[:] = [[int(v) for v in row] for row in confusion.view(k, k).tolist()]
    return confusion_metrics(
        confusion.view(k, k).cpu().numpy(), float(loss_sum.item()), job.spec.task
    )


def make_optimizer(spec: JobSpec, model: nn.Module) -> torch.optim.Optimizer:
    """The spec's optimizer: ``adamw`` (default), ``adam`` or ``sgd`` (momentum 0.9)."""
    params = model.parameters()
    if spec.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    if spec.optimizer == "adam":
        return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=0.9, weight_decay=spec.weight_decay)
    raise ValueError(f"unknown optimizer {spec.optimizer!r}")


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The random seed of one rank in one epoch (dropout, augmentation): no hidden state."""
    return (seed * 1_000_003 + epoch * 1_009 + rank) % (2**63)


def checkpoint_key(spec: JobSpec, epochs_done: int) -> str:
    return f"{spec.checkpoint_prefix}epoch-{epochs_done:04d}.pt"


def latest_checkpoint(store: ObjectStore, spec: JobSpec) -> tuple[str, int] | None:
    """The key and epoch of the run's last checkpoint, or None."""
    best: tuple[str, int] | None = None
    for info in store.list(spec.checkpoint_prefix):
        match = CHECKPOINT.search(info.key)
        if match and (best is None or int(match.group(1)) > best[1]):
            best = (info.key, int(match.group(1)))
    return best


def save_checkpoint(
    store: ObjectStore,
    key: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    history: list[dict[str, Any]],
) -> None:
    """Write a checkpoint to a file, then put it at ``key`` (refused if already there)."""
    state = {
        "epoch": len(history),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": history,
    }
    with tempfile.TemporaryDirectory(prefix="eotdl-ckpt-") as folder:
        path = os.path.join(folder, "checkpoint.pt")
        torch.save(state, path)
        store.put_named(key, path, content_type="application/octet-stream", overwrite=False)


def load_checkpoint(store: ObjectStore, key: str, device: torch.device) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="eotdl-ckpt-") as folder:
        path = os.path.join(folder, "checkpoint.pt")
        store.get_file(key, path)
        state: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    return state


def _loader_workers(wanted: int) -> int:
    """DataLoader workers cannot start in a daemon process: say so and read in the rank."""
    if wanted and multiprocessing.current_process().daemon:
        import warnings

        warnings.warn(
            "this Dask worker is a daemon process, so DataLoader workers cannot start; reading"
            " in the rank (start workers with distributed.worker.daemon: false)",
            stacklevel=2,
        )
        return 0
    return wanted


def _worker_threads() -> int:
    with contextlib.suppress(ValueError, ImportError):
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    return max(1, torch.get_num_threads())
