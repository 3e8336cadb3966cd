"""The workflows `eotdl init` writes, run for real: their eotdl commands against a test lab."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from eotdl.builders.ingestion import ingest
from labs import commit, git, make_lab
from rastergen import write_tif

BIN = Path(sys.executable).parent


def _steps(lab_root: Path, name: str) -> list[dict]:
    data = yaml.safe_load((lab_root / ".github/workflows" / name).read_text())
    [job] = data["jobs"].values()
    return job["steps"]


def _run_step(step: dict, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = step["run"].replace("${{ github.base_ref }}", "main")
    assert "${{" not in script, script
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_check_then_publish_workflows(tmp_path, shared_mirror):
    lab = make_lab(tmp_path, git=True)
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(lab.root), str(origin))
    git(lab.root, "remote", "add", "origin", str(origin))
    git(lab.root, "fetch", "-q", "origin")
    git(lab.root, "checkout", "-q", "-b", "pr")
    src = tmp_path / "src"
    write_tif(src / "a_20230501.tif", size=16)
    ingest(lab, "rasters", str(src), "ds", progress=False)
    folder = lab.dataset("ds")
    card = folder.read_card()
    card.description, card.license = "d", "CC-BY-4.0"
    folder.write_card(card)
    commit(lab, "add ds")

    outputs = tmp_path / "github_output"
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(outputs)}
    check_steps = [s for s in _steps(lab.root, "check.yml") if "eotdl check" in s.get("run", "")]
    assert len(check_steps) == 1
    result = _run_step(check_steps[0], lab.root, env)
    assert result.returncode == 0, result.stderr
    assert "status=0" in outputs.read_text()
    report = (lab.root / "eotdl-check.md").read_text()
    assert "eotdl check" in report and "`ds`" in report and "New dataset" in report

    # merge, then the publish job on main
    (lab.root / "eotdl-check.md").unlink()
    git(lab.root, "checkout", "-q", "main")
    git(lab.root, "merge", "-q", "--ff-only", "pr")
    publish_steps = [
        s for s in _steps(lab.root, "publish.yml") if s.get("run", "").startswith("eotdl ")
    ]
    assert [s["run"].strip() for s in publish_steps] == ["eotdl publish --tag"]
    result = _run_step(publish_steps[0], lab.root, env)
    assert result.returncode == 0, result.stderr
    assert "ds@1.0.0" in git(lab.root, "tag", "--list")
    assert (lab.root / "store/datasets/ds/v/1.0.0/collection.json").is_file()
