"""``eotdl diff NAME A [B]``: what changed in a dataset between two versions or git refs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from eotdl.catalog.git import WORKTREE
from eotdl.cli.output import emit_json, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.command()
@click.argument("name")
@click.argument("a")
@click.argument("b", required=False, default=WORKTREE)
@lab_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def diff(name: str, a: str, b: str, lab: Lab, fmt: str, as_json: bool) -> None:
    """Items added, removed and changed, assets and metadata, from version A to B.

    A and B are versions (published as git tags NAME@VERSION), git refs, or WORKTREE (the
    default for B: the files as they are now).
    """
    from eotdl.catalog.diff import diff_versions
    from eotdl.catalog.diff_render import render_markdown, render_text

    result = diff_versions(lab, name, a, b)
    if as_json or fmt == "json":
        emit_json(result.to_dict())
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result), nl=False)
