"""An example third-party builder (tests/thirdparty/fieldnotes/), installed through its
``eotdl.builders`` entry point: it passes eotdl's builder contract in a few lines of its own,
``eotdl builders list`` lists it and ``eotdl ingest field-notes`` runs it. The contract itself
fails builders that break it (tests/thirdparty/broken_builders.py)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_install import Installed, write_dist_info

from eotdl.builders import registry
from eotdl.catalog.lab import Lab, init_lab
from eotdl.testing import Case, ContractError, check_builder


def write_notes(folder: Path, count: int, seed: int = 7) -> Path:
    """``count`` seeded field notes, one GeoJSON point Feature per file."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for n in range(count):
        point = [round(rng.uniform(1.0, 2.0), 5), round(rng.uniform(43.0, 44.0), 5)]
        note = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": point},
            "properties": {"datetime": f"2024-05-{n + 1:02d}T10:00:00Z", "seen": rng.choice("ab")},
        }
        (folder / f"note-{n}.geojson").write_text(json.dumps(note), encoding="utf-8")
    return folder


def test_field_notes_pass_the_builder_contract(
    fieldnotes: Installed, tmp_path: Path, shared_mirror: Path
):
    source = write_notes(tmp_path / "notes", 6)
    case = Case(str(source), split="random:0.5,0.5", items=6, splits={"train": 3, "validate": 3})
    check_builder("field-notes", case, tmp_path)


def eotdl(installed: Installed, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``eotdl`` command in a fresh interpreter that sees the installed package."""
    return subprocess.run(
        [sys.executable, "-m", "eotdl.cli.main", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=installed.env(),
        check=False,
    )


def test_the_command_line_lists_and_runs_the_entry_point(fieldnotes: Installed, tmp_path: Path):
    listed = eotdl(fieldnotes, "builders", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["kind"]: row for row in json.loads(listed.stdout)}
    assert rows["field-notes"]["summary"].startswith("Field notes:")
    assert [o["name"] for o in rows["field-notes"]["options"]] == ["--datetime"]
    assert "field-notes" in eotdl(fieldnotes, "ingest", "--help").stdout

    lab = init_lab(tmp_path / "lab")
    source = write_notes(tmp_path / "notes", 3)
    args = ["ingest", "field-notes", str(source), "--dataset", "notes", "--lab", str(lab.root)]
    done = eotdl(fieldnotes, *args, "--json", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["items"] == 3
    items = list(Lab(lab.root).dataset("notes").iter_items())
    assert [i["id"] for i in items] == ["note-0", "note-1", "note-2"]
    assert "field-notes" in (lab.root / "datasets" / "notes" / "recipe.yaml").read_text()


def test_without_the_entry_point_there_is_no_such_builder(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "eotdl.cli.main", "ingest", "field-notes", "--help"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode != 0
    assert "field-notes" in done.stderr


@pytest.mark.parametrize(
    ("kind", "split", "broken"),
    [
        ("unstable-ids", None, "a second run on the same source made different items"),
        ("leaky-paths", None, "an absolute local path"),
        ("one-file", "random:0.5,0.5", "also in split"),
    ],
)
def test_the_contract_fails_a_broken_builder(
    broken_builders: Installed,
    kind: str,
    split: str | None,
    broken: str,
    tmp_path: Path,
    shared_mirror: Path,
):
    source = write_notes(tmp_path / "notes", 4)
    with pytest.raises(ContractError, match=broken):
        check_builder(kind, Case(str(source), split=split), tmp_path)


@pytest.mark.parametrize(
    ("entry", "args", "message"),
    [
        ({"rasters": "eotdl_fieldnotes:FieldNotesBuilder"}, ["builders", "list"], "two builders"),
        ({"paths": "eotdl_fieldnotes:Path"}, ["ingest", "paths", "--help"], "not an eotdl Builder"),
    ],
    ids=["a taken name", "not a builder"],
)
def test_a_bad_entry_point_is_a_clear_error(
    fieldnotes: Installed, tmp_path: Path, entry: dict[str, str], args: list[str], message: str
):
    """A third-party name that takes a built-in one, or names no Builder, is refused by name."""
    write_dist_info(tmp_path, "eotdl-bad-entry", "0.0.1", {registry.GROUP: entry})
    done = eotdl(Installed([*fieldnotes.paths, tmp_path]), *args)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
