"""``eotdl ingest KIND SOURCE --dataset NAME``, ``eotdl rebuild NAME``, ``eotdl builders list``.

Each builder's options become flags of its own ``ingest`` subcommand, generated from the
builder's option table, so a third-party builder gets a CLI for free.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from eotdl.cli.output import console, emit_json, lab_option, lab_param

if TYPE_CHECKING:
    from eotdl.builders.base import Builder, Option
    from eotdl.builders.ingestion import IngestResult
    from eotdl.catalog.lab import Lab

#: The one-line summary of every built-in builder, so `eotdl ingest --help` lists them without
#: importing them (and numpy and rasterio); tests/cli/test_startup.py keeps them in step.
BUILTIN_SUMMARIES: dict[str, str] = {
    "rasters": "GeoTIFFs (a folder or glob) → items with projection/raster/eo, optional labels",
    "classification-folders": "Chip classification from one sub-folder per class (EuroSAT layout)",
    "segmentation-pairs": "Semantic segmentation from images/ and masks/ folders matched by file"
    " name",
    "detection": "Object detection: a folder of images plus GeoJSON or COCO boxes",
    "points": "In-situ / reference observations (CSV, GeoJSON points, GeoParquet) → point items",
    "stac": "any STAC catalog or collection (0.8 up; path, http(s), s3://, .tar.gz/.zip),"
    " migrated to 1.0.0, MLHub label/source items flattened into samples",
    "stac-api": "chips of Sentinel-1/2 (any STAC API COGs) over an area or around points, fused",
    "eurosat": "EuroSAT (Sentinel-2, 13 bands) from EuroSAT_MS/<Class>/<Class>_<n>.tif",
    "eurosat-rgb": "EuroSAT RGB JPEGs from EuroSAT_RGB/<Class>/<Class>_<n>.jpg",
    "bigearthnet-v2": "BigEarthNet v2.0 from BigEarthNet-S2/, BigEarthNet-S1/, Reference_Maps/"
    " and metadata.parquet",
    "sen12ms": "SEN12MS S1/S2/land cover triplets from ROIs<n>_<season>_<s1|s2|lc>/ folders",
    "pastis": "PASTIS time series from DATA_S2/, ANNOTATIONS/ and metadata.geojson",
    "dior": "DIOR detection from JPEGImages-*/, Annotations/ (Pascal VOC) and ImageSets/Main/",
}

#: ``--cluster`` of ``ingest KIND`` and ``rebuild``.
CLUSTER_OPTION = click.Option(
    ["--cluster", "cluster"],
    default=None,
    help="Describe, hash and store the files on a Dask cluster: 'local' or tcp://HOST:PORT"
    " (default: the lab's [compute] cluster, else here).",
)


def _flag(option: Option) -> click.Option:
    name = "--" + option.name.replace("_", "-")
    if option.flag:
        return click.Option([name, option.name], is_flag=True, default=False, help=option.help)
    kind: Any = option.type
    if option.choices:
        kind = click.Choice(option.choices)
    elif option.type is Path:
        kind = click.Path(path_type=Path)
    return click.Option(
        [name, option.name],
        type=kind,
        default=option.default if not option.multiple else (),
        multiple=option.multiple,
        show_default=option.default not in (None, (), ""),
        help=option.help,
    )


def _show(result: IngestResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_dict())
        return
    saved = result.saved
    console.print(
        f"[green]dataset {result.dataset}[/]: {saved.items} items → {saved.folder.path}"
        f" ({saved.uploaded} files uploaded, {saved.skipped} already stored,"
        f" {saved.bytes / 1e6:.1f} MB)"
    )
    if saved.splits:
        console.print("  splits: " + ", ".join(f"{k} {v}" for k, v in sorted(saved.splits.items())))
    console.print(f"  next: fill the TODOs in {saved.folder.card_path}, then `eotdl validate`")


def _command_for(kind: str, cls: type[Builder]) -> click.Command:
    def run(
        source: str,
        dataset: str,
        split: str | None,
        seed: int,
        lab: Lab,
        as_json: bool,
        no_progress: bool,
        cluster: str | None,
        **options: Any,
    ) -> None:
        from eotdl.builders.ingestion import ingest

        chosen = {k: v for k, v in options.items() if v not in (None, ())}
        result = ingest(
            lab,
            kind,
            source,
            dataset,
            chosen,
            split=split,
            seed=seed,
            progress=not no_progress,
            cluster=cluster,
        )
        _show(result, as_json)

    params: list[click.Parameter] = [
        click.Argument(["source"]),
        click.Option(["--dataset", "-d", "dataset"], required=True, help="Dataset name."),
        click.Option(
            ["--split", "split"],
            default=None,
            help="random:0.7,0.15,0.15 | stratified[:fractions] | spatial-blocks:SIZE[:fractions]",
        ),
        click.Option(["--seed"], type=int, default=0, show_default=True, help="Split seed."),
        click.Option(["--json", "as_json"], is_flag=True, help="Print the result as JSON."),
        click.Option(["--no-progress"], is_flag=True, help="No progress bars."),
        CLUSTER_OPTION,
        *[_flag(option) for option in cls.options],
    ]
    params.insert(4, lab_param())
    return click.Command(kind, callback=run, params=params, help=f"{cls.summary}.")


class IngestGroup(click.Group):
    """One subcommand per builder, built from the registry on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from eotdl.builders import registry

        return sorted(registry.available())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from eotdl.builders import registry

        if cmd_name not in registry.available():
            return None
        return _command_for(cmd_name, registry.load(cmd_name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from eotdl.builders import registry

        listing: dict[str, click.Command] = {}
        for name in self.list_commands(ctx):
            summary = BUILTIN_SUMMARIES.get(name)
            if summary is not None and registry.available()[name] == registry.BUILTIN[name]:
                listing[name] = click.Command(name, help=f"{summary}.")
            elif (command := self.get_command(ctx, name)) is not None:
                listing[name] = command
        click.Group.format_commands(click.Group(commands=listing), ctx, formatter)


@click.group(cls=IngestGroup)
def ingest_group() -> None:
    """Make a dataset with a builder: `eotdl ingest KIND SOURCE --dataset NAME`.

    Writes datasets/NAME/ (collection, items.ndjson, a README card with TODOs, recipe.yaml)
    and uploads the files to the lab's object store. `eotdl builders list` shows the kinds.
    """


@click.command("rebuild")
@click.argument("dataset")
@lab_option()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--cluster", default=None, help=CLUSTER_OPTION.help)
def rebuild_command(
    dataset: str, lab: Lab, as_json: bool, no_progress: bool, cluster: str | None
) -> None:
    """Re-run a dataset's recipe.yaml (same items, same checksums)."""
    from eotdl.builders.ingestion import rebuild

    _show(rebuild(lab, dataset, progress=not no_progress, cluster=cluster), as_json)


@click.group("builders")
def builders() -> None:
    """The builders that make datasets."""


@builders.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the builders as JSON.")
def list_builders(as_json: bool) -> None:
    """Show every builder (built-in and third-party) with its options."""
    from rich.table import Table

    from eotdl.builders import registry

    rows = registry.describe()
    if as_json:
        emit_json(rows)
        return
    table = Table("kind", "what it makes", "options")
    for row in rows:
        table.add_row(row["kind"], row["summary"], " ".join(o["name"] for o in row["options"]))
    console.print(table)
    recipes = Table("recipe", "task", "sensor", "size", "licence", "citation", title="Recipes")
    for row in rows:
        if "recipe" in row:
            r = row["recipe"]
            recipes.add_row(
                *(r[k] for k in ("name", "task", "sensor", "size", "license")), r["citation"]
            )
    if recipes.rows:
        console.print(recipes)
