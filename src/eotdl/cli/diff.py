"""``eotdl diff NAME A [B]``: what changed in a dataset between two versions or git refs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eotdl.catalog.git import WORKTREE, is_repo, repo_root, resolve_ref, tags
from eotdl.cli.output import emit_json, lab_option
from eotdl.errors import LabError

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


def resolve_version(repo: Path, name: str, version: str) -> str:
    """A version number (tag NAME@VERSION), a git ref, or WORKTREE/'.' for the working tree."""
    if version in (WORKTREE, ".", "worktree"):
        return WORKTREE
    if f"{name}@{version}" in tags(repo, f"{name}@*"):
        return f"{name}@{version}"
    resolve_ref(repo, version)
    return version


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
    from eotdl.catalog.diff import diff_dataset
    from eotdl.catalog.diff_render import render_markdown, render_text
    from eotdl.catalog.lab import check_name

    check_name(name)
    if not is_repo(lab.root):
        raise LabError(
            f"{lab.root} is not a git repository", hint="versions live in git: `git init`"
        )
    repo = repo_root(lab.root)
    folder = (lab.datasets_dir / name).relative_to(repo).as_posix()
    result = diff_dataset(
        repo,
        folder,
        name,
        resolve_version(repo, name, a),
        resolve_version(repo, name, b),
        fast=False,
    )
    if as_json or fmt == "json":
        emit_json(result.to_dict())
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result), nl=False)
