"""``eotdl storage``: list, measure, verify and garbage-collect the lab's object store."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from eotdl.cli.output import console, emit_json, lab_option
from eotdl.errors import InputError

if TYPE_CHECKING:
    from eotdl.catalog.assets import VerifyReport
    from eotdl.catalog.lab import Lab
    from eotdl.catalog.repair import RepairReport
    from eotdl.storage import ObjectInfo

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"  # pragma: no cover


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def parse_grace(text: str) -> dt.timedelta:
    """A duration like ``7d``, ``12h``, ``30m``, ``0`` or a plain number of days."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*", text)
    if not match:
        raise InputError(f"--grace {text!r} is not a duration", hint="use e.g. 7d, 12h, 30m or 0")
    value, unit = float(match.group(1)), match.group(2) or "d"
    seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
    return dt.timedelta(seconds=value * seconds)


@click.group()
def storage() -> None:
    """Inspect and maintain the lab's object store (the bytes behind the assets)."""


@storage.command("ls")
@click.argument("prefix", default="")
@lab_option()
@json_option
def ls(prefix: str, lab: Lab, as_json: bool) -> None:
    """List the objects under PREFIX (default: all): size, date, key."""
    from eotdl.catalog.store import open_lab_store

    objects = open_lab_store(lab).list(prefix)
    if as_json:
        emit_json(
            [
                {
                    "key": o.key,
                    "size": o.size,
                    "modified": o.modified.isoformat() if o.modified else None,
                }
                for o in objects
            ]
        )
        return
    for o in objects:
        date = o.modified.strftime("%Y-%m-%d %H:%M") if o.modified else "-"
        click.echo(f"{o.size:>12}  {date}  {o.key}")


@storage.command()
@click.argument("prefix", default="")
@lab_option()
@json_option
def du(prefix: str, lab: Lab, as_json: bool) -> None:
    """Count objects and bytes under PREFIX, per folder."""
    from rich.table import Table

    from eotdl.catalog.store import open_lab_store

    store = open_lab_store(lab)
    usage = store.usage(prefix)
    if as_json:
        emit_json(dict(usage.to_dict(), store=store.url))
        return
    table = Table(title=f"{store.url}/{prefix}".rstrip("/"), title_justify="left")
    table.add_column("folder")
    table.add_column("objects", justify="right")
    table.add_column("size", justify="right")
    for folder, (count, size) in usage.folders.items():
        table.add_row(folder or "(top)", str(count), _size(size))
    table.add_row("[bold]total", f"[bold]{usage.objects}", f"[bold]{_size(usage.bytes)}")
    console.print(table)


@storage.command()
@lab_option()
@json_option
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
def verify(lab: Lab, as_json: bool, workers: int, no_progress: bool) -> None:
    """Re-hash every object the lab references; report missing, corrupt and unreferenced
    objects. Exits non-zero when an object is missing or corrupt."""
    from eotdl.catalog.assets import verify_lab

    report = verify_lab(lab, workers=workers, progress=not (as_json or no_progress))
    if as_json:
        emit_json(report.to_dict())
    else:
        _show_verify(report)
    if not report.passed:
        raise SystemExit(1)


def _object(o: ObjectInfo) -> dict[str, object]:
    return {
        "key": o.key,
        "size": o.size,
        "modified": o.modified.isoformat() if o.modified else None,
    }


def _show_verify(report: VerifyReport) -> None:
    from rich.table import Table

    console.print(
        f"{report.store}: {report.assets} assets, {report.checked} objects re-hashed,"
        f" {report.ok} ok, {len(report.missing)} missing, {len(report.corrupt)} corrupt,"
        f" {report.external} outside the store, {len(report.unreferenced)} unreferenced"
    )
    if report.problems:
        table = Table(show_lines=False)
        table.add_column("status")
        table.add_column("key", overflow="fold")
        table.add_column("problem", overflow="fold")
        table.add_column("referenced at", overflow="fold")
        for p in report.problems:
            table.add_row(f"[red]{p.status}", p.key, p.message, "\n".join(p.where))
        console.print(table)
        console.print(
            "[red]verify failed[/]: run `eotdl storage repair` to re-upload the missing or"
            " damaged objects from their source files (add `--from DIR` for files kept"
            " elsewhere)"
        )
    else:
        console.print("[green]every referenced object is present and intact[/]")
    if report.unreferenced:
        console.print(
            f"{_count(len(report.unreferenced), 'object')} not referenced by the current datasets"
            " (older versions may still use them; `eotdl storage gc` knows)"
        )


@storage.command()
@click.argument("names", nargs=-1)
@click.option(
    "--from",
    "from_dirs",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A folder (or file) holding the original files; may be given several times.",
)
@lab_option()
@json_option
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
def repair(
    names: tuple[str, ...],
    from_dirs: tuple[Path, ...],
    lab: Lab,
    as_json: bool,
    workers: int,
    no_progress: bool,
) -> None:
    """Re-upload the missing or damaged objects of datasets NAMES (default: all).

    The right bytes are found by their SHA-256 in each dataset's recorded source
    (recipe.yaml) and in the --from folders. Exits non-zero if some object stays broken.
    """
    from eotdl.builders.repair import repair_store

    report = repair_store(
        lab,
        names,
        from_dirs,
        workers=workers,
        progress=not (as_json or no_progress),
    )
    if as_json:
        emit_json(report.to_dict())
    else:
        _show_repair(report)
    if not report.passed:
        raise SystemExit(1)


def _show_repair(report: RepairReport) -> None:
    console.print(
        f"{report.store}: {report.problems} broken objects, {len(report.repaired)} repaired,"
        f" {len(report.unrepaired)} left ({report.hashed} local files hashed)"
    )
    for key, path in sorted(report.repaired.items()):
        console.print(f"  [green]repaired[/] {key}  from {path}")
    for p in report.unrepaired:
        console.print(f"  [red]{p.status}[/] {p.key}: {p.message}")
        for where in p.where:
            console.print(f"      used at {where}")
    if report.passed:
        console.print("[green]every referenced object is present and intact[/]")


@storage.command()
@lab_option()
@json_option
@click.option(
    "--grace",
    default="7d",
    show_default=True,
    help="Keep unreferenced objects younger than this (e.g. 7d, 12h, 0).",
)
@click.option("--yes", is_flag=True, help="Really delete (default: only show what would go).")
def gc(lab: Lab, as_json: bool, grace: str, yes: bool) -> None:
    """Remove objects that no version of any dataset or model references.

    Looks at every version in git history; only content-addressed objects older than the
    grace period go. A dry run unless --yes is given.
    """
    from eotdl.catalog.assets import DEFAULT_GRACE, gc_lab

    plan = gc_lab(lab, parse_grace(grace) if grace else DEFAULT_GRACE, delete=yes)
    if as_json:
        emit_json(dict(plan.to_dict(), dry_run=not yes))
        return
    for note in plan.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(
        f"{plan.store}: {plan.scanned} objects, {plan.referenced} referenced"
        f" ({plan.versions} file versions in git), {plan.recent} unreferenced but recent,"
        f" {len(plan.candidates)} to remove ({_size(plan.bytes)})"
    )
    for o in plan.candidates[:20]:
        console.print(f"  {o.key}  {_size(o.size)}")
    if len(plan.candidates) > 20:
        console.print(f"  … and {len(plan.candidates) - 20} more")
    if yes:
        console.print(f"[green]removed {_count(plan.deleted, 'object')}[/]")
    elif plan.candidates:
        console.print("dry run: nothing removed; run again with --yes to remove them")
    sys.stdout.flush()
