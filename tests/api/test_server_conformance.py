"""`eotdl serve` passes stac-api-validator with zero errors, for every class it declares.

stac-api-validator pins older STAC tools than the project's virtualenv holds, so it lives in
``.venv-validator`` (``make install`` makes it from requirements-validator.txt; this test
makes it too when it is missing) and runs as a subprocess, offline: the JSON schemas it
fetches come from the schema mirror (``../shared/stac-schemas``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from eotdl.api.routes import CONFORMANCE
from labs import make_lab, search_datasets

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR_VENV = ROOT / ".venv-validator"
REQUIREMENTS = ROOT / "requirements-validator.txt"
OFFLINE = Path(__file__).with_name("stac_api_validator_offline.py")
MIRROR = Path(os.environ.get("EOTDL_SCHEMA_MIRROR") or ROOT.parent / "shared" / "stac-schemas")
DATASETS = {"forests": 40, "rivers": 35, "towns": 25}

#: The validator's names for the classes `eotdl serve` declares, and the URL that declares each.
CLASSES = {
    "core": "https://api.stacspec.org/v1.0.0/core",
    "collections": "https://api.stacspec.org/v1.0.0/collections",
    "features": "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "item-search": "https://api.stacspec.org/v1.0.0/item-search",
    "filter": "https://api.stacspec.org/v1.0.0/item-search#filter",
    "item-search#sort": "https://api.stacspec.org/v1.0.0/item-search#sort",
}


def _validator_python() -> Path:
    """The validator's interpreter, installing it like `make install` does when missing."""
    python = VALIDATOR_VENV / "bin" / "python"
    probe = [str(python), "-c", "import stac_api_validator"]
    if python.is_file() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    try:
        venv.create(VALIDATOR_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        output = getattr(exc, "stderr", "") or str(exc)
        pytest.skip(
            "stac-api-validator cannot be installed into .venv-validator "
            f"(`make install` does it): {output.strip().splitlines()[-1:]}"
        )
    return python


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`eotdl serve` (a real subprocess) on a lab of three datasets, 100 items."""
    root = tmp_path_factory.mktemp("conformance")
    lab = make_lab(root, search_datasets(DATASETS), title="Conformance lab", build=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "eotdl.cli.main", "serve", "--site", str(lab.site_dir)]
        + ["--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        yield match.group(0) + "/"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_every_validated_class_is_declared() -> None:
    assert set(CLASSES.values()) <= set(CONFORMANCE)


@pytest.mark.slow
def test_stac_api_validator_finds_no_errors(served: str) -> None:
    if not MIRROR.is_dir():
        pytest.skip(f"no schema mirror at {MIRROR} (the validator would need the network)")
    python = _validator_python()
    geometry = {
        "type": "Polygon",
        "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
    }
    command = [str(python), str(OFFLINE), "--root-url", served, "--collection", "forests"]
    command += ["--geometry", json.dumps(geometry), "--validate-pagination"]
    for name in CLASSES:
        command += ["--conformance", name]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "EOTDL_SCHEMA_MIRROR": str(MIRROR)},
    )
    report = result.stdout + result.stderr
    assert "Errors: none" in report and result.returncode == 0, report[-6000:]
    assert "Link[rel=service-doc] should exist" not in report
