"""``eotdl versions NAME`` and ``eotdl yank NAME VERSION``: published versions of a dataset."""

from __future__ import annotations

from pathlib import Path

import click

from eotdl.cli.output import console, emit_json

LAB_OPTION = click.option(
    "--lab",
    "lab_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The lab folder (default: the lab containing the current folder).",
)


@click.command("versions")
@click.argument("name")
@LAB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
def versions(name: str, lab_dir: Path | None, as_json: bool) -> None:
    """List the published versions (git tags NAME@VERSION) of a dataset."""
    from eotdl.catalog.lab import Lab
    from eotdl.catalog.published import published_versions, yanked

    lab = Lab(lab_dir) if lab_dir else Lab.find()
    gone = yanked(lab, name)
    rows = [
        {"version": p.version, "tag": p.tag, "yanked": gone.get(p.version)}
        for p in published_versions(lab, name)
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        note = f"  (yanked: {row['yanked']})" if row["yanked"] else ""
        console.print(f"{row['version']}  {row['tag']}{note}")
    if not rows:
        console.print(f"{name} has no published version yet (`eotdl publish --tag`)")


@click.command("yank")
@click.argument("name")
@click.argument("version")
@click.option("--reason", default="", help="Why readers should not use this version.")
@LAB_OPTION
def yank_command(name: str, version: str, reason: str, lab_dir: Path | None) -> None:
    """Mark a published version deprecated: it stays readable, its bytes are kept."""
    from eotdl.catalog.lab import Lab
    from eotdl.catalog.published import yank

    lab = Lab(lab_dir) if lab_dir else Lab.find()
    path = yank(lab, name, version, reason)
    console.print(f"{name}@{version} marked deprecated in {path}; commit it and publish")
