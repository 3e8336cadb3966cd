"""A trained model as STAC: weights in the object store, an MLM Item in ``models/<name>/``.

``models/<name>/`` has the shape of a dataset folder: ``collection.json``, ``items.ndjson``
(one Item, the model, with the MLM extension), ``README.md`` (the model card) and
``job.json`` (the job spec). The weights (a ``torch.save`` state dict) and the job spec are
content-addressed objects of the lab's store. The Item links ``derived_from`` the exact
dataset version and records the test (and last validation) metrics in ``eotdl:metrics``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog.card import Card
from eotdl.catalog.lab import Lab
from eotdl.catalog.store import asset_href, open_lab_store
from eotdl.catalog.validate import Validator, validate_dataset_folder
from eotdl.catalog.vocabulary import EO_EXT, FILE_EXT, MLM_EXT
from eotdl.errors import LabError
from eotdl.train.metrics import main_metric
from eotdl.train.models import ModelEntry
from eotdl.train.samples import Samples
from eotdl.train.spec import JobSpec

WEIGHTS_TYPE = "application/octet-stream; application=pytorch"
MODEL_ASSET = "model"
JOB_ASSET = "job"
JOB_FILE = "job.json"
#: What ``eotdl:history`` keeps of each epoch.
HISTORY_FIELDS = ("epoch", "train_loss", "validate", "samples_per_s", "load_share")
_MLM_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.\-\s]+[a-zA-Z0-9]$")


def save_model(
    lab: Lab,
    spec: JobSpec,
    samples: Samples,
    entry: ModelEntry,
    result: dict[str, Any],
    *,
    license: str | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """Upload the weights and job spec, write ``models/<name>/``; return the model Item."""
    folder = lab.model(spec.name)
    store = open_lab_store(lab)
    with tempfile.TemporaryDirectory(prefix="eotdl-model-") as tmp:
        weights_path = Path(tmp) / "model.pt"
        weights_path.write_bytes(result["state"])
        job_path = Path(tmp) / JOB_FILE
        job_path.write_bytes(spec.dumps())
        weights = store.put_file(weights_path)
        job = store.put_file(job_path)
    folder.path.mkdir(parents=True, exist_ok=True)
    assets = {
        MODEL_ASSET: {
            "href": asset_href(lab, folder.path, weights),
            "type": WEIGHTS_TYPE,
            "title": f"{entry.name} weights (PyTorch state dict)",
            "roles": ["mlm:model", "mlm:weights", "data"],
            "mlm:artifact_type": "torch.save",
            "file:checksum": weights.checksum,
            "file:size": weights.size,
        },
        JOB_ASSET: {
            "href": asset_href(lab, folder.path, job),
            "type": "application/json",
            "title": "the training job spec",
            "roles": ["metadata"],
            "file:checksum": job.checksum,
            "file:size": job.size,
        },
    }
    derived = derived_from_link(lab, folder.path, samples)
    assets[MODEL_ASSET]["eo:bands"] = [{"name": name} for name in samples.band_names]
    item = model_item(spec, samples, entry, result, assets, derived)
    license = license or str(samples.dataset.collection.get("license") or "other")
    folder.write_collection(model_collection(spec, samples, entry, derived, license))
    folder.write_items([item])
    folder.write_card(model_card(spec, entry, result, item, license))
    write_bytes_atomic(folder.path / JOB_FILE, spec.dumps() + b"\n")
    if validate:
        report = validate_dataset_folder(folder, Validator())
        if not report.ok:
            problems = "\n".join(p.format() for p in report.problems[:5])
            raise LabError(f"the model written to {folder.path} is not valid STAC:\n{problems}")
    return item


def mlm_name(name: str) -> str:
    """``name`` as ``mlm:name`` allows it (a letter first, a letter or digit last, 3+ long)."""
    candidate = name if name[:1].isalpha() else f"model-{name}"
    candidate = candidate.rstrip("._-")
    if len(candidate) < 3:
        candidate = f"{candidate}-model"
    return candidate if _MLM_NAME.match(candidate) else "model"


def model_item(
    spec: JobSpec,
    samples: Samples,
    entry: ModelEntry,
    result: dict[str, Any],
    assets: dict[str, Any],
    derived: dict[str, Any],
) -> dict[str, Any]:
    """The MLM Item of a trained model."""
    collection = samples.dataset.collection
    geometry, bbox = _footprint(collection)
    tasks = [spec.task] + (["semantic-segmentation"] if spec.task == "segmentation" else [])
    properties: dict[str, Any] = {
        **_time_range(collection, spec.created),
        "created": spec.created,
        "description": f"{entry.name} ({entry.architecture}) trained on {derived['title']}",
        "mlm:name": mlm_name(spec.name),
        "mlm:architecture": entry.architecture,
        "mlm:tasks": tasks,
        "mlm:framework": "PyTorch",
        "mlm:framework_version": spec.torch_version,
        "mlm:total_parameters": int(result["parameters"]),
        "mlm:pretrained": False,
        "mlm:pretrained_source": None,
        "mlm:batch_size_suggestion": spec.batch_size,
        "mlm:accelerator": "cuda" if spec.device == "cuda" else "amd64",
        "mlm:accelerator_constrained": False,
        "mlm:input": [model_input(spec, samples)],
        "mlm:output": [model_output(spec, samples, tasks)],
        "mlm:hyperparameters": {k: v for k, v in spec.hyperparameters().items() if v is not None},
        "eotdl:model": entry.name,
        "eotdl:dataset": {"name": spec.dataset, "version": spec.version},
        "eotdl:band_indexes": samples.band_indexes,
        "eotdl:run": spec.run_id,
        "eotdl:metrics": {
            "test": result.get("test") or {},
            "validate": result.get("validate") or {},
        },
        "eotdl:history": [
            {k: r[k] for k in HISTORY_FIELDS if k in r} for r in result.get("history") or []
        ],
    }
    if result.get("test_confusion"):  # rows: true class, columns: predicted (mlm:output order)
        properties["eotdl:confusion"] = {"test": result["test_confusion"]}
    if not properties["mlm:framework_version"]:
        del properties["mlm:framework_version"]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [MLM_EXT, EO_EXT, FILE_EXT],
        "id": spec.name,
        "collection": spec.name,
        "geometry": geometry,
        **({"bbox": bbox} if bbox else {}),
        "properties": properties,
        "links": [
            derived,
            {"rel": "collection", "href": "./collection.json", "type": "application/json"},
        ],
        "assets": assets,
    }


def model_input(spec: JobSpec, samples: Samples) -> dict[str, Any]:
    """``mlm:input``: a batch of z-scored chips, bands in the listed order."""
    return {
        "name": "image",
        "bands": list(samples.band_names),
        "input": {
            "shape": [-1, samples.in_channels, samples.chip_size, samples.chip_size],
            "dim_order": ["batch", "channel", "height", "width"],
            "data_type": "float32",
        },
        "description": f"{samples.chip_size}×{samples.chip_size} chips of {spec.dataset}",
        "value_scaling": [
            {"type": "z-score", "mean": m, "stddev": s}
            for m, s in zip(samples.mean, samples.std, strict=True)
        ],
        "resize_type": None,
    }


def model_output(spec: JobSpec, samples: Samples, tasks: list[str]) -> dict[str, Any]:
    """``mlm:output``: class logits per chip (classification) or per pixel (segmentation)."""
    k = samples.num_classes
    if spec.task == "segmentation":
        shape = [-1, k, samples.chip_size, samples.chip_size]
        order = ["batch", "class", "height", "width"]
    else:
        shape, order = [-1, k], ["batch", "class"]
    return {
        "name": "classes" if spec.task == "classification" else "mask",
        "tasks": tasks,
        "result": {"shape": shape, "dim_order": order, "data_type": "float32"},
        "description": "class logits; the class is the argmax",
        "classification:classes": [
            {"value": index, "name": name, "description": name}
            for index, name in enumerate(samples.classes)
        ],
        "post_processing_function": None,
    }


def model_collection(
    spec: JobSpec, samples: Samples, entry: ModelEntry, derived: dict[str, Any], license: str
) -> dict[str, Any]:
    """The model folder's Collection: the dataset's extent, keywords, and the dataset link."""
    dataset = samples.dataset.collection
    extent = dataset.get("extent") or {
        "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
        "temporal": {"interval": [[spec.created, None]]},
    }
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": spec.name,
        "title": f"{entry.architecture} for {spec.dataset} ({spec.task})",
        "description": (
            f"A {entry.name} model ({entry.architecture}, PyTorch) trained with eotdl on"
            f" {derived['title']} for {spec.task}."
        ),
        "license": license,
        "keywords": ["model", spec.task, entry.architecture],
        "extent": extent,
        "links": [derived],
    }


def model_card(
    spec: JobSpec, entry: ModelEntry, result: dict[str, Any], item: dict[str, Any], license: str
) -> Card:
    """The model card: what it is, its metrics, where it came from, how to use it."""
    metrics = item["properties"]["eotdl:metrics"]
    names = sorted({k for split in metrics.values() for k in split})
    rows = [
        f"| {split} | " + " | ".join(_cell(metrics[split].get(n)) for n in names) + " |"
        for split in ("test", "validate")
        if metrics.get(split)
    ]
    table = ""
    if rows:
        table = "| split | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
        table += "\n".join(rows) + "\n"
    derived = item["links"][0]
    body = (
        f"# {spec.name}\n\n"
        f"A `{entry.name}` model ({entry.architecture}) for {spec.task}, trained on"
        f" [{derived['title']}]({derived['href']}) with PyTorch DistributedDataParallel on"
        f" {spec.workers} rank(s), {spec.epochs} epoch(s), batch size {spec.batch_size},"
        f" learning rate {spec.lr:g}, seed {spec.seed}.\n\n"
        f"## Metrics\n\n{table or 'No test or validation split.'}\n\n"
        "## Use it\n\n"
        f"```\neotdl models get {spec.name} -o {spec.name}\n"
        f"eotdl predict {spec.name} image.tif -o prediction.tif\n```\n\n"
        f"`{JOB_FILE}` is the job spec: `eotdl train` with the same values (and dataset"
        " version) gives the same weights.\n"
    )
    lead = metrics.get("test", {}).get(main_metric(spec.task))
    summary = f"; test {main_metric(spec.task)} {lead:.3f}" if isinstance(lead, float) else ""
    return Card(
        title=f"{spec.name}: {entry.architecture} for {spec.dataset}",
        description=f"{entry.name} trained on {derived['title']} for {spec.task}{summary}.",
        license=license,
        tasks=[spec.task],
        tags=["model", entry.architecture.lower()],
        body=body,
    )


def derived_from_link(lab: Lab, model_dir: Path, samples: Samples) -> dict[str, Any]:
    """``derived_from`` the dataset: relative inside the lab, else its absolute location."""
    dataset = samples.dataset
    version = dataset.version
    title = f"{dataset.name}@{version}" if version else dataset.name
    location = dataset.location
    href = location
    if dataset.located.kind == "lab":
        href = os.path.relpath(location, model_dir.resolve()).replace(os.sep, "/")
    link: dict[str, Any] = {
        "rel": "derived_from",
        "href": href,
        "type": "application/json",
        "title": title,
    }
    if version:
        link["version"] = version
    return link


def _footprint(collection: dict[str, Any]) -> tuple[dict[str, Any] | None, list[float] | None]:
    try:
        bbox = [float(v) for v in collection["extent"]["spatial"]["bbox"][0]][:4]
    except (KeyError, IndexError, TypeError, ValueError):
        return None, None
    minx, miny, maxx, maxy = bbox
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}, bbox


def _time_range(collection: dict[str, Any], created: str) -> dict[str, Any]:
    try:
        start, end = collection["extent"]["temporal"]["interval"][0]
    except (KeyError, IndexError, TypeError, ValueError):
        start = end = None
    if start and end:
        return {"datetime": None, "start_datetime": start, "end_datetime": end}
    return {"datetime": created}


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value if value is not None else "")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
