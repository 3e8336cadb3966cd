"""``eotdl label`` and ``eotdl labels``: label chips in the browser, bring the labels back."""

from __future__ import annotations

from pathlib import Path

import click

from eotdl.catalog.lab import Lab
from eotdl.cli.output import console, emit_json, err_console, lab_option


@click.command()
@click.argument("name")
@lab_option()
@click.option(
    "--task",
    type=click.Choice(["classification", "detection", "segmentation"]),
    default=None,
    help="What to label (default: the dataset's own task).",
)
@click.option(
    "--queue",
    type=click.Choice(["all", "unlabelled", "flagged", "disagreements"]),
    default="all",
    show_default=True,
    help="Which chips, in which order: flagged ones first in every queue.",
)
@click.option(
    "--disagreements",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The queue file of `eotdl labels agree` (default: the lab's last one).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many chips.")
@click.option("--port", default=8000, show_default=True, help="Port (0 picks a free one).")
@click.option("--no-serve", is_flag=True, help="Write the page and print its path; serve nothing.")
def label(
    name: str,
    lab: Lab,
    task: str | None,
    queue: str,
    disagreements: Path | None,
    limit: int | None,
    port: int,
    no_serve: bool,
) -> None:
    """Build the labelling page of dataset NAME and serve it on 127.0.0.1.

    Labels stay in your browser until you export them; apply the exported file with
    `eotdl labels apply FILE --dataset NAME` on a branch and open a pull request.
    """
    from eotdl.site.labelling import label_page

    page = label_page(
        lab,
        name,
        task=task,
        queue=queue,
        disagreements=disagreements,
        limit=limit,
        progress=lambda line: err_console.print(line),
    )
    err_console.print(
        f"labelling page: {page.chips} chips ({page.flagged} flagged first) in {page.folder}"
    )
    if no_serve:
        console.print(str(page.folder / "index.html"))
        return
    from eotdl.site.serve import make_server, server_url

    server = make_server(lab.site_dir, "127.0.0.1", port, quiet=True)
    url = server_url(server) + page.url_path
    console.print(f"Label at [bold]{url}[/]  (labels stay in your browser; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.group()
def labels() -> None:
    """Apply exported label files to a dataset, and measure agreement between annotators."""


@labels.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dataset", "name", required=True, help="The dataset the labels are for.")
@lab_option()
@click.option("--version", default=None, help="Set the dataset's new version (e.g. 1.2.0).")
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
def apply_command(file: Path, name: str, lab: Lab, version: str | None, as_json: bool) -> None:
    """Check FILE against dataset NAME and write its labels into the dataset.

    Unknown item ids, classes the dataset does not declare, shapes outside their chip and
    malformed files are refused, and nothing is written. `eotdl diff` and `eotdl check` then
    show exactly which labels changed.
    """
    from eotdl.builders.relabel import apply_labels
    from eotdl.qa.agreement_store import recorded_agreement

    result = apply_labels(
        lab, name, file, version=version, agreement=recorded_agreement(lab, name, file)
    )
    if as_json:
        emit_json(result.to_dict())
        return
    console.print(
        f"{name}: {len(result.changed)} items relabelled, {result.unchanged} unchanged,"
        f" {result.skipped} skipped or unsure (labels file sha256 {result.sha256[:12]}…)"
    )
    if not version:
        err_console.print(
            "note: a content change needs a new version: `eotdl labels apply … --version X.Y.Z`"
            " or edit collection.json before `eotdl check`"
        )


@labels.command("agree")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option("--dataset", "name", default=None, help="Record the figures for this dataset.")
@lab_option()
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Chips below this agreement (IoU) are disagreements.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def agree_command(
    files: tuple[Path, ...],
    name: str | None,
    lab: Lab,
    threshold: float,
    as_json: bool,
) -> None:
    """Agreement between the annotators of FILES: kappa for classes, IoU for boxes and masks.

    With --dataset, the figures and the disagreements queue are kept in the lab
    (.eotdl/labels/NAME/), where `eotdl label NAME --queue disagreements` opens them and
    `eotdl labels apply` records the figures in the dataset's history.
    """
    from eotdl.qa.agreement_store import agree_files

    result, folder = agree_files(files, threshold, lab, name or "")
    if folder is not None:
        err_console.print(f"kept in {folder}")
    if as_json:
        emit_json(result.to_dict())
        return
    overall = "n/a" if result.overall is None else f"{result.overall:.3f}"
    console.print(
        f"{result.method} over {len(result.items)} chips by {', '.join(result.annotators)}:"
        f" [bold]{overall}[/]; {len(result.disagreements)} disagreements"
    )
    for entry in result.disagreements[:20]:
        console.print(f"  {entry['item_id']}: {entry['score']}  {entry['labels']}")
