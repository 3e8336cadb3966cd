"""``eotdl.train(...)``: a job spec resolved on the client, run as DDP ranks on Dask, saved as STAC.

The client resolves the samples (through :mod:`eotdl.ml`), starts or joins the cluster,
runs one rank per worker, shows rank 0's events, and when a worker is lost (or a peer's
connection drops) cancels the ranks, restarts their workers and resumes from the last
checkpoint, at most ``max_retries`` times. A rank that fails with its own error (a bug, a bad
model) stops the job at once. Ctrl-C stops the ranks and leaves the checkpoints, so running
the same job again resumes it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

from eotdl.catalog.lab import Lab, check_name
from eotdl.catalog.store import open_lab_store
from eotdl.errors import EotdlError, InputError
from eotdl.ml.dataset import open_dataset
from eotdl.read.finding import split_name
from eotdl.train.cluster import Cluster, check_cuda, default_workers, open_cluster
from eotdl.train.loop import EpochHook, RankJob, StoreRef, latest_checkpoint, rank_main
from eotdl.train.mlm import now, save_model
from eotdl.train.models import DEFAULT_MODELS, Factory, ModelEntry, resolve_model
from eotdl.train.progress import EventCallback, Progress
from eotdl.train.ranks import (
    RankFailed,
    WorkerLost,
    alive,
    rank_workers,
    run_ranks,
    stop_workers,
    workers_info,
)
from eotdl.train.samples import Samples, resolve_samples
from eotdl.train.spec import CUDA, LOCAL, JobSpec, check_cluster

#: Seconds to wait for the job's workers to (re)start.
WORKERS_TIMEOUT = 120.0


class TrainingError(EotdlError):
    """A training job failed: a rank's own error, or too many lost workers."""


def train(
    dataset: str,
    *,
    task: str | None = None,
    model: str | Factory | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    optimizer: str = "adamw",
    cluster: str = LOCAL,
    workers: int | None = None,
    name: str | None = None,
    lab: Lab | str | os.PathLike[str] | None = None,
    version: str | None = None,
    seed: int = 0,
    bands: Sequence[int | str] | None = None,
    chip_size: int | None = None,
    loader_workers: int = 0,
    max_retries: int = 2,
    resume: bool = True,
    license: str | None = None,
    progress: bool = True,
    on_event: EventCallback | None = None,
    on_epoch_end: Sequence[EpochHook] = (),
) -> dict[str, Any]:
    """Train ``model`` on ``dataset[@version]`` of a lab; save it in ``models/<name>/``.

    ``model`` is a built-in name (``small-cnn``, ``resnet-small``, ``unet-small``), a
    ``package.module:factory`` string or a factory ``(in_channels, num_classes) -> nn.Module``.
    ``cluster`` is ``local``, ``cuda`` or a scheduler address. Returns the model's STAC Item.
    """
    the_lab = Lab.locate(lab)
    dataset_name, at_version = split_name(dataset)
    if version and at_version and version != at_version:
        raise InputError(f"two versions given: {dataset} and version={version!r}")
    if check_cluster(cluster) == CUDA:
        check_cuda(workers)  # before anything slow: a missing GPU or dask-cuda is said at once
    data = open_dataset(dataset_name, version or at_version, lab=the_lab)
    task = task or data.task
    if task is None:
        raise InputError(
            f"{dataset_name} declares no task (label:tasks)", hint="pass --task classification"
        )
    if task not in DEFAULT_MODELS:
        raise InputError(
            f"training for {task} is not supported", hint="use classification or segmentation"
        )
    entry = resolve_model(model, task)
    spec = JobSpec(
        dataset=dataset_name,
        task=task,
        model=entry.name,
        name=check_name(name or default_name(dataset_name, entry), "model"),
        version=version or at_version,
        lab=str(the_lab.root),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        optimizer=optimizer,
        seed=seed,
        cluster=cluster,
        workers=workers or default_workers(cluster) or 1,
        bands=list(bands) if bands is not None else None,
        chip_size=chip_size,
        loader_workers=loader_workers,
        max_retries=max_retries,
        torch_version=torch_version(),
        created=now(),
    ).check()
    samples = resolve_samples(spec, data)
    check_model(entry, samples, task)
    result = run_job(
        the_lab,
        spec,
        samples,
        entry,
        workers=workers,
        resume=resume,
        progress=progress,
        on_event=on_event,
        hooks=on_epoch_end,
    )
    return save_model(the_lab, spec, samples, entry, result, license=license)


def torch_version() -> str:
    import torch

    return str(torch.__version__)


def default_name(dataset: str, entry: ModelEntry) -> str:
    """``<dataset>-<model>``, in the characters a model name allows."""
    model = entry.name.rsplit(":", 1)[-1].rsplit(".", 1)[-1].lower()
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in f"{dataset}-{model}")
    return cleaned.strip("-._")[:100] or "model"


