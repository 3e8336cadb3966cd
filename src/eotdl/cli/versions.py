"""``eotdl versions NAME`` and ``eotdl yank NAME VERSION``: published versions of a dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, emit_json, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.command("versions")
@click.argument("name")
@lab_option()
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
def versions(name: str, lab: Lab, as_json: bool) -> None:
    """List the published versions (git tags NAME@VERSION) of a dataset."""
    from eotdl.catalog.published import version_list

    rows = version_list(lab, name)
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
@lab_option()
def yank_command(name: str, version: str, reason: str, lab: Lab) -> None:
    """Mark a published version deprecated: it stays readable, its bytes are kept."""
    from eotdl.catalog.published import yank

    path = yank(lab, name, version, reason)
    console.print(f"{name}@{version} marked deprecated in {path}; commit it and publish")
