"""``eotdl credits``: who added or improved which dataset, from git history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, emit_json, lab_option

if TYPE_CHECKING:
    from eotdl.catalog.lab import Lab


@click.command()
@lab_option()
@click.option("--dataset", default=None, help="Only this dataset's contributors.")
@click.option("--json", "as_json", is_flag=True, help="Print the ledger as JSON.")
def credits(lab: Lab, dataset: str | None, as_json: bool) -> None:
    """The contributors ledger: commit authors and Co-authored-by trailers, weighted by what
    they changed (new datasets, items added or fixed, card improvements, reviews)."""
    from rich.table import Table

    from eotdl.catalog.credits import ledger

    book = ledger(lab.root, dataset)
    if as_json:
        emit_json(book.to_dict())
        return
    table = Table("contributor", "dataset", "commits", "created", "items +", "items ~", "score")
    for c in sorted(book.contributions, key=lambda c: (-c.score, c.dataset)):
        table.add_row(
            f"{c.name} <{c.email}>",
            c.dataset,
            str(c.commits),
            "yes" if c.created else "",
            str(c.items_added),
            str(c.items_changed),
            f"{c.score:g}",
        )
    console.print(table)
    if not book.contributions:
        console.print("no contributions found (is the lab a git repository with commits?)")
