"""``eotdl train``, ``eotdl predict`` and ``eotdl models list|get``: the Dask runner's commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from eotdl.cli.output import console, emit_json, err_console, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


def _bands(value: str | None) -> list[int | str] | None:
    if not value:
        return None
    return [int(b) if b.strip().isdigit() else b.strip() for b in value.split(",") if b.strip()]


@click.command()
@click.argument("dataset", metavar="DATASET[@VERSION]")
@click.option(
    "--task",
    type=click.Choice(["classification", "segmentation"]),
    default=None,
    help="What to learn (default: the dataset's label:tasks).",
)
@click.option(
    "--model",
    default=None,
    help="small-cnn, resnet-small, unet-small, or a factory as package.module:name"
    " (default: small-cnn for classification, unet-small for segmentation).",
)
@click.option("--epochs", default=10, show_default=True, help="Passes over the training split.")
@click.option("--batch-size", default=32, show_default=True, help="Samples per step and rank.")
@click.option("--lr", default=1e-3, show_default=True, help="Learning rate (AdamW).")
@click.option("--weight-decay", default=1e-4, show_default=True, help="AdamW weight decay.")
@click.option("--seed", default=0, show_default=True, help="Random seed: same seed, same weights.")
@click.option(
    "--cluster",
    default="local",
    show_default=True,
    help="local (a LocalCluster here), cuda (one worker per GPU; needs eotdl[gpu]) or a"
    " scheduler address such as tcp://HOST:8786.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Ranks, one per Dask worker (default: 2 locally, every GPU, every worker).",
)
@click.option("--name", default=None, help="The model's name (default: DATASET-MODEL).")
@click.option("--bands", default=None, help="Input bands, by number or name (default: all).")
@click.option("--chip-size", type=int, default=None, help="Crop or pad chips to this size.")
@click.option(
    "--loader-workers", default=0, show_default=True, help="DataLoader processes per rank."
)
@click.option("--retries", default=2, show_default=True, help="Restarts after a lost worker.")
@click.option("--no-resume", is_flag=True, help="Start over, ignoring this job's checkpoints.")
@click.option("--license", "license_id", default=None, help="The model's licence (SPDX id).")
@lab_option()
@click.option("--no-progress", is_flag=True, help="Do not show the progress display.")
@click.option("--json", "as_json", is_flag=True, help="Print the model's STAC Item as JSON.")
def train(
    dataset: str,
    task: str | None,
    model: str | None,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    cluster: str,
    workers: int | None,
    name: str | None,
    bands: str | None,
    chip_size: int | None,
    loader_workers: int,
    retries: int,
    no_resume: bool,
    license_id: str | None,
    lab: Lab,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Train a model on a dataset of the lab, on a Dask cluster, and save it in models/.

    One PyTorch DistributedDataParallel rank runs per Dask worker; rank 0 reports progress
    and writes a checkpoint per epoch to the lab's object store. A lost worker restarts the
    ranks from the last checkpoint; after Ctrl-C, the same command resumes. The model is
    saved as a STAC Item with the MLM extension in models/NAME/, its weights in the store.
    """
    from eotdl.train.runner import train as run

    item = run(
        dataset,
        task=task,
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        cluster=cluster,
        workers=workers,
        name=name,
        lab=lab,
        bands=_bands(bands),
        chip_size=chip_size,
        loader_workers=loader_workers,
        max_retries=retries,
        resume=not no_resume,
        license=license_id,
        progress=not no_progress and not as_json,
    )
    if as_json:
        emit_json(item)
        return
    props = item["properties"]
    test = props.get("eotdl:metrics", {}).get("test") or {}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in test.items()) or "no test split"
    console.print(f"[green]model {item['id']}[/] ({props['mlm:architecture']}): test {shown}")
    console.print(f"  saved in models/{item['id']}/; try `eotdl predict {item['id']} IMAGE.tif`")


@click.command()
@click.argument("model", metavar="MODEL")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the class GeoTIFF (default: IMAGE-MODEL.tif beside IMAGE).",
)
@click.option("--batch-size", default=64, show_default=True, help="Chips per forward pass.")
@lab_option(reader=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def predict(
    model: str, image: Path, output: Path | None, batch_size: int, lab: str | None, as_json: bool
) -> None:
    """Run a trained model on a GeoTIFF; write a class GeoTIFF with the same georeferencing.

    MODEL is a model of the lab, a model folder (e.g. from `eotdl models get`) or the URL of
    a model's collection.json. Segmentation models give a class per pixel, classifiers a class
    per chip of their input size.
    """
    from eotdl.train.prediction import predict as run

    summary = run(model, image, output, lab=lab, batch_size=batch_size)
    if as_json:
        emit_json(summary)
        return
    total = sum(summary["pixels"].values()) or 1
    shares = ", ".join(f"{k} {v / total:.0%}" for k, v in summary["pixels"].items() if v)
    console.print(f"[green]wrote[/] {summary['output']} ({summary['task']}): {shares}")


@click.group()
def models() -> None:
    """The lab's trained models: list them, download one."""


@models.command("list")
@lab_option()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_command(lab: Lab, as_json: bool) -> None:
    """List the models of the lab: task, architecture, dataset and test metric."""
    from rich.table import Table

    from eotdl.train.library import list_models

    found = list_models(lab)
    if as_json:
        emit_json([m.to_dict() for m in found])
        return
    if not found:
        err_console.print("no models yet: `eotdl train DATASET` makes one")
        return
    table = Table("model", "task", "architecture", "dataset", "test metric", "parameters")
    for m in found:
        value = f"{m.metric} {m.value:.4f}" if m.value is not None else "-"
        table.add_row(m.name, m.task, m.architecture, m.dataset, value, _count(m.parameters))
    console.print(table)


@models.command("get")
@click.argument("name", metavar="NAME")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the model (default: ./NAME).",
)
@lab_option(reader=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def get_command(name: str, output: Path | None, lab: str | None, as_json: bool) -> None:
    """Download a model: its STAC Item, weights and job spec, every file verified.

    The folder it writes is a model `eotdl predict` reads: `eotdl predict DIR IMAGE`.
    """
    from eotdl.train.library import get_model

    result = get_model(name, output, lab, progress=not as_json)
    if as_json:
        emit_json(result.to_dict())
        return
    console.print(f"[green]got[/] model {result.dataset} → {result.path}: {result.describe()}")


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "-"