def check_model(entry: ModelEntry, samples: Samples, task: str) -> int:
    """Build the model here and run one batch through it: a clear error before any cluster."""
    import torch

    try:
        model = entry.build(samples.in_channels, samples.num_classes)
        model.eval()
        with torch.no_grad():
            out = model(torch.zeros(2, samples.in_channels, samples.chip_size, samples.chip_size))
    except EotdlError:
        raise
    except Exception as exc:
        raise InputError(f"model {entry.name!r} fails on a batch of this dataset: {exc}") from None
    k, size = samples.num_classes, samples.chip_size
    wanted = (2, k) if task == "classification" else (2, k, size, size)
    if tuple(out.shape) != wanted:
        raise InputError(
            f"model {entry.name!r} returns shape {tuple(out.shape)}; {task} needs {wanted}",
            hint="classifiers return (batch, classes), segmenters (batch, classes, height, width)",
        )
    return sum(p.numel() for p in model.parameters())


def run_job(
    lab: Lab,
    spec: JobSpec,
    samples: Samples,
    entry: ModelEntry,
    *,
    workers: int | None = None,
    resume: bool = True,
    progress: bool = True,
    on_event: EventCallback | None = None,
    hooks: Sequence[EpochHook] = (),
) -> dict[str, Any]:
    """Run the job's ranks on its cluster, with retries; rank 0's result."""
    store = open_lab_store(lab)
    config = lab.config.store
    with open_cluster(spec.cluster, workers or default_workers(spec.cluster)) as cluster:
        client = cluster.client
        world = workers or default_workers(spec.cluster) or _current_workers(client)
        _wait_for_workers(client, world)
        spec.workers, spec.device = world, cluster.device
        if not resume:
            store.delete_many(info.key for info in store.list(spec.checkpoint_prefix))
        topic = f"eotdl-train-{spec.run_id}-{uuid.uuid4().hex[:8]}"
        job = RankJob(
            spec=spec,
            entry=entry,
            train=samples.train,
            validate=samples.validate,
            test=samples.test,
            reader=samples.reader,
            in_channels=samples.in_channels,
            num_classes=samples.num_classes,
            mean=samples.mean,
            std=samples.std,
            store=StoreRef(lab.store_url, config.endpoint_url, config.region, config.profile),
            topic=topic,
            threads=_threads(cluster, world),
            hooks=tuple(hooks),
        )
        with Progress(spec.name, progress, on_event) as display:
            client.subscribe_topic(topic, display.handle)
            try:
                return _attempts(cluster, job, world, display, store)
            finally:
                client.unsubscribe_topic(topic)


def _attempts(
    cluster: Cluster, job: RankJob, world: int, display: Progress, store: Any
) -> dict[str, Any]:
    client = cluster.client
    spec = job.spec
    for attempt in range(1, spec.max_retries + 2):
        latest = latest_checkpoint(store, spec)
        job.resume_key = latest[0] if latest else None
        job.attempt = attempt
        workers = rank_workers(client, world)
        try:
            results = run_ranks(
                client, workers, rank_main, job, name=f"{job.topic}-attempt{attempt}"
            )
        except KeyboardInterrupt:
            if not cluster.owned:  # ours close with the cluster
                stop_workers(client, workers)
                _gone(client, workers, timeout=10.0)
            raise
        except (WorkerLost, RankFailed) as exc:
            failed = exc if isinstance(exc, RankFailed) else None
            if failed is not None and not failed.peer_gone:
                raise TrainingError(
                    f"training stopped: {failed}",
                    hint="the rank's traceback:\n" + _tail(failed.traceback),
                ) from None
            if attempt > spec.max_retries:
                raise TrainingError(
                    f"training stopped after {attempt} attempt(s): {exc}",
                    hint=f"the checkpoints are kept under {spec.checkpoint_prefix}: run the same"
                    " command again to resume",
                ) from None
            stop_workers(client, workers)
            _wait_for_workers(client, world, after=workers)
            after = latest_checkpoint(store, spec)
            display.handle(
                {
                    "kind": "retry",
                    "attempt": attempt + 1,
                    "reason": str(exc),
                    "resume_epoch": after[1] if after else 0,
                }
            )
            continue
        result: dict[str, Any] = results[0]
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _wait_for_workers(client: Any, world: int, after: Sequence[str] = ()) -> None:
    """Wait for ``world`` workers (none of the stopped ``after`` ones still counted)."""
    deadline = time.monotonic() + WORKERS_TIMEOUT
    try:
        _gone(client, after, WORKERS_TIMEOUT)
        client.wait_for_workers(world, timeout=max(1.0, deadline - time.monotonic()))
    except TimeoutError:
        have = _current_workers(client)
        raise TrainingError(
            f"the cluster has {have} worker(s); this job needs {world}",
            hint="start more workers, or pass --workers N",
        ) from None


def _gone(client: Any, workers: Sequence[str], timeout: float) -> None:
    """Wait (at most ``timeout`` seconds) until the scheduler has dropped ``workers``."""
    deadline = time.monotonic() + timeout
    while workers and set(workers) & alive(client) and time.monotonic() < deadline:
        time.sleep(0.1)


def _current_workers(client: Any) -> int:
    return len(workers_info(client))


def _threads(cluster: Cluster, world: int) -> int | None:
    """PyTorch threads per rank: this machine's cores shared out when the cluster is ours."""
    if not cluster.owned:
        return None
    return max(1, (os.cpu_count() or 1) // world)


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(none)"
